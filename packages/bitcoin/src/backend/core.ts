/**
 * Bitcoin Core JSON-RPC backend (HTTP, cookie file or user/password). Core indexes no scripts, so
 * the backend keeps a watch-only descriptor wallet for the mofn wallet (created with
 * `disable_private_keys` and `descriptors`, named after the wallet id, descriptors imported with
 * `importdescriptors`) and answers per-script questions from that wallet's transactions.
 * Broadcasts go through `testmempoolaccept` first.
 */
import { InvalidInputError } from '@mofn/core';
import { readFile } from 'node:fs/promises';
import { scriptToAddress } from '../address.ts';
import type { MultisigPolicy } from '../types.ts';
import { fromHex, toHex } from '../tx/bytes.ts';
import { parseTransaction, transactionId, type Transaction } from '../tx/transaction.ts';
import { createAddressDeriver } from '../wallet/deriver.ts';
import { policyToDescriptor, walletIdOf } from '../wallet/policy.ts';
import { BackendError, describeBackend, networkErrorCode, redactUrl, type BackendLabel } from './errors.ts';
import { basicAuth } from './http.ts';
import type { ChainBackend, ClaimedUtxo, ScriptHistoryEntry, TestAcceptResult, TxStatus } from './port.ts';
import { retryPolicyOf, withRetries, type RetryOptions } from './retry.ts';
import { assertTxids, parseJsonFrom, shapeReader } from './shape.ts';
import { parseCheckedTransaction } from './verify.ts';

/** How to authenticate to Core's RPC server. */
export type CoreRpcAuth = { readonly cookieFile: string } | { readonly user: string; readonly password: string };

/** Options of {@link createCoreRpcBackend}. */
export interface CoreRpcOptions extends RetryOptions {
  /** RPC server URL, e.g. `http://127.0.0.1:8332` (no credentials in it: use `auth`). */
  readonly url: string;
  readonly auth: CoreRpcAuth;
  /** The mofn wallet to watch; its network must be the node's. */
  readonly policy: MultisigPolicy;
  /** Indexes imported per chain (default 1000); grows when a later index is asked about. */
  readonly range?: number;
  /** Rescan from this UNIX time when importing (default 0: the whole chain); 'now' for a wallet with no history yet. */
  readonly rescanFrom?: number | 'now';
  /** Timeout of `importdescriptors`, which rescans (default 30 minutes). */
  readonly importTimeoutMs?: number;
}

/** A Core backend and the name of its watch-only wallet. */
export interface CoreRpcBackend extends ChainBackend {
  readonly walletName: string;
  readonly testAccept: (rawTx: Uint8Array) => Promise<TestAcceptResult>;
  /** Creates or loads the watch-only wallet and imports the descriptors (done lazily by every wallet call). */
  readonly ensureWallet: () => Promise<void>;
}

type RpcReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly code: number; readonly message: string };

// Core's RPC error codes used here (src/rpc/protocol.h).
const RPC_IN_WARMUP = -28;
const RPC_INVALID_ADDRESS_OR_KEY = -5;
const RPC_WALLET_NOT_FOUND = -18;
const RPC_WALLET_ALREADY_LOADED = -35;
const RPC_WALLET_ALREADY_EXISTS = -4;
const RPC_VERIFY_REJECTED = -26;
const RPC_VERIFY_ALREADY_IN_CHAIN = -27;
const PAGE = 1000;

/** The mofn wallet name in Core: derived from the wallet id, so one node can watch many wallets. */
export function coreWalletName(policy: MultisigPolicy): string {
  return `mofn-${walletIdOf(policy).slice(0, 16)}`;
}

/** BTC (a JSON number with up to 8 decimals) to satoshis. */
function btcToSats(r: ReturnType<typeof shapeReader>, value: unknown, what: string): bigint {
  const btc = r.number(value, what);
  if (btc < 0 || btc > 21e6) r.fail(`${what} ${btc} out of range`);
  // Doubles carry 15+ significant digits: x * 1e8 is within 1e-6 of the integer for any amount <= 21e6 BTC.
  return BigInt(Math.round(btc * 1e8));
}

/**
 * Creates a Bitcoin Core backend for one wallet.
 * @throws InvalidInputError `backend.bad_url`, `backend.bad_option`
 * @example createCoreRpcBackend({ url: 'http://127.0.0.1:8332', auth: { cookieFile: '~/.bitcoin/.cookie' }, policy })
 */
