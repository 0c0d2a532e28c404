import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { MofnError } from '@mofn/core';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

/** An open store: the kysely handle plus a close function. */
export interface Store {
  readonly db: Kysely<Database>;
  /** Where the store lives (file path, or `:memory:`). */
  readonly location: string;
  close(): Promise<void>;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** mofn's home folder; defaults to `$MOFN_HOME` or `~/.mofn`. */
  readonly home?: string;
  /** Explicit SQLite file (or `:memory:`), overriding `home`. */
  readonly file?: string;
}

/** The mofn home folder: `$MOFN_HOME`, else `~/.mofn`. */
export function defaultHome(): string {
  return process.env['MOFN_HOME'] ?? join(homedir(), '.mofn');
}

/**
 * Opens (creating if needed) the SQLite store and runs pending migrations.
 * WAL with `synchronous=FULL`: a commit survives a crash or power loss once it returns.
 * @throws MofnError `store.migration_failed` when a migration cannot be applied.
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  let file = options.file;
  if (file === undefined) {
    const home = options.home ?? defaultHome();
    mkdirSync(home, { recursive: true, mode: 0o700 });
    file = join(home, 'mofn.db');
  }
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new MofnError('store.migration_failed', `could not migrate the store at ${file}`, { cause: error });
  }
  return { db, location: file, close: () => db.destroy() };
}
