/**
 * The Electrum backend: the chain-backend port over {@link ElectrumClient}. Every port call made
 * in the same tick shares one JSON-RPC batch, so a wallet scan costs one round trip per round.
 */
import { InvalidInputError } from '@mofn/core';
import type tls from 'node:tls';
import { fromHex, toHex } from '../../tx/bytes.ts';
import { parseTransaction, transactionId } from '../../tx/transaction.ts';
import { BackendError, describeBackend } from '../errors.ts';
import type { ChainBackend, ClaimedUtxo, ScriptChangeListener, ScriptHistoryEntry, TestAcceptResult, TxStatus } from '../port.ts';
import { retryPolicyOf, type RetryOptions } from '../retry.ts';
import { electrumScriptHash } from '../scripthash.ts';
import { assertTxids, shapeReader } from '../shape.ts';
import { parseCheckedTransaction } from '../verify.ts';
import { ElectrumClient, ElectrumRpcError, type ElectrumClientStats, type ElectrumEndpoint } from './client.ts';

/** Options of {@link createElectrumBackend}. */
export interface ElectrumOptions extends RetryOptions {
  /** `ssl://host:port` (or `tls://`) or `tcp://host:port`; or give host/port/tls separately. */
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly tls?: boolean;
  /** Extra TLS options, e.g. `{ ca: pem }` to pin a self-signed server certificate. */
  readonly tlsOptions?: tls.ConnectionOptions;
  /** Largest JSON-RPC batch sent as one message (default 500); lower it for servers with a smaller batch cap. */
  readonly maxBatch?: number;
  /** Client name sent in server.version (default `mofn`). */
  readonly clientName?: string;
}

/** An Electrum backend with the protocol-specific extras. */
export interface ElectrumBackend extends ChainBackend {
  /** Request counters (messages = round trips, handshakes included). */
  readonly stats: Readonly<ElectrumClientStats>;
  /** The negotiated server software and protocol version (after the first request). */
  readonly server: () => { readonly software: string; readonly protocol: string } | undefined;
  /** Calls `listener` with each new tip height (from `blockchain.headers.subscribe`). */
  readonly onTip: (listener: (height: number) => void) => void;
  /** Electrum has no test-accept call. */
  readonly testAccept?: (rawTx: Uint8Array) => Promise<TestAcceptResult>;
  readonly watchScripts: (scripts: readonly Uint8Array[], listener: ScriptChangeListener) => Promise<void>;
}

/**
 * Parses `ssl://host:port`, `tls://host:port` or `tcp://host:port` (also Electrum's `host:port:s` / `host:port:t`).
 * @throws InvalidInputError `backend.bad_url`
 */
export function parseElectrumUrl(url: string): ElectrumEndpoint {
  const short = /^([^:/]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5}):([st])$/.exec(url.trim());
  if (short !== null) return endpointOf(short[1]!.replace(/^\[|\]$/g, ''), Number(short[2]), short[3] === 's', url);
  const m = /^(ssl|tls|tcp):\/\/([^:/[\]]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})\/?$/.exec(url.trim());
  if (m === null) throw new InvalidInputError('backend.bad_url', `Electrum server '${url.slice(0, 100)}' is not ssl://host:port or tcp://host:port`);
  return endpointOf(m[2]!.replace(/^\[|\]$/g, ''), Number(m[3]), m[1] !== 'tcp', url);
}

function endpointOf(host: string, port: number, useTls: boolean, text: string): ElectrumEndpoint {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidInputError('backend.bad_url', `port in '${text.slice(0, 100)}' must be 1..65535`);
  return { host, port, tls: useTls };
}

const NOT_FOUND = /not found|no such|unknown transaction|missing/i;

/**
 * Creates an Electrum backend. The connection opens on the first request.
 * @throws InvalidInputError `backend.bad_url`, `backend.bad_option`
 * @example const backend = createElectrumBackend({ url: 'ssl://electrum.blockstream.info:60002' });
 */
