/**
 * Where a server process keeps its store: SQLite in a temp home, or PostgreSQL in a database of its
 * own (created here and dropped after), so a child process needs nothing but MOFN_HOME or
 * MOFN_DATABASE_URL and shares nothing with other suites.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '@mofn/service';

/** A store location for a server process, and how to open and drop it. */
export interface StoreLocation {
  readonly home: string;
  /** Set for PostgreSQL: the URL of the database created for it. */
  readonly databaseUrl?: string;
  open(): Promise<Store>;
  drop(): Promise<void>;
}

/** Creates a location (`prefix` names the temp folder and the database). */
export async function newStoreLocation(kind: 'sqlite' | 'postgres', prefix: string, pgUrl?: string): Promise<StoreLocation> {
  const home = mkdtempSync(join(tmpdir(), `mofn-${prefix}-`));
  if (kind === 'sqlite') return { home, open: () => openStore({ home }), drop: () => Promise.resolve(rmSync(home, { recursive: true, force: true })) };
  const base = pgUrl ?? process.env['MOFN_TEST_PG_URL'];
  if (base === undefined || base === '') throw new Error('MOFN_TEST_PG_URL is not set');
  const name = `mofn_${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    home,
    databaseUrl,
    open: () => openStore({ url: databaseUrl }),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
