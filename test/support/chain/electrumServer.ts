/**
 * A loopback Electrum server (protocol 1.4) over TCP or TLS on 127.0.0.1, answering from a
 * {@link ChainModel}: line-delimited JSON-RPC 2.0 with batches, server.version negotiation,
 * scripthash history/listunspent/subscribe with notifications, transaction get/broadcast,
 * estimatefee and headers.subscribe. Faults: see faults.ts.
 */
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { claimedAmount, createFaults, createStats, servedRaw, sleep, takeFault, type Faults, type ServerStats } from './faults.ts';
import type { ChainModel } from './model.ts';

export interface ElectrumServer {
  readonly host: string;
  readonly port: number;
  /** `tcp://127.0.0.1:port` or `ssl://127.0.0.1:port`. */
  readonly url: string;
  /** The self-signed certificate (PEM) of a TLS server, for the client's `ca`. */
  readonly certPem: string | undefined;
  readonly faults: Faults;
  readonly stats: ServerStats;
  /** The protocol version this server claims (tests of negotiation change it). */
  protocol: string;
  close(): Promise<void>;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Session {
  readonly socket: net.Socket;
  readonly scripthashes: Map<string, string | null>;
  headers: boolean;
  lastTip: number;
}

let certCache: Promise<{ cert: string; private: string }> | undefined;
function selfSignedCert(): Promise<{ cert: string; private: string }> {
  certCache ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
  }) as Promise<{ cert: string; private: string }>;
  return certCache;
}

/** Starts the server on 127.0.0.1, port 0. The test that starts it closes it. */
export async function startElectrumServer(model: ChainModel, options: { tls?: boolean } = {}): Promise<ElectrumServer> {
  const faults = createFaults();
  const stats = createStats();
  const sessions = new Set<Session>();
  const pem = options.tls ? await selfSignedCert() : undefined;
  const state = { protocol: '1.4' };

  function dispatch(session: Session, method: string, params: unknown[]): unknown {
    const str = (i: number): string => {
      const v = params[i];
      if (typeof v !== 'string') throw new RpcError(-32602, `invalid params: argument ${i} must be a string`);
      return v;
    };
    switch (method) {
      case 'server.version':
        return ['loopback-electrum 1.0', state.protocol];
      case 'server.ping':
        return null;
      case 'blockchain.headers.subscribe':
        session.headers = true;
        session.lastTip = model.tipHeight;
        return { height: model.tipHeight, hex: model.headerHex(model.tipHeight) };
      case 'blockchain.scripthash.get_history': {
        const script = model.scriptOfHash('e', str(0));
        return script === undefined ? [] : model.history(script).map((h) => ({ tx_hash: h.txid, height: h.height }));
      }
      case 'blockchain.scripthash.listunspent': {
        const script = model.scriptOfHash('e', str(0));
        return script === undefined
          ? []
          : model.utxos(script).map((u) => ({ tx_hash: u.txid, tx_pos: u.vout, height: u.height, value: Number(claimedAmount(faults, u.txid, u.vout, u.amount)) }));
      }
      case 'blockchain.scripthash.subscribe': {
        const hash = str(0);
        const script = model.scriptOfHash('e', hash);
        const status = script === undefined ? null : model.electrumStatus(script);
        session.scripthashes.set(hash, status);
        return status;
      }
      case 'blockchain.transaction.get': {
        const txid = str(0);
        const tx = model.tx(txid);
        if (tx === undefined || model.state(txid).state === 'unknown') throw new RpcError(2, `daemon error: No such mempool or blockchain transaction. txid ${txid} not found`);
        return Buffer.from(servedRaw(faults, tx)).toString('hex');
      }
      case 'blockchain.transaction.broadcast': {
        const verdict = model.submit(Buffer.from(str(0), 'hex'));
        if (!verdict.allowed) throw new RpcError(1, `the transaction was rejected by network rules.\n\n${verdict.reason}`);
        return verdict.txid;
      }
      case 'blockchain.estimatefee': {
        const target = params[0];
        if (typeof target !== 'number') throw new RpcError(-32602, 'invalid params');
        const rate = model.feeRate(target);
        return rate === undefined ? -1 : (rate * 1000) / 1e8;
      }
      default:
        throw new RpcError(-32601, `unknown method '${method}'`);
    }
  }

  function answer(session: Session, req: unknown): unknown {
    stats.requests++;
    if (typeof req !== 'object' || req === null) return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } };
    const r = req as { id?: unknown; method?: unknown; params?: unknown };
    try {
      if (typeof r.method !== 'string') throw new RpcError(-32600, 'invalid request');
      const result = dispatch(session, r.method, Array.isArray(r.params) ? r.params : []);
      return { jsonrpc: '2.0', id: r.id, result };
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError(-32603, String(e));
      return { jsonrpc: '2.0', id: r.id, error: { code: err.code, message: err.message } };
    }
  }

  async function onLine(session: Session, line: string): Promise<void> {
    stats.messages++;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      session.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })}\n`);
      return;
    }
    // Faults are decided on arrival, answers computed after the latency (like a real server's work).
    const stall = takeFault(faults, 'stall');
    const disconnect = !stall && takeFault(faults, 'disconnect');
    const malformed = !stall && !disconnect && takeFault(faults, 'malformed');
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (stall || session.socket.destroyed) return;
    const wrongShape = !malformed && takeFault(faults, 'wrongShape');
    const reply = (m: unknown): unknown => {
      const r = answer(session, m) as Record<string, unknown>;
      return wrongShape && 'result' in r ? { ...r, result: 'surprise' } : r;
    };
    const response = Array.isArray(msg) ? msg.map(reply) : reply(msg);
    const text = `${JSON.stringify(response)}\n`;
    if (disconnect) {
      session.socket.write(text.slice(0, Math.floor(text.length / 2)), () => session.socket.destroy());
      return;
    }
    session.socket.write(malformed ? 'this is { not json\n' : text);
  }

  function notify(): void {
    for (const s of sessions) {
      if (s.socket.destroyed) continue;
      if (s.headers && s.lastTip !== model.tipHeight) {
        s.lastTip = model.tipHeight;
        s.socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'blockchain.headers.subscribe', params: [{ height: model.tipHeight, hex: model.headerHex(model.tipHeight) }] })}\n`);
      }
      for (const [hash, old] of s.scripthashes) {
        const script = model.scriptOfHash('e', hash);
        const status = script === undefined ? null : model.electrumStatus(script);
        if (status === old) continue;
        s.scripthashes.set(hash, status);
        s.socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'blockchain.scripthash.subscribe', params: [hash, status] })}\n`);
      }
    }
  }
  const unsubscribe = model.onChange(notify);

  const onConnection = (socket: net.Socket): void => {
    stats.connections++;
    const session: Session = { socket, scripthashes: new Map(), headers: false, lastTip: model.tipHeight };
    sessions.add(session);
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    let buffer = '';
    // Lines of one connection are answered in order, as Electrum servers do.
    let chain = Promise.resolve();
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() !== '') chain = chain.then(() => onLine(session, line));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sessions.delete(session));
  };
  const server = pem === undefined ? net.createServer(onConnection) : tls.createServer({ key: pem.private, cert: pem.cert }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    url: `${pem === undefined ? 'tcp' : 'ssl'}://127.0.0.1:${port}`,
    certPem: pem?.cert,
    faults,
    stats,
    get protocol() {
      return state.protocol;
    },
    set protocol(v: string) {
      state.protocol = v;
    },
    close: async () => {
      unsubscribe();
      for (const s of sessions) s.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
