/**
 * SQLite durability off the event loop: the store runs synchronous=NORMAL and flushes the WAL itself
 * (fsync on the thread pool) after every commit and every write on its own, before the caller sees
 * the result; reads and statements inside a transaction flush nothing. Every flush happens after the
 * write it covers, so an answered change is on disk as with synchronous=FULL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createContext, createUser, inTx, openStore, type Store } from '../src/index.ts';

let dir: string;
let store: Store;
let flushes: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-wal-'));
  // Every FileHandle shares one prototype: count the fsyncs made through it.
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: (this: { fd: number }) => Promise<void> };
  await probe.close();
  const original = proto.sync;
  flushes = [];
  vi.spyOn(proto, 'sync').mockImplementation(function (this: { fd: number }) {
    flushes.push('sync');
    return original.call(this);
  });
  store = await openStore({ file: join(dir, 'mofn.db') });
  flushes.length = 0;
});
afterEach(async () => {
  vi.restoreAllMocks();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('WAL flushed by the store, not by SQLite on the main thread', () => {
  it('runs SQLite with synchronous=NORMAL in WAL mode', async () => {
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    expect([mode.rows[0]?.journal_mode, sync.rows[0]?.synchronous]).toEqual(['wal', 1]);
  });

  it('flushes once per commit, once per write on its own, never for reads or inside a transaction', async () => {
    const ctx = createContext(store);
    await createUser(ctx, { name: 'alice' });
    const afterOne = flushes.length;
    expect(afterOne).toBeGreaterThanOrEqual(1);
    await store.db.selectFrom('users').selectAll().execute();
    expect(flushes.length).toBe(afterOne);
    await store.db.transaction().execute(async (trx) => {
      for (const n of ['bob', 'carol', 'dave']) await trx.insertInto('users').values({ id: n, name: n, is_admin: 0, created_at: 'now' }).execute();
      expect(flushes.length).toBe(afterOne);
    });
    expect(flushes.length).toBe(afterOne + 1);
    await store.db.insertInto('users').values({ id: 'erin', name: 'erin', is_admin: 0, created_at: 'now' }).execute();
    expect(flushes.length).toBe(afterOne + 2);
  });

  it('answers a group of concurrent changes only after their common commit was flushed', async () => {
    const ctx = createContext(store);
    const answered: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        inTx(ctx, async ({ trx, at }) => {
          await trx.insertInto('users').values({ id: `g${String(i)}`, name: `g${String(i)}`, is_admin: 0, created_at: at }).execute();
        }).then(() => answered.push(flushes.length)),
      ),
    );
    // No caller was answered before a flush, and the 20 changes needed far fewer flushes than 20.
    expect(Math.min(...answered)).toBeGreaterThanOrEqual(1);
    expect(flushes.length).toBeLessThan(20);
    expect(await store.db.selectFrom('users').select('id').execute()).toHaveLength(20);
  });
});