export function createElectrumBackend(options: ElectrumOptions): ElectrumBackend {
  const policy = retryPolicyOf(options);
  const parsed = options.url !== undefined ? parseElectrumUrl(options.url) : endpointOf(options.host ?? '', options.port ?? 0, options.tls ?? true, `${options.host ?? ''}:${options.port ?? ''}`);
  if (parsed.host === '') throw new InvalidInputError('backend.bad_url', 'an Electrum backend needs a url or a host');
  const endpoint: ElectrumEndpoint = options.tlsOptions === undefined ? parsed : { ...parsed, tlsOptions: options.tlsOptions };
  const maxBatch = options.maxBatch ?? 500;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new InvalidInputError('backend.bad_option', `maxBatch ${String(maxBatch)} must be a positive integer`);

  const tipListeners: ((height: number) => void)[] = [];
  // Watched scripts by script hash, with the last status seen (null: no history).
  const watched = new Map<string, { script: Uint8Array; status: string | null; listeners: ScriptChangeListener[] }>();

  const client: ElectrumClient = new ElectrumClient({
    endpoint,
    policy,
    maxBatch,
    clientName: options.clientName ?? 'mofn',
    onNotification: (method, params) => {
      if (method === 'blockchain.headers.subscribe' && Array.isArray(params)) setTip(params[0]);
      if (method === 'blockchain.scripthash.subscribe' && Array.isArray(params) && typeof params[0] === 'string') statusChanged(params[0], params[1]);
    },
    onReady: () => {
      // Subscriptions live and die with the connection: renew them; a status that moved while we
      // were away is reported like a notification.
      client.call('blockchain.headers.subscribe', []).then(setTip, () => undefined);
      for (const [hash] of watched) client.call('blockchain.scripthash.subscribe', [hash]).then((s) => statusChanged(hash, s), () => undefined);
    },
  });
  const label = client.label;
  const name = describeBackend(label);

  function setTip(header: unknown): void {
    if (typeof header !== 'object' || header === null) return;
    const height = (header as Record<string, unknown>)['height'];
    if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) return;
    for (const l of tipListeners) l(height);
  }

  function statusChanged(hash: string, status: unknown): void {
    const w = watched.get(hash);
    if (w === undefined || (status !== null && typeof status !== 'string')) return;
    if (w.status === status) return;
    w.status = status;
    for (const l of w.listeners) l(w.script);
  }

  async function getTipHeight(): Promise<number> {
    // Always asked, not read from the subscription: a notification may still be on its way.
    const result = await client.call('blockchain.headers.subscribe', []);
    const r = shapeReader(label, 'blockchain.headers.subscribe');
    const height = r.integer(r.object(result, 'a header')['height'], 'header.height');
    return height;
  }

  async function getHistories(scripts: readonly Uint8Array[]): Promise<ScriptHistoryEntry[][]> {
    const results = await Promise.all(scripts.map((s) => client.call('blockchain.scripthash.get_history', [electrumScriptHash(s)])));
    return results.map((result) => {
      const r = shapeReader(label, 'blockchain.scripthash.get_history');
      return r.array(result, 'a history').map((item, i) => {
        const h = r.object(item, `entry ${i}`);
        // Height 0: in the mempool; -1: in the mempool with unconfirmed parents. The port says 0 for both.
        const height = r.integer(h['height'], `entry ${i}.height`, -1);
        return { txid: r.txid(h['tx_hash'], `entry ${i}.tx_hash`), height: Math.max(0, height) };
      });
    });
  }

  async function getUtxos(scripts: readonly Uint8Array[]): Promise<ClaimedUtxo[][]> {
    const results = await Promise.all(scripts.map((s) => client.call('blockchain.scripthash.listunspent', [electrumScriptHash(s)])));
    return results.map((result) => {
      const r = shapeReader(label, 'blockchain.scripthash.listunspent');
      return r.array(result, 'a UTXO list').map((item, i) => {
        const u = r.object(item, `UTXO ${i}`);
        return {
          txid: r.txid(u['tx_hash'], `UTXO ${i}.tx_hash`),
          vout: r.integer(u['tx_pos'], `UTXO ${i}.tx_pos`),
          amount: r.sats(u['value'], `UTXO ${i}.value`),
          height: Math.max(0, r.integer(u['height'], `UTXO ${i}.height`, -1)),
        };
      });
    });
  }

  function fetchRaw(txid: string): Promise<Uint8Array> {
    return client.call('blockchain.transaction.get', [txid, false]).then(
      (result) => {
        const raw = fromHex(shapeReader(label, `blockchain.transaction.get ${txid}`).hex(result, 'a result'));
        parseCheckedTransaction(label, txid, raw);
        return raw;
      },
      (err: unknown) => {
        if (err instanceof BackendError && err.cause instanceof ElectrumRpcError && NOT_FOUND.test(err.cause.message)) {
          throw new BackendError('backend.not_found', `${name} does not know transaction ${txid}: ${err.cause.message}`, { details: { backend: 'electrum', endpoint: label.endpoint, txid }, cause: err });
        }
        throw err;
      },
    );
  }

  async function getTransactionStatuses(txids: readonly string[]): Promise<TxStatus[]> {
    const ids = assertTxids(txids);
    // Electrum has no status-by-txid call that every server implements (verbose transaction.get
    // needs bitcoind behind the server): look the transaction up in the history of one of its outputs.
    const [tipHeight, raws] = await Promise.all([getTipHeight(), Promise.all(
        ids.map((t) =>
          fetchRaw(t).catch((err: unknown) => {
            if (err instanceof BackendError && err.code === 'backend.not_found') return undefined;
            throw err;
          }),
        ),
      )]);
    const probes = raws.map((raw) => (raw === undefined ? undefined : parseTransaction(raw).outputs.find((o) => o.script[0] !== 0x6a)?.script));
    const withProbe = probes.flatMap((p, i) => (p === undefined ? [] : [{ i, script: p }]));
    const histories = await getHistories(withProbe.map((p) => p.script));
    const out: TxStatus[] = ids.map(() => ({ state: 'unknown' }));
    withProbe.forEach(({ i }, k) => {
      const entry = histories[k]!.find((h) => h.txid === ids[i]);
      if (entry === undefined) return;
      out[i] = entry.height === 0 ? { state: 'mempool' } : { state: 'confirmed', blockHeight: entry.height, confirmations: Math.max(1, tipHeight - entry.height + 1) };
    });
    return out;
  }

  async function estimateFee(targetBlocks: number): Promise<number> {
    if (!Number.isInteger(targetBlocks) || targetBlocks < 1) throw new InvalidInputError('backend.bad_option', `target ${String(targetBlocks)} must be a positive number of blocks`);
    const btcPerKb = shapeReader(label, 'blockchain.estimatefee').number(await client.call('blockchain.estimatefee', [targetBlocks]), 'a result');
    if (btcPerKb <= 0) throw new BackendError('backend.fee_unavailable', `${name} has no fee estimate for ${targetBlocks} blocks`);
    // BTC per 1000 vbytes -> sat per vbyte.
    return Math.round(btcPerKb * 1e8) / 1000;
  }

  async function broadcast(rawTx: Uint8Array): Promise<string> {
    const txid = transactionId(parseTransaction(rawTx));
    let result: unknown;
    try {
      result = await client.call('blockchain.transaction.broadcast', [toHex(rawTx)]);
    } catch (err) {
      if (err instanceof BackendError && err.cause instanceof ElectrumRpcError) {
        throw new BackendError('backend.rejected', `${name} rejected transaction ${txid}: ${err.cause.message}`, {
          details: { backend: 'electrum', endpoint: label.endpoint, txid, reason: err.cause.message },
          cause: err,
        });
      }
      throw err;
    }
    // Protocol < 1.1 servers answered a rejection as the result string.
    if (typeof result !== 'string' || result.toLowerCase() !== txid) {
      throw new BackendError('backend.rejected', `${name} rejected transaction ${txid}: ${JSON.stringify(result).slice(0, 300)}`, { details: { backend: 'electrum', endpoint: label.endpoint, txid } });
    }
    return txid;
  }

  async function watchScripts(scripts: readonly Uint8Array[], listener: ScriptChangeListener): Promise<void> {
    const hashes = scripts.map((s) => {
      const hash = electrumScriptHash(s);
      const w = watched.get(hash);
      if (w === undefined) watched.set(hash, { script: s.slice(), status: null, listeners: [listener] });
      else if (!w.listeners.includes(listener)) w.listeners.push(listener);
      return hash;
    });
    const statuses = await Promise.all(hashes.map((h) => client.call('blockchain.scripthash.subscribe', [h])));
    const r = shapeReader(label, 'blockchain.scripthash.subscribe');
    statuses.forEach((s, i) => {
      // The first status is the baseline, not a change.
      watched.get(hashes[i]!)!.status = s === null ? null : r.hex(s, 'a status');
    });
  }

  return Object.freeze({
    label,
    stats: client.stats,
    server: () => client.server,
    onTip: (listener: (height: number) => void) => {
      tipListeners.push(listener);
    },
    getHistories,
    getUtxos,
    getTransactions: async (txids: readonly string[]) => Promise.all(assertTxids(txids).map(fetchRaw)),
    getTransactionStatuses,
    getTipHeight,
    estimateFee,
    broadcast,
    watchScripts,
    close: () => {
      client.close();
      return Promise.resolve();
    },
  });
}
