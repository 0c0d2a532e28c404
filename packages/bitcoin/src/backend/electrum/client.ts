/**
 * An Electrum-protocol client (ElectrumX, Fulcrum, electrs): line-delimited JSON-RPC 2.0 over TCP
 * or TLS. Requests made in the same tick go out as one JSON array batch (one round trip); a
 * dropped or stalled connection is re-opened and every unanswered request sent again, with
 * exponential backoff, until the retries run out.
 */
import net from 'node:net';
import tls from 'node:tls';
import { BackendError, describeBackend, networkErrorCode, type BackendLabel } from '../errors.ts';
import { backoffDelay, type RetryPolicy } from '../retry.ts';

/** Where and how to connect. */
export interface ElectrumEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Extra TLS options (a pinned `ca`, `rejectUnauthorized: false` for a self-signed server you trust...). */
  readonly tlsOptions?: tls.ConnectionOptions;
}

/** Settings of an {@link ElectrumClient}. */
export interface ElectrumClientOptions {
  readonly endpoint: ElectrumEndpoint;
  readonly policy: RetryPolicy;
  /** Largest JSON-RPC batch sent at once; bigger groups are split (servers cap batches). */
  readonly maxBatch: number;
  /** Client name sent in `server.version`. */
  readonly clientName: string;
  /** Called for server notifications (`blockchain.headers.subscribe`, `blockchain.scripthash.subscribe`). */
  readonly onNotification: (method: string, params: unknown) => void;
  /** Called after each (re)connection's version handshake, to renew subscriptions. */
  readonly onReady: () => void;
}

/** Counters for tests and benchmarks. */
export interface ElectrumClientStats {
  /** Messages (single requests or batches) written, handshakes included. */
  messages: number;
  /** Requests written, re-sent ones included. */
  requests: number;
  /** Connections opened. */
  connections: number;
}

interface Pending {
  readonly id: number;
  readonly method: string;
  readonly params: readonly unknown[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** Connection failures this request has lived through. */
  failures: number;
}

/** The protocol version mofn speaks (1.4: scripthash methods, no address methods). */
export const ELECTRUM_PROTOCOL = '1.4';
// A batch of large transactions can be a long line; beyond this the server is not talking Electrum.
const MAX_LINE = 64 * 1024 * 1024;

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (Number.isNaN(x)) return false;
    if (x !== y) return x > y;
  }
  return true;
}

