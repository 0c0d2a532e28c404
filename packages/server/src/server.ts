/**
 * The server process: open the store (migrating it), build the app, start the background jobs,
 * listen, and shut down cleanly on SIGINT/SIGTERM.
 */
import { Redis } from 'ioredis';
import { applyEvmRpcUrls, createContext, createWalletBackendGateway, openStore, parseEvmRpcUrls, type ChainGateway, type EvmRpcUrls, type Store } from '@mofn/service';
import { buildApp, type AppOptions } from './app.ts';
import { startJobs, type Jobs } from './jobs.ts';
import { loadServerKey, webhookSecret } from './secrets.ts';
import type { FastifyInstance } from 'fastify';

/** Options of {@link startServer} (defaults from the environment). */
export interface StartServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** mofn home (SQLite store, server key); default $MOFN_HOME or ~/.mofn. */
  readonly home?: string;
  /** PostgreSQL URL; default $MOFN_DATABASE_URL (SQLite in home when unset). */
  readonly databaseUrl?: string;
  /** PostgreSQL schema (default $MOFN_DATABASE_SCHEMA, else public). */
  readonly databaseSchema?: string;
  /** Redis URL for shared rate limits; default $MOFN_REDIS_URL. */
  readonly redisUrl?: string;
  /** Chain backends; default: each wallet's configured backend (`mofn backend set`, env, public Esplora). */
  readonly gateway?: ChainGateway;
  readonly logger?: AppOptions['logger'];
  readonly rateLimit?: AppOptions['rateLimit'];
  /** Run background jobs (default true). */
  readonly jobs?: boolean;
  readonly webhookIntervalMs?: number;
  /** EVM JSON-RPC endpoints by chain id; default $MOFN_EVM_RPC (`CHAINID=URL,...`). */
  readonly evmRpc?: EvmRpcUrls;
}

/** A listening server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly url: string;
  readonly jobs: Jobs | undefined;
  close(): Promise<void>;
}

/** Starts the coordinator. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const databaseUrl = options.databaseUrl ?? process.env['MOFN_DATABASE_URL'];
  const schema = options.databaseSchema ?? process.env['MOFN_DATABASE_SCHEMA'];
  const store = await openStore(
    databaseUrl !== undefined && databaseUrl !== ''
      ? { url: databaseUrl, ...(schema === undefined || schema === '' ? {} : { schema }) }
      : options.home === undefined
        ? {}
        : { home: options.home },
  );
  const serverKey = loadServerKey(process.env, options.home);
  const redisUrl = options.redisUrl ?? process.env['MOFN_REDIS_URL'];
  const redis = redisUrl !== undefined && redisUrl !== '' ? new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }) : undefined;
  redis?.on('error', () => undefined);
  const gateway = options.gateway ?? createWalletBackendGateway(createContext(store));
  const evmRpc = options.evmRpc ?? parseEvmRpcUrls(process.env['MOFN_EVM_RPC']);
  await applyEvmRpcUrls(createContext(store), evmRpc);
  const app = await buildApp({
    store,
    serverKey,
    gateway,
    evmRpc,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(redis === undefined ? {} : { redis }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
  });
  const jobs =
    options.jobs === false
      ? undefined
      : startJobs({
          ctx: app.mofn.ctx,
          gateway,
          secretFor: (id) => webhookSecret(serverKey, id),
          log: app.log,
          ...(options.webhookIntervalMs === undefined ? {} : { webhookIntervalMs: options.webhookIntervalMs }),
        });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8420 });
  let closed = false;
  return {
    app,
    store,
    url: address,
    jobs,
    async close() {
      if (closed) return;
      closed = true;
      await jobs?.stop();
      await app.close();
      await gateway.close?.();
      redis?.disconnect();
      await store.close();
    },
  };
}
