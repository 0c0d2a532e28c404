import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, sql, type CompiledQuery, type DatabaseConnection, type Driver, type QueryCompiler, type QueryResult, type SqliteDialectConfig } from 'kysely';
import pg from 'pg';
import { InvalidInputError, MofnError } from '@mofn/core';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

/** Which database engine a store runs on: a few statements (row locks) differ. */
export type StoreKind = 'sqlite' | 'postgres';

/** An open store: the kysely handle plus a close function. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** Where the store lives (file path, `:memory:`, or the PostgreSQL URL without its password). */
  readonly location: string;
  close(): Promise<void>;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** mofn's home folder; defaults to `$MOFN_HOME` or `~/.mofn`. */
  readonly home?: string;
  /** Explicit SQLite file (or `:memory:`), overriding `home`. */
  readonly file?: string;
  /** A `postgres://` URL; defaults to `$MOFN_DATABASE_URL` when neither `file` nor `home` is given. */
  readonly url?: string;
  /** PostgreSQL schema to use (created if missing); tests isolate themselves with it. Default `public`. */
  readonly schema?: string;
  /** PostgreSQL pool size (default 10). */
  readonly poolSize?: number;
}

/** The mofn home folder: `$MOFN_HOME`, else `~/.mofn`. */
export function defaultHome(): string {
  return process.env['MOFN_HOME'] ?? join(homedir(), '.mofn');
}

/** A URL safe to print: the password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

async function migrate(db: Kysely<Database>, location: string, schema?: string): Promise<void> {
  // kysely looks for its bookkeeping tables in every schema unless told which one is ours.
  const { error } = await new Migrator({ db, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new MofnError('store.migration_failed', `could not migrate the store at ${location}`, { cause: error });
  }
}

async function openPostgres(url: string, options: OpenStoreOptions): Promise<Store> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new InvalidInputError('store.bad_url', `'${redactUrl(url)}' is not a PostgreSQL URL`, { hint: 'write postgres://USER[:PASSWORD]@HOST:PORT/DATABASE' });
  }
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new InvalidInputError('store.bad_schema', `schema name '${schema.slice(0, 70)}' is not a plain lowercase identifier`);
  const location = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    ...(schema === 'public' ? {} : { options: `-c search_path=${schema}` }),
  });
  // A failing idle client must not crash the process: the next query reports the problem.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      if (schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end();
    throw new MofnError('store.unreachable', `cannot connect to PostgreSQL at ${location}: ${(e as Error).message.replace(url, location)}`, {
      hint: 'check MOFN_DATABASE_URL and that the server is running',
    });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, location, schema);
  return { db, kind: 'postgres', location, close: () => db.destroy() };
}

/**
 * Opens (creating if needed) the store and runs pending migrations: PostgreSQL when `url` (or, with
 * no explicit location, `$MOFN_DATABASE_URL`) is set, else SQLite in `home`.
 * SQLite runs in WAL mode, and a commit survives a crash or power loss once it returns: the store
 * fsyncs the WAL itself before answering (synchronous=NORMAL plus WalSyncedDriver; FULL in memory).
 * @throws MofnError `store.migration_failed`, `store.unreachable`; InvalidInputError `store.bad_url`.
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const url = options.url ?? (options.file === undefined && options.home === undefined ? process.env['MOFN_DATABASE_URL'] : undefined);
  if (url !== undefined && url !== '') return openPostgres(url, options);
  let file = options.file;
  if (file === undefined) {
    const home = options.home ?? defaultHome();
    mkdirSync(home, { recursive: true, mode: 0o700 });
    file = join(home, 'mofn.db');
  }
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const wal = file === ':memory:' ? undefined : walFile(`${file}-wal`);
  // With the WAL flushed by WalSyncedDriver after every commit, SQLite's own fsync (FULL) would only block the event loop.
  sqlite.pragma(wal === undefined ? 'synchronous = FULL' : 'synchronous = NORMAL');
  const database = withStatementCache(sqlite);
  const db = new Kysely<Database>({
    dialect: wal === undefined ? new SqliteDialect({ database }) : new WalSyncedDialect(database, () => sqlite.inTransaction, () => wal.sync()),
  });
  await migrate(db, file);
  return {
    db,
    kind: 'sqlite',
    location: file,
    close: async () => {
      await db.destroy();
      await wal?.close();
    },
  };
}

/**
 * The write-ahead log of a SQLite file, opened when first flushed (SQLite creates it with the first
 * write). Flushes coalesce: a caller arriving while an fsync runs waits for the next one, which starts
 * after the running one ends and so covers every frame written before the caller asked; all callers
 * that arrive meanwhile share it.
 */
