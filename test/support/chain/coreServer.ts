/**
 * A loopback Bitcoin Core JSON-RPC server (HTTP with basic auth, JSON-RPC 1.0 single and batch
 * calls, Core's error codes) answering from a {@link ChainModel}: descriptor wallets
 * (createwallet / loadwallet / importdescriptors / listdescriptors), listtransactions,
 * gettransaction, listunspent, getrawtransaction (mempool only, no -txindex), getmempoolentry,
 * estimatesmartfee, testmempoolaccept, sendrawtransaction. Descriptors are expanded with
 * @scure/bip32 and bitcoinjs-lib (independent of mofn): `wsh(sortedmulti(...))` and
 * `sh(wsh(sortedmulti(...)))` with `/<branch>/*` keys. Faults: see faults.ts.
 * (bip32 + tiny-secp256k1 rather than @scure/bip32: pure-JS point arithmetic made imports slow.)
 */
import { BIP32Factory } from 'bip32';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import http from 'node:http';
import type net from 'node:net';
import { createFaults, createStats, listenTracked, sendOrCut, sleep, takeFault, type Faults, type ServerStats } from './faults.ts';
import type { ChainModel } from './model.ts';

export interface CoreServer {
  readonly url: string;
  readonly faults: Faults;
  readonly stats: ServerStats;
  /** Wallets by name: their descriptors and scripts. */
  readonly wallets: Map<string, CoreWallet>;
  /** Calls by method name, for tests that count them. */
  readonly calls: Map<string, number>;
  close(): Promise<void>;
}

