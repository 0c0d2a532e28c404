/**
 * Esplora HTTP backend (Blockstream's esplora, mempool.space, self-hosted electrs/esplora):
 * JSON over REST, amounts in satoshis. One HTTP request per script (the API has no batch call),
 * run a few at a time.
 */
import { InvalidInputError } from '@mofn/core';
import { basicAuth } from './http.ts';
import type { Network } from '../types.ts';
import { fromHex, toHex } from '../tx/bytes.ts';
import { parseTransaction, transactionId } from '../tx/transaction.ts';
import { BackendError, describeBackend, networkErrorCode, redactUrl, type BackendLabel } from './errors.ts';
import type { ChainBackend, ClaimedUtxo, ScriptHistoryEntry, TxStatus } from './port.ts';
import { retryPolicyOf, withRetries, type RetryOptions } from './retry.ts';
import { esploraScriptHash } from './scripthash.ts';
import { assertTxids, mapLimited, parseJsonFrom, shapeReader } from './shape.ts';
import { parseCheckedTransaction } from './verify.ts';

/** Public Esplora endpoints (mempool.space) per network; regtest has none. */
export const ESPLORA_DEFAULT_URLS: Readonly<Partial<Record<Network, string>>> = Object.freeze({
  main: 'https://mempool.space/api',
  test: 'https://mempool.space/testnet/api',
  signet: 'https://mempool.space/signet/api',
});

/** Options of {@link createEsploraBackend}. */
export interface EsploraOptions extends RetryOptions {
  readonly network: Network;
  /** API base URL (e.g. `https://blockstream.info/api`); default per network, required for regtest. */
  readonly url?: string;
  /** HTTP requests in flight at once (default 8). */
  readonly concurrency?: number;
}

// Esplora pages a script's confirmed history 25 transactions at a time (API.md, /scripthash/:hash/txs/chain).
const CHAIN_PAGE = 25;

type Body = { readonly text: string; readonly status: number };

/**
 * Creates an Esplora backend.
 * @throws BackendError `backend.no_url` for regtest without `url`; InvalidInputError `backend.bad_url`, `backend.bad_option`
 * @example const backend = createEsploraBackend({ network: 'signet' });
 */