export function createCoreRpcBackend(options: CoreRpcOptions): CoreRpcBackend {
  const policy = retryPolicyOf(options);
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (cause) {
    throw new InvalidInputError('backend.bad_url', `Bitcoin Core RPC URL '${redactText(options.url)}' is not a URL`, { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidInputError('backend.bad_url', `Bitcoin Core RPC URL must be http(s), not ${base.protocol}`);
  if (base.username !== '' || base.password !== '') throw new InvalidInputError('backend.bad_url', 'put Bitcoin Core credentials in `auth`, not in the URL');
  let range = options.range ?? 1000;
  if (!Number.isInteger(range) || range < 1 || range > 10_000_000) throw new InvalidInputError('backend.bad_option', `range ${String(range)} must be an integer in 1..10000000`);
  const importTimeoutMs = options.importTimeoutMs ?? 30 * 60_000;
  const label: BackendLabel = Object.freeze({ kind: 'core', endpoint: redactUrl(base) });
  const name = describeBackend(label);
  const root = redactUrl(base);
  const walletName = coreWalletName(options.policy);
  const network = options.policy.network;
  const deriver = createAddressDeriver(options.policy);
  let closed = false;
  let cookieHeader: string | undefined;
  const inFlight = new Set<AbortController>();

  async function authHeader(refresh: boolean): Promise<string> {
    if ('user' in options.auth) return basicAuth(options.auth.user, options.auth.password);
    if (cookieHeader !== undefined && !refresh) return cookieHeader;
    let text: string;
    try {
      text = (await readFile(options.auth.cookieFile, 'utf8')).trim();
    } catch (cause) {
      throw new BackendError('backend.unauthorized', `${name}: cannot read the cookie file ${options.auth.cookieFile}`, {
        hint: 'check the path (datadir/.cookie, or datadir/<network>/.cookie) and that mofn may read it',
        cause,
      });
    }
    const colon = text.indexOf(':');
    if (colon < 0) throw new BackendError('backend.unauthorized', `${name}: the cookie file ${options.auth.cookieFile} is not user:password`);
    // The cookie is a credential: it goes into the header only.
    cookieHeader = basicAuth(text.slice(0, colon), text.slice(colon + 1));
    return cookieHeader;
  }

  async function post(path: string, body: string, methods: string, timeoutMs: number, refreshAuth: boolean): Promise<{ status: number; text: string }> {
    if (closed) throw new BackendError('backend.closed', `${name} is closed`);
    const controller = new AbortController();
    inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new BackendError('backend.timeout', `${name}: no answer to ${methods} within ${timeoutMs} ms`, { transient: true })), timeoutMs);
    try {
      const res = await fetch(`${root}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: await authHeader(refreshAuth) },
        body,
        signal: controller.signal,
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      if (err instanceof BackendError) throw err;
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && reason instanceof BackendError) throw reason;
      const code = networkErrorCode(err);
      throw new BackendError('backend.unreachable', `${name}: ${methods} failed${code === undefined ? '' : ` (${code})`}: the node cannot be reached`, {
        details: { backend: 'core', endpoint: label.endpoint, ...(code === undefined ? {} : { networkCode: code }) },
        hint: 'check that bitcoind runs with server=1 and the RPC port, or configure another backend',
        transient: true,
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
  }

  /** One HTTP request carrying a JSON-RPC batch; per-call replies in order. */
  async function batch(calls: readonly { method: string; params: readonly unknown[] }[], opts: { wallet?: boolean; timeoutMs?: number } = {}): Promise<RpcReply[]> {
    if (calls.length === 0) return [];
    const path = opts.wallet ? `/wallet/${encodeURIComponent(walletName)}` : '/';
    const body = JSON.stringify(calls.map((c, id) => ({ jsonrpc: '1.0', id, method: c.method, params: c.params })));
    const methods = [...new Set(calls.map((c) => c.method))].join(', ');
    return withRetries(policy, async (attempt) => {
      let res = await post(path, body, methods, opts.timeoutMs ?? policy.timeoutMs, false);
      if (res.status === 401 && 'cookieFile' in options.auth) res = await post(path, body, methods, opts.timeoutMs ?? policy.timeoutMs, true); // the node restarted: new cookie
      if (res.status === 401 || res.status === 403) {
        throw new BackendError('backend.unauthorized', `${name} refused the credentials (HTTP ${res.status})`, {
          details: { backend: 'core', endpoint: label.endpoint, status: res.status },
          hint: 'check rpcuser/rpcpassword or the cookie file',
        });
      }
      if (res.status >= 500 && !res.text.trimStart().startsWith('[')) {
        throw new BackendError('backend.request_failed', `${name}: ${methods} failed with HTTP ${res.status}: ${res.text.slice(0, 200)}`, {
          details: { backend: 'core', endpoint: label.endpoint, status: res.status },
          transient: true,
        });
      }
      const r = shapeReader(label, methods);
      const replies = r.array(parseJsonFrom(label, methods, res.text), 'a batch reply');
      if (replies.length !== calls.length) r.fail(`${replies.length} replies to ${calls.length} calls`);
      const out = new Array<RpcReply>(calls.length);
      for (const item of replies) {
        const o = r.object(item, 'a reply');
        const id = r.integer(o['id'], 'a reply id');
        if (id >= calls.length || out[id] !== undefined) r.fail(`an unexpected reply id ${id}`);
        const error = o['error'];
        if (error !== null && error !== undefined) {
          const e = r.object(error, 'an error');
          const code = r.integer(e['code'], 'error.code', -1_000_000);
          // A node still loading its block index answers -28 to everything: worth waiting for.
          if (code === RPC_IN_WARMUP && attempt < policy.retries) throw new BackendError('backend.unreachable', `${name} is warming up: ${String(e['message'])}`, { transient: true });
          out[id] = { ok: false, code, message: typeof e['message'] === 'string' ? e['message'].slice(0, 500) : 'error' };
        } else {
          out[id] = { ok: true, result: o['result'] };
        }
      }
      return out;
    });
  }

  function failed(method: string, reply: Extract<RpcReply, { ok: false }>): BackendError {
    return new BackendError('backend.request_failed', `${name}: ${method} failed: ${reply.message} (RPC error ${reply.code})`, {
      details: { backend: 'core', endpoint: label.endpoint, method, rpcCode: reply.code },
    });
  }

  async function call(method: string, params: readonly unknown[], opts: { wallet?: boolean; timeoutMs?: number } = {}): Promise<unknown> {
    const [reply] = await batch([{ method, params }], opts);
    if (!reply!.ok) throw failed(method, reply!);
    return reply!.result;
  }

  // Scripts of the imported range, for checking that a script asked about is one Core watches.
  const known = new Map<string, number>();
  let knownUpTo = 0;
  function learnScripts(upTo: number): void {
    for (let i = knownUpTo; i < upTo; i++) {
      for (const b of [0, 1] as const) known.set(toHex(deriver.scriptPubKeyAt(b, i)), i);
    }
    knownUpTo = Math.max(knownUpTo, upTo);
  }

  const normalize = (d: string): string => d.replace(/#.*$/, '').replace(/'/g, 'h');
  let walletReady: Promise<void> | undefined;

  async function setUpWallet(): Promise<void> {
    const loaded = shapeReader(label, 'listwallets').array(await call('listwallets', []), 'a wallet list');
    if (!loaded.includes(walletName)) {
      const [reply] = await batch([{ method: 'loadwallet', params: [walletName] }]);
      if (!reply!.ok && reply!.code !== RPC_WALLET_ALREADY_LOADED) {
        if (reply!.code !== RPC_WALLET_NOT_FOUND) throw failed('loadwallet', reply!);
        // wallet_name, disable_private_keys, blank, passphrase, avoid_reuse, descriptors, load_on_startup
        const [created] = await batch([{ method: 'createwallet', params: [walletName, true, true, '', false, true, true] }]);
        if (!created!.ok && created!.code !== RPC_WALLET_ALREADY_EXISTS) throw failed('createwallet', created!);
      }
    }
    await importRange(range);
  }

  async function importRange(upTo: number): Promise<void> {
    const wanted = [0, 1].map((b) => policyToDescriptor(options.policy, { branch: b as 0 | 1 }));
    const r = shapeReader(label, 'listdescriptors');
    const listed = r.array(r.object(await call('listdescriptors', [], { wallet: true }), 'a descriptor list')['descriptors'], 'descriptors');
    const covered = wanted.every((w) =>
      listed.some((item) => {
        const d = r.object(item, 'a descriptor');
        const rng = d['range'];
        return normalize(r.string(d['desc'], 'desc')) === normalize(w) && Array.isArray(rng) && typeof rng[1] === 'number' && rng[1] >= upTo - 1;
      }),
    );
    if (!covered) {
      const timestamp = options.rescanFrom ?? 0;
      const requests = wanted.map((desc, b) => ({ desc, range: [0, upTo - 1], timestamp, internal: b === 1, active: false }));
      const results = shapeReader(label, 'importdescriptors').array(await call('importdescriptors', [requests], { wallet: true, timeoutMs: importTimeoutMs }), 'an import result');
      results.forEach((item, i) => {
        const o = shapeReader(label, 'importdescriptors').object(item, 'an import result');
        if (o['success'] !== true) {
          const error = o['error'];
          const message = typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>)['message'] === 'string' ? String((error as Record<string, unknown>)['message']) : 'unknown error';
          throw new BackendError('backend.request_failed', `${name}: importdescriptors refused the ${i === 0 ? 'receive' : 'change'} descriptor: ${message}`, { details: { backend: 'core', endpoint: label.endpoint } });
        }
      });
    }
    range = Math.max(range, upTo);
    learnScripts(range);
  }

  function ensureWallet(): Promise<void> {
    walletReady ??= setUpWallet().catch((err: unknown) => {
      walletReady = undefined;
      throw err;
    });
    return walletReady;
  }

  /** Makes sure Core watches every script; imports a larger range for later indexes of the wallet. */
  async function ensureWatched(scripts: readonly Uint8Array[]): Promise<string[]> {
    await ensureWallet();
    let needed = 0;
    for (const s of scripts) {
      const hex = toHex(s);
      if (known.has(hex)) continue;
      const found = deriver.findScript(s, { from: knownUpTo, gap: Math.max(range * 3, 1000) });
      if (found === undefined) {
        throw new BackendError('backend.unsupported', `${name} watches only the wallet's own addresses; script ${hex.slice(0, 68)} is not one of them`, {
          hint: 'use an Esplora or Electrum backend to look up foreign addresses',
        });
      }
      needed = Math.max(needed, found.index + 1);
    }
    if (needed > range) {
      walletReady = importRange(Math.max(needed * 2, range * 2));
      await walletReady;
    }
    return scripts.map((s) => scriptToAddress(s, network));
  }

  const rawCache = new Map<string, { raw: Uint8Array; tx: Transaction }>();

  /** Live wallet transactions (confirmed, or in the mempool) with their heights. */
  async function walletTransactions(): Promise<Map<string, number>> {
    const entries: unknown[] = [];
    for (let skip = 0; ; skip += PAGE) {
      const page = shapeReader(label, 'listtransactions').array(await call('listtransactions', ['*', PAGE, skip, true], { wallet: true }), 'a transaction list');
      entries.push(...page);
      if (page.length < PAGE) break;
    }
    const r = shapeReader(label, 'listtransactions');
    const heights = new Map<string, number>();
    const unconfirmed = new Set<string>();
    entries.forEach((item, i) => {
      const e = r.object(item, `entry ${i}`);
      const txid = r.txid(e['txid'], `entry ${i}.txid`);
      const conf = r.integer(e['confirmations'], `entry ${i}.confirmations`, -1_000_000_000);
      if (conf > 0) heights.set(txid, r.integer(e['blockheight'], `entry ${i}.blockheight`, 1));
      else if (conf === 0) unconfirmed.add(txid);
    });
    // An unconfirmed wallet transaction may have been replaced or evicted: keep those in the mempool.
    const candidates = [...unconfirmed].filter((t) => !heights.has(t));
    const replies = await batch(candidates.map((t) => ({ method: 'getmempoolentry', params: [t] })));
    candidates.forEach((t, i) => {
      if (replies[i]!.ok) heights.set(t, 0);
    });
    const missing = [...heights.keys()].filter((t) => !rawCache.has(t));
    const raws = await getTransactions(missing);
    missing.forEach((t, i) => rawCache.set(t, { raw: raws[i]!, tx: parseTransaction(raws[i]!) }));
    return heights;
  }

  async function getHistories(scripts: readonly Uint8Array[]): Promise<ScriptHistoryEntry[][]> {
    await ensureWatched(scripts);
    const heights = await walletTransactions();
    const bySpk = new Map<string, Set<string>>();
    const add = (spk: string, txid: string): void => {
      let s = bySpk.get(spk);
      if (s === undefined) bySpk.set(spk, (s = new Set()));
      s.add(txid);
    };
    for (const txid of heights.keys()) {
      const { tx } = rawCache.get(txid)!;
      for (const o of tx.outputs) add(toHex(o.script), txid);
      for (const i of tx.inputs) {
        const prev = rawCache.get(i.txid)?.tx.outputs[i.vout];
        if (prev !== undefined && heights.has(i.txid)) add(toHex(prev.script), txid);
      }
    }
    const rank = (h: number): number => (h === 0 ? Infinity : h);
    return scripts.map((s) =>
      [...(bySpk.get(toHex(s)) ?? [])].map((txid) => ({ txid, height: heights.get(txid)! })).sort((a, b) => rank(a.height) - rank(b.height) || (a.txid < b.txid ? -1 : 1)),
    );
  }

  async function getTipHeight(): Promise<number> {
    return shapeReader(label, 'getblockcount').integer(await call('getblockcount', []), 'a height');
  }

  async function getUtxos(scripts: readonly Uint8Array[]): Promise<ClaimedUtxo[][]> {
    const addresses = await ensureWatched(scripts);
    const [tipReply, unspentReply] = await Promise.all([getTipHeight(), call('listunspent', [0, 9_999_999, [...new Set(addresses)], true], { wallet: true })]);
    const r = shapeReader(label, 'listunspent');
    const byAddress = new Map<string, ClaimedUtxo[]>();
    r.array(unspentReply, 'a UTXO list').forEach((item, i) => {
      const u = r.object(item, `UTXO ${i}`);
      const conf = r.integer(u['confirmations'], `UTXO ${i}.confirmations`);
      const utxo: ClaimedUtxo = {
        txid: r.txid(u['txid'], `UTXO ${i}.txid`),
        vout: r.integer(u['vout'], `UTXO ${i}.vout`),
        amount: btcToSats(r, u['amount'], `UTXO ${i}.amount`),
        height: conf > 0 ? tipReply - conf + 1 : 0,
      };
      const address = r.string(u['address'], `UTXO ${i}.address`);
      byAddress.set(address, [...(byAddress.get(address) ?? []), utxo]);
    });
    return addresses.map((a) => byAddress.get(a) ?? []);
  }

  async function getTransactions(txids: readonly string[]): Promise<Uint8Array[]> {
    const ids = assertTxids(txids);
    if (ids.length === 0) return [];
    await ensureWallet();
    // Wallet transactions first (no -txindex needed), then the node (mempool, or -txindex).
    const fromWallet = await batch(ids.map((t) => ({ method: 'gettransaction', params: [t, true] })), { wallet: true });
    const rest = ids.filter((_, i) => !fromWallet[i]!.ok);
    const fromNode = await batch(rest.map((t) => ({ method: 'getrawtransaction', params: [t, false] })));
    let k = 0;
    return ids.map((txid, i) => {
      let hex: unknown;
      const w = fromWallet[i]!;
      if (w.ok) {
        hex = shapeReader(label, 'gettransaction').object(w.result, 'a transaction')['hex'];
      } else {
        const n = fromNode[k++]!;
        if (!n.ok) {
          if (n.code === RPC_INVALID_ADDRESS_OR_KEY) throw new BackendError('backend.not_found', `${name} does not know transaction ${txid}: ${n.message}`, { details: { backend: 'core', endpoint: label.endpoint, txid } });
          throw failed('getrawtransaction', n);
        }
        hex = n.result;
      }
      const raw = fromHex(shapeReader(label, `gettransaction ${txid}`).hex(hex, 'a hex'));
      parseCheckedTransaction(label, txid, raw);
      return raw;
    });
  }

  async function getTransactionStatuses(txids: readonly string[]): Promise<TxStatus[]> {
    const ids = assertTxids(txids);
    await ensureWallet();
    const tip = await getTipHeight();
    const mempool = await batch(ids.map((t) => ({ method: 'getmempoolentry', params: [t] })));
    const wallet = await batch(ids.map((t) => ({ method: 'gettransaction', params: [t, true] })), { wallet: true });
    const node = await batch(ids.map((t) => ({ method: 'getrawtransaction', params: [t, true] })));
    return ids.map((txid, i): TxStatus => {
      if (mempool[i]!.ok) return { state: 'mempool' };
      for (const [reply, what] of [
        [wallet[i]!, 'gettransaction'],
        [node[i]!, 'getrawtransaction'],
      ] as const) {
        if (!reply.ok) continue;
        const r = shapeReader(label, `${what} ${txid}`);
        const o = r.object(reply.result, 'a transaction');
        const conf = o['confirmations'] === undefined ? 0 : r.integer(o['confirmations'], 'confirmations', -1_000_000_000);
        if (conf > 0) return { state: 'confirmed', blockHeight: tip - conf + 1, confirmations: conf };
      }
      return { state: 'unknown' };
    });
  }

  async function estimateFee(targetBlocks: number): Promise<number> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1) throw new InvalidInputError('backend.bad_option', `target ${String(targetBlocks)} must be a positive number of blocks`);
    const r = shapeReader(label, 'estimatesmartfee');
    const o = r.object(await call('estimatesmartfee', [targetBlocks]), 'an estimate');
    if (o['feerate'] === undefined) throw new BackendError('backend.fee_unavailable', `${name} has no fee estimate for ${targetBlocks} blocks${Array.isArray(o['errors']) ? `: ${o['errors'].join('; ')}` : ''}`);
    // BTC per 1000 vbytes -> sat per vbyte.
    return Math.round(r.number(o['feerate'], 'feerate') * 1e8) / 1000;
  }

  async function testAccept(rawTx: Uint8Array): Promise<TestAcceptResult> {
    const txid = transactionId(parseTransaction(rawTx));
    const r = shapeReader(label, 'testmempoolaccept');
    const [first] = r.array(await call('testmempoolaccept', [[toHex(rawTx)]]), 'a result list');
    const o = r.object(first, 'a result');
    if (o['allowed'] === true) {
      const fees = o['fees'];
      const base = typeof fees === 'object' && fees !== null ? (fees as Record<string, unknown>)['base'] : undefined;
      return { allowed: true, txid, ...(typeof o['vsize'] === 'number' ? { vsize: o['vsize'] } : {}), ...(base === undefined ? {} : { fee: btcToSats(r, base, 'fees.base') }) };
    }
    return { allowed: false, txid, reason: typeof o['reject-reason'] === 'string' ? o['reject-reason'] : 'rejected' };
  }

  async function broadcast(rawTx: Uint8Array): Promise<string> {
    const verdict = await testAccept(rawTx);
    const txid = verdict.txid;
    const reject = (reason: string): BackendError =>
      new BackendError('backend.rejected', `${name} rejected transaction ${txid}: ${reason}`, { details: { backend: 'core', endpoint: label.endpoint, txid, reason } });
    if (!verdict.allowed) throw reject(verdict.reason);
    const [reply] = await batch([{ method: 'sendrawtransaction', params: [toHex(rawTx)] }]);
    if (!reply!.ok) {
      if (reply!.code === RPC_VERIFY_REJECTED || reply!.code === RPC_VERIFY_ALREADY_IN_CHAIN || reply!.code === -25) throw reject(reply!.message);
      throw failed('sendrawtransaction', reply!);
    }
    const answered = shapeReader(label, 'sendrawtransaction').txid(reply!.result, 'a txid');
    if (answered !== txid) shapeReader(label, 'sendrawtransaction').fail(`txid ${answered} for transaction ${txid}`);
    return txid;
  }

  return Object.freeze({
    label,
    walletName,
    ensureWallet,
    getHistories,
    getUtxos,
    getTransactions: async (txids: readonly string[]) => getTransactions(txids),
    getTransactionStatuses,
    getTipHeight,
    estimateFee,
    testAccept,
    broadcast,
    close: () => {
      closed = true;
      for (const c of inFlight) c.abort(new BackendError('backend.closed', `${name} was closed`));
      return Promise.resolve();
    },
  });
}

function redactText(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//').slice(0, 100);
}