export interface CoreWallet {
  readonly descriptors: { desc: string; range: [number, number]; internal: boolean }[];
  /** Script hex -> address. */
  readonly scripts: Map<string, string>;
  /** Every transaction the wallet has seen (it keeps replaced and reorganised ones, like Core). */
  readonly seen: Set<string>;
  disablePrivateKeys: boolean;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const bip32 = BIP32Factory(ecc);
const TESTNET = { ...bitcoin.networks.testnet, bip32: { public: 0x043587cf, private: 0x04358394 } };
const btc = (sats: bigint): number => Number(sats) / 1e8;

function expandDescriptor(desc: string, range: [number, number], network: bitcoin.Network): string[] {
  const body = desc.replace(/#[a-z0-9]{8}$/, '');
  const m = /^(wsh|sh\(wsh)\(sortedmulti\((\d+),(.*?)\)\)\)?$/.exec(body);
  if (m === null) throw new RpcError(-5, `loopback core: unsupported descriptor ${body.slice(0, 40)}`);
  const threshold = Number(m[2]);
  const keys = m[3]!.split(',').map((k) => {
    const km = /^(?:\[[0-9a-f]{8}(?:\/\d+[h']?)*\])?([tx]pub[1-9A-HJ-NP-Za-km-z]+)\/(\d+)\/\*$/.exec(k);
    if (km === null) throw new RpcError(-5, `loopback core: unsupported key expression ${k.slice(0, 30)}`);
    return bip32.fromBase58(km[1]!, km[1]!.startsWith('t') ? TESTNET : bitcoin.networks.bitcoin).derive(Number(km[2]));
  });
  const out: string[] = [];
  for (let i = range[0]; i <= range[1]; i++) {
    const pubkeys = keys.map((k) => Buffer.from(k.derive(i).publicKey)).sort((a, b) => Buffer.compare(a, b));
    const p2ms = bitcoin.payments.p2ms({ m: threshold, pubkeys, network });
    const p2wsh = bitcoin.payments.p2wsh({ redeem: p2ms, network });
    const payment = m[1] === 'wsh' ? p2wsh : bitcoin.payments.p2sh({ redeem: p2wsh, network });
    out.push(Buffer.from(payment.output!).toString('hex'));
  }
  return out;
}

/** Starts the server on 127.0.0.1, port 0, accepting `user:password`. The test that starts it closes it. */
export async function startCoreServer(model: ChainModel, credentials: { user: string; password: string }, options: { network?: 'test' | 'regtest' } = {}): Promise<CoreServer> {
  const faults = createFaults();
  const stats = createStats();
  const sockets = new Set<net.Socket>();
  const wallets = new Map<string, CoreWallet>();
  const loaded = new Set<string>();
  const calls = new Map<string, number>();
  const network = options.network === 'regtest' ? bitcoin.networks.regtest : bitcoin.networks.testnet;
  const expectedAuth = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;

  // Wallets remember every transaction that ever touched them.
  const track = (): void => {
    for (const w of wallets.values()) for (const txid of model.liveTxids()) if (touches(w, txid)) w.seen.add(txid);
  };
  const unsubscribe = model.onChange(track);

  function touches(w: CoreWallet, txid: string): boolean {
    const tx = model.tx(txid)!;
    return tx.outputs.some((o) => w.scripts.has(o.scriptHex)) || tx.inputs.some((i) => {
      const prev = model.tx(i.txid)?.outputs[i.vout];
      return prev !== undefined && w.scripts.has(prev.scriptHex);
    });
  }

  function confirmations(txid: string): { confirmations: number; blockheight?: number } {
    const st = model.state(txid);
    return st.state === 'confirmed' ? { confirmations: model.tipHeight - st.height + 1, blockheight: st.height } : { confirmations: 0 };
  }

  function walletOf(name: string | undefined): CoreWallet {
    if (name === undefined) {
      if (loaded.size === 1) return wallets.get([...loaded][0]!)!;
      throw new RpcError(-19, 'Wallet file not specified (must request wallet RPC through /wallet/<filename> uri-path).');
    }
    if (!loaded.has(name)) throw new RpcError(-18, `Requested wallet does not exist or is not loaded`);
    return wallets.get(name)!;
  }

  function dispatch(method: string, params: unknown[], walletName: string | undefined): unknown {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    switch (method) {
      case 'getblockcount':
        return model.tipHeight;
      case 'listwallets':
        return [...loaded];
      case 'createwallet': {
        const name = String(params[0]);
        if (wallets.has(name)) throw new RpcError(-4, `Wallet file verification failed. Failed to create database path '${name}'. Database already exists.`);
        if (params[5] !== true) throw new RpcError(-4, 'loopback core: only descriptor wallets');
        wallets.set(name, { descriptors: [], scripts: new Map(), seen: new Set(), disablePrivateKeys: params[1] === true });
        loaded.add(name);
        return { name, warning: '' };
      }
      case 'loadwallet': {
        const name = String(params[0]);
        if (!wallets.has(name)) throw new RpcError(-18, `Wallet file verification failed. Failed to load database path '${name}'. Path does not exist.`);
        if (loaded.has(name)) throw new RpcError(-35, `Wallet "${name}" is already loaded.`);
        loaded.add(name);
        return { name, warning: '' };
      }
      case 'listdescriptors': {
        const w = walletOf(walletName);
        return { wallet_name: walletName, descriptors: w.descriptors.map((d) => ({ desc: d.desc, timestamp: 0, active: false, internal: d.internal, range: d.range, next: 0 })) };
      }
      case 'importdescriptors': {
        const w = walletOf(walletName);
        const requests = params[0] as { desc: string; range: [number, number]; internal?: boolean; timestamp: unknown }[];
        return requests.map((r) => {
          try {
            if (!/#[a-z0-9]{8}$/.test(r.desc)) throw new RpcError(-5, 'Missing checksum');
            for (const script of expandDescriptor(r.desc, r.range, network)) w.scripts.set(script, bitcoin.address.fromOutputScript(Buffer.from(script, 'hex'), network));
            const existing = w.descriptors.find((d) => d.desc === r.desc);
            if (existing !== undefined) existing.range = [0, Math.max(existing.range[1], r.range[1])];
            else w.descriptors.push({ desc: r.desc, range: r.range, internal: r.internal === true });
            track();
            return { success: true };
          } catch (e) {
            return { success: false, error: { code: e instanceof RpcError ? e.code : -1, message: String(e instanceof Error ? e.message : e) } };
          }
        });
      }
      case 'listtransactions': {
        const w = walletOf(walletName);
        const [, countParam, skipParam] = params as [string, number | undefined, number | undefined];
        const count = countParam ?? 10;
        const skip = skipParam ?? 0;
        const entries: Record<string, unknown>[] = [];
        for (const txid of w.seen) {
          const tx = model.tx(txid)!;
          const c = confirmations(txid);
          const spends = tx.inputs.some((i) => {
            const prev = model.tx(i.txid)?.outputs[i.vout];
            return prev !== undefined && w.scripts.has(prev.scriptHex);
          });
          tx.outputs.forEach((o, vout) => {
            const address = w.scripts.get(o.scriptHex);
            if (address !== undefined) entries.push({ involvesWatchonly: true, address, category: 'receive', amount: btc(o.amount), vout, txid, ...c });
            else if (spends) entries.push({ involvesWatchonly: true, category: 'send', amount: -btc(o.amount), vout, txid, ...c });
          });
        }
        // Core: the `count` most recent after skipping `skip`, oldest first.
        const end = entries.length - skip;
        return entries.slice(Math.max(0, end - count), Math.max(0, end));
      }
      case 'gettransaction': {
        const w = walletOf(walletName);
        const txid = String(params[0]);
        if (!w.seen.has(txid)) throw new RpcError(-5, 'Invalid or non-wallet transaction id');
        return { txid, hex: model.tx(txid)!.hex, ...confirmations(txid), details: [] };
      }
      case 'listunspent': {
        const w = walletOf(walletName);
        const [minconf, maxconf, addresses] = params as [number | undefined, number | undefined, string[] | undefined];
        const out: Record<string, unknown>[] = [];
        for (const [scriptHex, address] of w.scripts) {
          if (addresses !== undefined && addresses.length > 0 && !addresses.includes(address)) continue;
          for (const u of model.utxos(scriptHex)) {
            const conf = u.height > 0 ? model.tipHeight - u.height + 1 : 0;
            if (conf < (minconf ?? 1) || conf > (maxconf ?? 9_999_999)) continue;
            const lie = faults.lies.find((l) => l.where === 'utxo' && l.txid === u.txid && l.vout === u.vout);
            out.push({ txid: u.txid, vout: u.vout, address, scriptPubKey: scriptHex, amount: btc(lie?.amount ?? u.amount), confirmations: conf, spendable: false, solvable: true, safe: conf > 0 });
          }
        }
        return out;
      }
      case 'getrawtransaction': {
        const txid = String(params[0]);
        // No -txindex: only mempool transactions.
        if (model.state(txid).state !== 'mempool') throw new RpcError(-5, 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.');
        return params[1] === true ? { txid, hex: model.tx(txid)!.hex } : model.tx(txid)!.hex;
      }
      case 'getmempoolentry': {
        const txid = String(params[0]);
        if (model.state(txid).state !== 'mempool') throw new RpcError(-5, 'Transaction not in mempool');
        return { vsize: model.tx(txid)!.vsize };
      }
      case 'estimatesmartfee': {
        const rate = model.feeRate(Number(params[0]));
        return rate === undefined ? { errors: ['Insufficient data or no feerate found'], blocks: 0 } : { feerate: (rate * 1000) / 1e8, blocks: Number(params[0]) };
      }
      case 'testmempoolaccept': {
        const hexes = params[0] as string[];
        return hexes.map((h) => {
          const v = model.submit(Buffer.from(h, 'hex'), { dryRun: true });
          return v.allowed ? { txid: v.txid, allowed: true, vsize: v.vsize, fees: { base: btc(v.fee) } } : { txid: v.txid, allowed: false, 'reject-reason': v.reason };
        });
      }
      case 'sendrawtransaction': {
        const v = model.submit(Buffer.from(String(params[0]), 'hex'));
        if (!v.allowed) throw new RpcError(-26, v.reason);
        return v.txid;
      }
      default:
        throw new RpcError(-32601, 'Method not found');
    }
  }

  function answer(req: unknown, walletName: string | undefined): { reply: Record<string, unknown>; failed: boolean } {
    stats.requests++;
    const r = req as { id?: unknown; method?: unknown; params?: unknown };
    try {
      return { reply: { result: dispatch(String(r.method), Array.isArray(r.params) ? r.params : [], walletName), error: null, id: r.id }, failed: false };
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError(-1, String(e));
      return { reply: { result: null, error: { code: err.code, message: err.message }, id: r.id }, failed: true };
    }
  }

  const server = http.createServer((req, res) => {
    stats.messages++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const stall = takeFault(faults, 'stall');
        const disconnect = !stall && takeFault(faults, 'disconnect');
        const malformed = !stall && !disconnect && takeFault(faults, 'malformed');
        const serverError = !stall && !disconnect && !malformed && takeFault(faults, 'serverErrors');
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        if (stall) return;
        if (req.headers.authorization !== expectedAuth) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' }).end();
          return;
        }
        if (serverError) {
          res.writeHead(503).end('Work queue depth exceeded');
          return;
        }
        const wm = /^\/wallet\/([^/]+)$/.exec(req.url ?? '/');
        const walletName = wm === null ? undefined : decodeURIComponent(wm[1]!);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ result: null, error: { code: -32700, message: 'Parse error' }, id: null }));
          return;
        }
        let status = 200;
        let out: unknown;
        if (Array.isArray(body)) {
          out = body.map((b) => answer(b, walletName).reply);
        } else {
          const { reply, failed } = answer(body, walletName);
          out = reply;
          // Core answers a failed single JSON-RPC 1.0 call with HTTP 500 (404 for an unknown method).
          if (failed) status = (reply['error'] as { code: number }).code === -32601 ? 404 : 500;
        }
        const text = malformed ? '[{"result": oops' : JSON.stringify(out);
        sendOrCut(res, status, 'application/json', text, disconnect);
      })();
    });
  });
  const port = await listenTracked(server, stats, sockets);
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    stats,
    wallets,
    calls,
    close: async () => {
      unsubscribe();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
