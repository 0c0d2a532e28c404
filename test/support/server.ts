/**
 * A coordinator on 127.0.0.1 for tests, over SQLite (a temp MOFN_HOME) or PostgreSQL (a fresh schema
 * of MOFN_TEST_PG_URL's database), plus a small JSON client. The test that starts one closes it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createContext, createToken, createUser, openStore, type ChainGateway, type Store } from '@mofn/service';
import { buildApp, startJobs, webhookSecret, type Jobs } from '@mofn/server';
import type { FastifyInstance } from 'fastify';

export type StoreKind = 'sqlite' | 'postgres';

export interface TestServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly serverKey: Uint8Array;
  readonly jobs: Jobs;
  /** Creates a user (server admin when asked) and returns a token for it. */
  user(name: string, admin?: boolean): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly kind: StoreKind;
  readonly gateway?: ChainGateway;
  /** Shares a store location with another instance (PostgreSQL schema, or SQLite home). */
  readonly shareWith?: TestServer;
  readonly serverKey?: Uint8Array;
  readonly rateLimit?: { perToken?: number; perIp?: number; windowMs?: number };
  readonly bodyLimit?: number;
  readonly now?: () => Date;
  readonly webhookIntervalMs?: number;
  /** EVM JSON-RPC endpoints by chain id (Safes). */
  readonly evmRpc?: Readonly<Record<number, string>>;
}

const schemas = new Map<Store, string>();
const homes = new Map<Store, string>();

/** A unique PostgreSQL schema name for one test server. */
function newSchema(): string {
  return `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Opens the store of a test server. */
export async function openTestStore(kind: StoreKind, share?: Store): Promise<Store> {
  if (kind === 'postgres') {
    const url = process.env['MOFN_TEST_PG_URL'];
    if (url === undefined || url === '') throw new Error('MOFN_TEST_PG_URL is not set');
    const schema = share === undefined ? newSchema() : schemas.get(share)!;
    const store = await openStore({ url, schema, poolSize: 20 });
    schemas.set(store, schema);
    return store;
  }
  const home = share === undefined ? mkdtempSync(join(tmpdir(), 'mofn-srv-')) : homes.get(share)!;
  const store = await openStore({ home });
  homes.set(store, home);
  return store;
}

/** Drops what a test store left behind (PostgreSQL schema or SQLite folder). */
export async function dropTestStore(store: Store): Promise<void> {
  const schema = schemas.get(store);
  const home = homes.get(store);
  await store.close();
  if (schema !== undefined) {
    const client = new pg.Client({ connectionString: process.env['MOFN_TEST_PG_URL'] });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
}

/** Starts a coordinator on 127.0.0.1 (random port). */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const store = await openTestStore(options.kind, options.shareWith?.store);
  const serverKey = options.serverKey ?? options.shareWith?.serverKey ?? randomBytes(32);
  const app = await buildApp({
    store,
    serverKey,
    logger: false,
    ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
    ...(options.rateLimit === undefined ? { rateLimit: { perToken: 100_000, perIp: 100_000 } } : { rateLimit: options.rateLimit }),
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.evmRpc === undefined ? {} : { evmRpc: options.evmRpc }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const jobs = startJobs({ ctx: app.mofn.ctx, gateway: options.gateway, secretFor: (id) => webhookSecret(serverKey, id), log: app.log, webhookIntervalMs: options.webhookIntervalMs ?? 50, chainIntervalMs: 3_600_000 });
  const ctx = createContext(store);
  let closed = false;
  return {
    url,
    app,
    store,
    serverKey,
    jobs,
    async user(name, admin = false) {
      const u = await createUser(ctx, { name, isAdmin: admin });
      const t = await createToken(ctx, u.id, 'test');
      return { id: u.id, token: t.token };
    },
    async close() {
      if (closed) return;
      closed = true;
      await jobs.stop();
      await app.close();
      if (options.shareWith === undefined) await dropTestStore(store);
      else await store.close();
    },
  };
}

/** A JSON response. */
export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** A minimal JSON client bound to a server and a token. */
export function client(baseUrl: string, token?: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    delete: <T = any>(path: string, headers?: Record<string, string>) => call<T>('DELETE', path, undefined, headers),
    call,
  };
}