/** A JSON-RPC error object answered by the server, kept as the cause of the BackendError built from it. */
export class ElectrumRpcError extends Error {
  override name = 'ElectrumRpcError';
  constructor(
    readonly method: string,
    readonly rpcCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** See the module comment. */
export class ElectrumClient {
  readonly label: BackendLabel;
  readonly stats: ElectrumClientStats = { messages: 0, requests: 0, connections: 0 };
  /** The server's software and protocol version, once negotiated. */
  server: { software: string; protocol: string } | undefined;

  private readonly name: string;
  private socket: net.Socket | undefined;
  private ready = false;
  private connecting: Promise<void> | undefined;
  private buffer = '';
  private nextId = 1;
  private readonly inflight = new Map<number, Pending>();
  private readonly handshake = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly batchTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: ElectrumClientOptions) {
    const { host, port } = options.endpoint;
    this.label = Object.freeze({ kind: 'electrum', endpoint: `${options.endpoint.tls ? 'ssl' : 'tcp'}://${host.includes(':') ? `[${host}]` : host}:${port}` });
    this.name = describeBackend(this.label);
  }

  /**
   * Sends one request (batched with the others of this tick) and resolves with its `result`.
   * @throws BackendError `backend.timeout` / `backend.unreachable` once retries run out, `backend.request_failed`
   *   for a JSON-RPC error (cause: {@link ElectrumRpcError}), `backend.malformed_response`, `backend.closed`
   */
  call(method: string, params: readonly unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new BackendError('backend.closed', `${this.name} is closed`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, method, params, resolve, reject, failures: 0 });
      this.scheduleFlush();
    });
  }

  /** Closes the connection; outstanding requests fail with `backend.closed`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new BackendError('backend.closed', `${this.name} was closed`);
    for (const p of [...this.inflight.values(), ...this.queue]) p.reject(err);
    for (const h of this.handshake.values()) h.reject(err);
    this.inflight.clear();
    this.handshake.clear();
    this.queue = [];
    this.teardown();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: callers awaiting several port methods in Promise.all issue
    // their requests across a few microtask turns, and should still share one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.closed || this.queue.length === 0 || this.reconnectTimer !== undefined) return;
    if (!this.ready) {
      try {
        await this.connect();
      } catch {
        return; // connectionLost has already counted the failure and scheduled what comes next
      }
      if (this.closed || !this.ready) return;
    }
    const batch = this.queue.splice(0);
    for (let i = 0; i < batch.length; i += this.options.maxBatch) this.send(batch.slice(i, i + this.options.maxBatch));
  }

  private send(chunk: Pending[]): void {
    const socket = this.socket!;
    const bodies = chunk.map((p) => ({ jsonrpc: '2.0', id: p.id, method: p.method, params: p.params }));
    for (const p of chunk) this.inflight.set(p.id, p);
    this.stats.messages++;
    this.stats.requests += chunk.length;
    socket.write(`${JSON.stringify(bodies.length === 1 ? bodies[0] : bodies)}\n`);
    const timer = setTimeout(() => {
      this.batchTimers.delete(timer);
      if (chunk.some((p) => this.inflight.has(p.id))) {
        const what = chunk.length === 1 ? chunk[0]!.method : `a batch of ${chunk.length} requests (${chunk[0]!.method}, ...)`;
        this.connectionLost(new BackendError('backend.timeout', `${this.name} did not answer ${what} within ${this.options.policy.timeoutMs} ms`, { transient: true }));
      }
    }, this.options.policy.timeoutMs);
    this.batchTimers.add(timer);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<void> {
    const { endpoint, policy } = this.options;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let versionTimer: NodeJS.Timeout | undefined;
      const fail = (err: BackendError): void => {
        clearTimeout(connectTimer);
        clearTimeout(versionTimer);
        if (!settled) {
          settled = true;
          reject(err);
        }
        // Only this attempt's socket: a stale timer must not kill a newer connection.
        if (this.socket === socket) this.connectionLost(err);
      };
      this.stats.connections++;
      const socket = endpoint.tls
        ? tls.connect({ host: endpoint.host, port: endpoint.port, ...(net.isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}), ...endpoint.tlsOptions })
        : net.connect({ host: endpoint.host, port: endpoint.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      const connectTimer = setTimeout(
        () => fail(new BackendError('backend.timeout', `${this.name}: connecting took longer than ${policy.timeoutMs} ms`, { transient: true })),
        policy.timeoutMs,
      );
      socket.on('data', (chunk: string) => {
        if (this.socket === socket) this.onData(chunk);
      });
      socket.on('error', (err: Error) => {
        if (this.socket !== socket) return;
        const code = networkErrorCode(err);
        const isTls = endpoint.tls && code === undefined;
        fail(
          new BackendError('backend.unreachable', `${this.name}: ${isTls ? 'TLS failed' : 'connection failed'}${code === undefined ? '' : ` (${code})`}: ${err.message}`, {
            details: { backend: 'electrum', endpoint: this.label.endpoint, ...(code === undefined ? {} : { networkCode: code }) },
            hint: isTls ? "check the server's certificate (pass a pinned `ca` for a self-signed one) or use tcp://" : 'check the host and port, or configure another backend',
            // A certificate error will not cure itself; a refused or reset connection may.
            transient: !isTls,
            cause: err,
          }),
        );
      });
      socket.on('close', () => {
        if (this.socket !== socket) return;
        fail(new BackendError('backend.unreachable', `${this.name} closed the connection`, { transient: true }));
      });
      socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(connectTimer);
        // The protocol requires server.version as the first message of a session.
        const id = this.nextId++;
        versionTimer = setTimeout(
          () => fail(new BackendError('backend.timeout', `${this.name} did not answer server.version within ${policy.timeoutMs} ms`, { transient: true })),
          policy.timeoutMs,
        );
        this.handshake.set(id, {
          resolve: (result) => {
            clearTimeout(versionTimer);
            const version = this.checkVersion(result);
            if (version instanceof BackendError) {
              fail(version);
              return;
            }
            this.server = version;
            this.ready = true;
            settled = true;
            this.options.onReady();
            resolve();
          },
          reject: (err) => {
            clearTimeout(versionTimer);
            fail(err instanceof BackendError ? err : new BackendError('backend.unreachable', `${this.name}: version negotiation failed`, { cause: err }));
          },
        });
        this.stats.messages++;
        this.stats.requests++;
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method: 'server.version', params: [this.options.clientName, ELECTRUM_PROTOCOL] })}\n`);
      });
    });
  }

  private checkVersion(result: unknown): { software: string; protocol: string } | BackendError {
    if (!Array.isArray(result) || typeof result[0] !== 'string' || typeof result[1] !== 'string') {
      return new BackendError('backend.malformed_response', `${this.name} answered server.version with ${JSON.stringify(result).slice(0, 80)}, not [software, protocol]`);
    }
    const [software, protocol] = result as [string, string];
    if (!versionAtLeast(protocol, ELECTRUM_PROTOCOL)) {
      return new BackendError('backend.unsupported', `${this.name} (${software}) speaks Electrum protocol ${protocol}; mofn needs ${ELECTRUM_PROTOCOL} or later`, {
        hint: 'upgrade the server (ElectrumX 1.14+, Fulcrum, electrs) or use another backend',
      });
    }
    return { software, protocol };
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.onLine(line);
      if (this.socket === undefined) return; // the line tore the connection down
    }
    if (this.buffer.length > MAX_LINE) this.malformed(`a line longer than ${MAX_LINE} bytes`);
  }

  private onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.malformed(`a line that is not JSON: '${line.slice(0, 60)}'`);
      return;
    }
    for (const m of Array.isArray(message) ? (message as unknown[]) : [message]) {
      if (!this.onMessage(m)) {
        this.malformed(`a message that is neither a response nor a notification: '${JSON.stringify(m).slice(0, 60)}'`);
        return;
      }
    }
  }

  /** Dispatches one JSON-RPC message; false when it has no recognisable shape. */
  private onMessage(m: unknown): boolean {
    if (typeof m !== 'object' || m === null) return false;
    const msg = m as Record<string, unknown>;
    if (typeof msg['method'] === 'string' && msg['id'] === undefined) {
      this.options.onNotification(msg['method'], msg['params']);
      return true;
    }
    const id = msg['id'];
    if (typeof id !== 'number') return false;
    const hasError = msg['error'] !== undefined && msg['error'] !== null;
    if (!hasError && !('result' in msg)) return false;
    const error = hasError ? this.rpcError(msg['error'], id) : undefined;
    const h = this.handshake.get(id);
    if (h !== undefined) {
      this.handshake.delete(id);
      if (error !== undefined) h.reject(new BackendError('backend.unsupported', `${this.name} refused server.version: ${error.message}`, { cause: error }));
      else h.resolve(msg['result']);
      return true;
    }
    const p = this.inflight.get(id);
    if (p === undefined) return true; // late answer to a request already re-sent or failed
    this.inflight.delete(id);
    if (error !== undefined) {
      p.reject(
        new BackendError('backend.request_failed', `${this.name} refused ${p.method}: ${error.message}`, {
          details: { backend: 'electrum', endpoint: this.label.endpoint, method: p.method, ...(error.rpcCode === undefined ? {} : { rpcCode: error.rpcCode }) },
          cause: error,
        }),
      );
    } else {
      p.resolve(msg['result']);
    }
    return true;
  }

  private rpcError(error: unknown, id: number): ElectrumRpcError {
    const method = this.inflight.get(id)?.method ?? 'server.version';
    if (typeof error === 'object' && error !== null) {
      const e = error as Record<string, unknown>;
      const code = typeof e['code'] === 'number' ? e['code'] : undefined;
      return new ElectrumRpcError(method, code, typeof e['message'] === 'string' ? e['message'].slice(0, 500) : JSON.stringify(error).slice(0, 200));
    }
    return new ElectrumRpcError(method, undefined, String(error).slice(0, 500));
  }

  /** The server sent something that is not Electrum: fail what is in flight (no retry) and drop the connection. */
  private malformed(what: string): void {
    const err = new BackendError('backend.malformed_response', `${this.name} sent ${what}`, {
      details: { backend: 'electrum', endpoint: this.label.endpoint },
      hint: 'the server is misbehaving or not an Electrum server; check the host and port, or use another backend',
    });
    for (const p of this.inflight.values()) p.reject(err);
    this.inflight.clear();
    for (const h of this.handshake.values()) h.reject(err);
    this.handshake.clear();
    this.teardown();
    if (this.queue.length > 0) this.scheduleFlush();
  }

  private teardown(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.ready = false;
    this.buffer = '';
    for (const t of this.batchTimers) clearTimeout(t);
    this.batchTimers.clear();
    socket?.destroy();
  }

  /**
   * The connection failed (refused, reset, closed, stalled): every unanswered request goes back in
   * the queue, or fails with `reason` once it has lived through more failures than retries allow.
   */
  private connectionLost(reason: BackendError): void {
    this.teardown();
    for (const h of this.handshake.values()) h.reject(reason);
    this.handshake.clear();
    const outstanding = [...this.inflight.values(), ...this.queue].sort((a, b) => a.id - b.id);
    this.inflight.clear();
    this.queue = [];
    const retries = this.options.policy.retries;
    let worst = 0;
    for (const p of outstanding) {
      p.failures++;
      if (!reason.transient || p.failures > retries) {
        p.reject(
          new BackendError(reason.code, `${reason.message} (${p.method}: gave up after ${p.failures} attempt${p.failures === 1 ? '' : 's'})`, {
            ...(reason.details === undefined ? {} : { details: reason.details }),
            ...(reason.hint === undefined ? {} : { hint: reason.hint }),
            cause: reason,
          }),
        );
      } else {
        this.queue.push(p);
        worst = Math.max(worst, p.failures);
      }
    }
    if (this.queue.length > 0 && !this.closed && this.reconnectTimer === undefined) {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        void this.flush();
      }, backoffDelay(this.options.policy, worst));
    }
  }
}
