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
/** While set, every fsync waits for this promise first (a slow disk the test controls). */
let gate: Promise<void> | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-wal-'));
  // Every FileHandle shares one prototype: count the fsyncs made through it.
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: (this: { fd: number }) => Promise<void> };
  await probe.close();
  const original = proto.sync;
  flushes = [];
  gate = undefined;
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: { fd: number }) {
    flushes.push('sync');
    if (gate !== undefined) await gate;
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

  it('lets other statements run while a commit waits for the disk, and answers the committer only after its flush', async () => {
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    let committed = false;
    const commit = store.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'slow', name: 'slow', is_admin: 0, created_at: 'now' }).execute();
      })
      .then(() => (committed = true));
    // The flush is stuck; a read, and even another transaction, still go through.
    await vi.waitFor(() => expect(flushes.length).toBe(1));
    expect((await store.db.selectFrom('users').select('id').execute()).map((r) => r.id)).toEqual(['slow']);
    const second = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values({ id: 'next', name: 'next', is_admin: 0, created_at: 'now' }).execute();
    });
    await new Promise((r) => setTimeout(r, 50));
    expect((await store.db.selectFrom('users').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(['next', 'slow']);
    // A write on its own keeps its lease through its flush, which it shares with the second commit.
    const third = store.db.insertInto('users').values({ id: 'lone', name: 'lone', is_admin: 0, created_at: 'now' }).execute();
    await new Promise((r) => setTimeout(r, 50));
    expect(committed).toBe(false);
    // The two later changes wait for one flush that starts after the running one.
    expect(flushes.length).toBe(1);
    open();
    await Promise.all([commit, second, third]);
    expect(committed).toBe(true);
    expect(flushes.length).toBe(2);
  });

  it('reports a failed flush to the committer and keeps serving', async () => {
    let fail!: (e: Error) => void;
    gate = new Promise<void>((_, reject) => (fail = reject));
    const change = store.db.insertInto('users').values({ id: 'x', name: 'x', is_admin: 0, created_at: 'now' }).execute();
    await vi.waitFor(() => expect(flushes.length).toBe(1));
    fail(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(change).rejects.toThrow(/EIO/);
    gate = undefined;
    await store.db.insertInto('users').values({ id: 'y', name: 'y', is_admin: 0, created_at: 'now' }).execute();
    expect(flushes.length).toBe(2);
  });
});