function walFile(path: string): { sync(): Promise<void>; close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const fsync = async (): Promise<void> => {
    handle ??= open(path, 'r');
    try {
      await (await handle).sync();
    } catch (e) {
      handle = undefined;
      // No log yet means nothing was written through it; anything else is a failed flush.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  const start = (): Promise<void> => {
    const flush = fsync().finally(() => {
      running = undefined;
    });
    running = flush;
    return flush;
  };
  return {
    sync() {
      if (running === undefined) return start();
      next ??= running.catch(() => undefined).then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
    async close() {
      await (await handle?.catch(() => undefined))?.close();
    },
  };
}

/**
 * SQLite's commits, made durable without blocking the event loop. With synchronous=FULL every COMMIT
 * waits for the disk on the main thread (better-sqlite3 is synchronous), stalling every request in
 * flight. Here SQLite runs with synchronous=NORMAL (WAL mode: safe from corruption, but a commit may
 * not yet be on disk), and after each statement that leaves the connection outside a transaction (a
 * COMMIT, or a write on its own) this driver fsyncs the WAL on libuv's thread pool before the caller
 * sees the result. The commit's frames were written before the fsync began, so a change anyone was
 * told about is as durable as with FULL.
 *
 * The single connection is leased with this driver's own lock (kysely's is taken once at start and
 * never given back). A COMMIT is the last statement of its lease, so the lease ends right after it and
 * the next caller works while the disk does; the committer is answered only after the flush (a
 * statement on an ended lease throws rather than run outside its turn). Readers
 * may so see a commit a few hundred microseconds before it is on disk, never a writer's answer: any
 * later commit's flush covers every frame before it, including the ones it read.
 */
class WalSyncedDriver implements Driver {
  readonly #sqlite: SqliteDriver;
  readonly #inTransaction: () => boolean;
  readonly #sync: () => Promise<void>;
  #connection: DatabaseConnection | undefined;
  #locked = false;
  #holder: DatabaseConnection | undefined;
  readonly #waiting: (() => void)[] = [];
  constructor(config: SqliteDialectConfig, inTransaction: () => boolean, sync: () => Promise<void>) {
    this.#sqlite = new SqliteDriver(config);
    this.#inTransaction = inTransaction;
    this.#sync = sync;
  }
  async init(): Promise<void> {
    await this.#sqlite.init();
    this.#connection = await this.#sqlite.acquireConnection();
  }
  beginTransaction(lease: DatabaseConnection): Promise<void> {
    return this.#sqlite.beginTransaction(lease);
  }
  commitTransaction(lease: DatabaseConnection): Promise<void> {
    return this.#sqlite.commitTransaction(lease);
  }
  rollbackTransaction(lease: DatabaseConnection): Promise<void> {
    return this.#sqlite.rollbackTransaction(lease);
  }
  savepoint(lease: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#sqlite.savepoint(lease, name, compile);
  }
  rollbackToSavepoint(lease: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#sqlite.rollbackToSavepoint(lease, name, compile);
  }
  releaseSavepoint(lease: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#sqlite.releaseSavepoint(lease, name, compile);
  }
  destroy(): Promise<void> {
    return this.#sqlite.destroy();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = this.#connection;
    if (connection === undefined) throw new Error('the SQLite driver is not initialised');
    // A released lock passes straight to the next waiter (#locked stays set), so nobody slips in between.
    if (this.#locked) await new Promise<void>((resume) => this.#waiting.push(resume));
    this.#locked = true;
    const lease: DatabaseConnection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        if (this.#holder !== lease) throw new Error('a statement after its connection lease ended');
        const wasInTransaction = this.#inTransaction();
        const result = await connection.executeQuery<R>(query);
        if (query.query.kind === 'SelectQueryNode' || this.#inTransaction()) return result;
        // A commit or rollback is the last statement of its lease: hand the connection on, then (after a
        // commit) wait for the disk. A write on its own may be followed by more on the same lease
        // (kysely's migrator runs DDL so), which keeps the connection through its flush.
        if (wasInTransaction) this.#release(lease);
        if (!(wasInTransaction && query.sql === 'rollback')) await this.#sync();
        return result;
      },
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => connection.streamQuery<R>(query, chunkSize),
    };
    this.#holder = lease;
    return lease;
  }
  releaseConnection(lease: DatabaseConnection): Promise<void> {
    this.#release(lease);
    return Promise.resolve();
  }
  #release(lease: DatabaseConnection): void {
    if (this.#holder !== lease) return;
    this.#holder = undefined;
    const next = this.#waiting.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}

class WalSyncedDialect extends SqliteDialect {
  readonly #driver: () => WalSyncedDriver;
  constructor(database: SqliteDialectConfig['database'], inTransaction: () => boolean, sync: () => Promise<void>) {
    super({ database });
    this.#driver = () => new WalSyncedDriver({ database }, inTransaction, sync);
  }
  override createDriver(): Driver {
    return this.#driver();
  }
}

/**
 * kysely prepares every query afresh; compiling the SQL costs more than running it for the small
 * statements the coordinator issues, and the same few hundred texts recur. A prepared statement is
 * reusable (SQLite re-prepares it itself after a schema change), so they are kept by text.
 */
function withStatementCache(sqlite: SqliteDatabase.Database): { close(): void; prepare(sql: string): SqliteDatabase.Statement } {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = sqlite.prepare(text);
        // Queries built with varying IN-lists make unbounded texts: start over rather than grow.
        if (cache.size >= 1000) cache.clear();
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** True when the store answers a trivial query (readiness probe). */
export async function pingStore(store: Pick<Store, 'db'>): Promise<boolean> {
  try {
    await sql`select 1`.execute(store.db);
    return true;
  } catch {
    return false;
  }
}