export function createEsploraBackend(options: EsploraOptions): ChainBackend {
  const policy = retryPolicyOf(options);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidInputError('backend.bad_option', `concurrency ${String(concurrency)} must be a positive integer`);
  const urlText = options.url ?? ESPLORA_DEFAULT_URLS[options.network];
  if (urlText === undefined) {
    throw new BackendError('backend.no_url', `an Esplora backend on ${options.network} needs an explicit URL (there is no public ${options.network} Esplora)`, {
      hint: 'pass the URL of your own esplora/electrs, e.g. http://127.0.0.1:3002',
    });
  }
  let base: URL;
  try {
    base = new URL(urlText.replace(/\/+$/, ''));
  } catch (cause) {
    throw new InvalidInputError('backend.bad_url', `Esplora URL '${urlText.slice(0, 100)}' is not a URL`, { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidInputError('backend.bad_url', `Esplora URL must be http(s), not ${base.protocol}`);
  const label: BackendLabel = Object.freeze({ kind: 'esplora', endpoint: redactUrl(base) });
  const name = describeBackend(label);
  const authHeader = base.username === '' ? undefined : basicAuth(decodeURIComponent(base.username), decodeURIComponent(base.password));
  const root = redactUrl(base);
  let closed = false;
  const inFlight = new Set<AbortController>();

  async function once(method: 'GET' | 'POST', path: string, body?: string): Promise<Body> {
    if (closed) throw new BackendError('backend.closed', `${name} is closed`);
    const controller = new AbortController();
    inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new BackendError('backend.timeout', `${name}: ${method} ${path} got no answer within ${policy.timeoutMs} ms`, { transient: true })), policy.timeoutMs);
    try {
      const headers: Record<string, string> = { accept: 'application/json, text/plain' };
      if (body !== undefined) headers['content-type'] = 'text/plain';
      if (authHeader !== undefined) headers['authorization'] = authHeader;
      const res = await fetch(`${root}${path}`, { method, headers, signal: controller.signal, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      if (res.status >= 500 || res.status === 429) {
        throw new BackendError('backend.request_failed', `${name}: ${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 200)}`, {
          details: { backend: 'esplora', endpoint: label.endpoint, status: res.status },
          transient: true,
        });
      }
      return { text, status: res.status };
    } catch (err) {
      if (err instanceof BackendError) throw err;
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && reason instanceof BackendError) throw reason;
      if (closed) throw new BackendError('backend.closed', `${name} was closed during ${method} ${path}`, { cause: err });
      const code = networkErrorCode(err);
      throw new BackendError('backend.unreachable', `${name}: ${method} ${path} failed${code === undefined ? '' : ` (${code})`}: the server cannot be reached`, {
        details: { backend: 'esplora', endpoint: label.endpoint, ...(code === undefined ? {} : { networkCode: code }) },
        hint: 'check the URL and your connection, or configure another backend',
        transient: true,
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
  }

  const request = (method: 'GET' | 'POST', path: string, body?: string): Promise<Body> => withRetries(policy, () => once(method, path, body));

  function notOk(path: string, res: Body): never {
    if (res.status === 404) throw new BackendError('backend.not_found', `${name}: ${path} not found: ${res.text.slice(0, 200)}`, { details: { backend: 'esplora', endpoint: label.endpoint, status: 404 } });
    throw new BackendError('backend.request_failed', `${name}: GET ${path} failed with HTTP ${res.status}: ${res.text.slice(0, 200)}`, {
      details: { backend: 'esplora', endpoint: label.endpoint, status: res.status },
    });
  }

  async function getJson(path: string): Promise<unknown> {
    const res = await request('GET', path);
    if (res.status !== 200) notOk(path, res);
    return parseJsonFrom(label, `GET ${path}`, res.text);
  }

  async function getTipHeight(): Promise<number> {
    const path = '/blocks/tip/height';
    const res = await request('GET', path);
    if (res.status !== 200) notOk(path, res);
    const text = res.text.trim();
    if (!/^[0-9]{1,9}$/.test(text)) shapeReader(label, `GET ${path}`).fail(`'${text.slice(0, 40)}', not a height`);
    return Number(text);
  }

  function statusOf(r: ReturnType<typeof shapeReader>, tx: Record<string, unknown>, what: string): number {
    const status = r.object(tx['status'], `${what}.status`);
    return r.boolean(status['confirmed'], `${what}.status.confirmed`) ? r.integer(status['block_height'], `${what}.status.block_height`, 1) : 0;
  }

  async function historyOf(script: Uint8Array): Promise<ScriptHistoryEntry[]> {
    const hash = esploraScriptHash(script);
    const seen = new Map<string, number>();
    let path = `/scripthash/${hash}/txs`;
    for (;;) {
      const r = shapeReader(label, `GET ${path}`);
      const page = r.array(await getJson(path), 'a transaction list');
      let confirmed = 0;
      let last: string | undefined;
      page.forEach((item, i) => {
        const tx = r.object(item, `transaction ${i}`);
        const txid = r.txid(tx['txid'], `transaction ${i}.txid`);
        const height = statusOf(r, tx, `transaction ${i}`);
        if (height > 0) {
          confirmed++;
          last = txid;
        }
        seen.set(txid, height);
      });
      if (confirmed < CHAIN_PAGE || last === undefined) break;
      path = `/scripthash/${hash}/txs/chain/${last}`;
    }
    // Esplora lists newest first; the port promises oldest first, mempool last.
    return [...seen].map(([txid, height]) => ({ txid, height })).sort((a, b) => (a.height === 0 ? Infinity : a.height) - (b.height === 0 ? Infinity : b.height));
  }

  async function utxosOf(script: Uint8Array): Promise<ClaimedUtxo[]> {
    const path = `/scripthash/${esploraScriptHash(script)}/utxo`;
    const r = shapeReader(label, `GET ${path}`);
    return r.array(await getJson(path), 'a UTXO list').map((item, i) => {
      const u = r.object(item, `UTXO ${i}`);
      return {
        txid: r.txid(u['txid'], `UTXO ${i}.txid`),
        vout: r.integer(u['vout'], `UTXO ${i}.vout`),
        amount: r.sats(u['value'], `UTXO ${i}.value`),
        height: statusOf(r, u, `UTXO ${i}`),
      };
    });
  }

  async function rawTransaction(txid: string): Promise<Uint8Array> {
    const path = `/tx/${txid}/hex`;
    const res = await request('GET', path);
    if (res.status !== 200) notOk(path, res);
    const hex = shapeReader(label, `GET ${path}`).hex(res.text.trim(), 'a body');
    const raw = fromHex(hex);
    parseCheckedTransaction(label, txid, raw);
    return raw;
  }

  async function statusOfTx(txid: string, tip: number): Promise<TxStatus> {
    const path = `/tx/${txid}/status`;
    const res = await request('GET', path);
    if (res.status === 404) return { state: 'unknown' };
    if (res.status !== 200) notOk(path, res);
    const r = shapeReader(label, `GET ${path}`);
    const status = r.object(parseJsonFrom(label, `GET ${path}`, res.text), 'a status');
    if (!r.boolean(status['confirmed'], 'confirmed')) return { state: 'mempool' };
    const blockHeight = r.integer(status['block_height'], 'block_height', 1);
    return { state: 'confirmed', blockHeight, confirmations: Math.max(1, tip - blockHeight + 1) };
  }

  async function estimateFee(targetBlocks: number): Promise<number> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1) throw new InvalidInputError('backend.bad_option', `target ${String(targetBlocks)} must be a positive number of blocks`);
    const r = shapeReader(label, 'GET /fee-estimates');
    const table = r.object(await getJson('/fee-estimates'), 'a fee table');
    // Keys are targets in blocks (1..25, 144, 504, 1008); use the largest target not above the one asked.
    let best: { target: number; rate: number } | undefined;
    let smallest: { target: number; rate: number } | undefined;
    for (const [key, value] of Object.entries(table)) {
      const target = Number(key);
      if (!Number.isInteger(target) || target < 1) continue;
      const rate = r.number(value, `the rate for ${key} blocks`);
      if (target <= targetBlocks && (best === undefined || target > best.target)) best = { target, rate };
      if (smallest === undefined || target < smallest.target) smallest = { target, rate };
    }
    const pick = best ?? smallest;
    if (pick === undefined || pick.rate <= 0) throw new BackendError('backend.fee_unavailable', `${name} has no fee estimate for ${targetBlocks} blocks`);
    return pick.rate;
  }

  async function broadcast(rawTx: Uint8Array): Promise<string> {
    const txid = transactionId(parseTransaction(rawTx));
    // Retried only for transient failures; a 400 (rejection) is returned, never retried.
    const res = await request('POST', '/tx', toHex(rawTx));
    if (res.status !== 200) {
      throw new BackendError('backend.rejected', `${name} rejected transaction ${txid}: ${res.text.slice(0, 300)}`, {
        details: { backend: 'esplora', endpoint: label.endpoint, txid, status: res.status, reason: res.text.slice(0, 300) },
      });
    }
    const answered = res.text.trim().toLowerCase();
    if (answered !== txid) shapeReader(label, 'POST /tx').fail(`txid '${answered.slice(0, 64)}' for transaction ${txid}`);
    return txid;
  }

  return Object.freeze({
    label,
    getHistories: (scripts: readonly Uint8Array[]) => mapLimited(scripts, concurrency, historyOf),
    getUtxos: (scripts: readonly Uint8Array[]) => mapLimited(scripts, concurrency, utxosOf),
    getTransactions: async (txids: readonly string[]) => mapLimited(assertTxids(txids), concurrency, rawTransaction),
    getTransactionStatuses: async (txids: readonly string[]) => {
      assertTxids(txids);
      const tip = await getTipHeight();
      return mapLimited(txids, concurrency, (t) => statusOfTx(t, tip));
    },
    getTipHeight,
    estimateFee,
    broadcast,
    close: () => {
      closed = true;
      for (const c of inFlight) c.abort(new BackendError('backend.closed', `${name} was closed`));
      return Promise.resolve();
    },
  });
}
