/**
 * Fault injection shared by the loopback servers. Counters are consumed one message at a time,
 * so a test says "the next batch stalls" and the retry that follows is answered normally.
 */
import type http from 'node:http';
import type net from 'node:net';
import * as bitcoin from 'bitcoinjs-lib';
import type { ModelTx } from './model.ts';

export interface Lie {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  /** In UTXO lists only, or in the served previous transaction itself (which changes its txid). */
  readonly where: 'utxo' | 'rawtx';
}

export interface Faults {
  /** Delay before each answer (per Electrum message, per HTTP request), in ms. */
  latencyMs: number;
  /** Upcoming messages never answered (Infinity: none ever again). */
  stall: number;
  /** Upcoming messages answered halfway (half a line / half a body), then the connection is dropped. */
  disconnect: number;
  /** Upcoming answers replaced by text that is not JSON. */
  malformed: number;
  /** Upcoming answers that are valid JSON of the wrong shape (every result replaced by a string). */
  wrongShape: number;
  /** Upcoming HTTP requests answered 503 (HTTP servers only). */
  serverErrors: number;
  lies: Lie[];
}

export function createFaults(): Faults {
  return { latencyMs: 0, stall: 0, disconnect: 0, malformed: 0, wrongShape: 0, serverErrors: 0, lies: [] };
}

/** Consumes one unit of a counter fault; true when it applies to this message. */
export function takeFault(faults: Faults, key: 'stall' | 'disconnect' | 'malformed' | 'wrongShape' | 'serverErrors'): boolean {
  if (faults[key] <= 0) return false;
  faults[key]--;
  return true;
}

/** The amount the server claims for an output (a lie when one is configured). */
export function claimedAmount(faults: Faults, txid: string, vout: number, amount: bigint): bigint {
  return faults.lies.find((l) => l.where === 'utxo' && l.txid === txid && l.vout === vout)?.amount ?? amount;
}

/** The raw transaction the server serves (altered when a raw-tx lie is configured). */
export function servedRaw(faults: Faults, tx: ModelTx): Uint8Array {
  const lies = faults.lies.filter((l) => l.where === 'rawtx' && l.txid === tx.txid);
  if (lies.length === 0) return tx.raw;
  const t = bitcoin.Transaction.fromBuffer(Buffer.from(tx.raw));
  for (const l of lies) t.outs[l.vout]!.value = l.amount;
  return new Uint8Array(t.toBuffer());
}

export interface ServerStats {
  /** Messages received: Electrum lines (a batch is one), HTTP requests. */
  messages: number;
  /** JSON-RPC requests received (batch members counted one by one). */
  requests: number;
  connections: number;
}

export function createStats(): ServerStats {
  return { messages: 0, requests: 0, connections: 0 };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends a response, or half of it before dropping the connection (the `disconnect` fault). */
export function sendOrCut(res: http.ServerResponse, status: number, contentType: string, text: string, disconnect: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  if (disconnect) {
    res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
    return;
  }
  res.end(text);
}

/** Listens on 127.0.0.1 (port 0), counting connections and tracking sockets so close() can drop them; returns the port. */
export async function listenTracked(server: http.Server, stats: ServerStats, sockets: Set<net.Socket>): Promise<number> {
  server.on('connection', (s) => {
    stats.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}
