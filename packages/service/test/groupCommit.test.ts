/**
 * SQLite group commit: concurrent changes share one COMMIT, each in its own savepoint, so a change
 * that throws is rolled back alone and the others are kept; every caller is answered only after the
 * commit, with its own result or error.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, createUser, inTx, openStore, type ServiceContext, type Store } from '../src/index.ts';

let store: Store;
let ctx: ServiceContext;
beforeEach(async () => {
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store);
});
afterEach(async () => {
  await store.close();
});

describe('group commit (SQLite)', () => {
  it('keeps the changes that succeed and rolls back only the ones that throw, answering each caller', async () => {
    const runs = Array.from({ length: 40 }, (_, i) =>
      inTx(ctx, async ({ trx, at }) => {
        await trx.insertInto('users').values({ id: `u${String(i)}`, name: `user-${String(i)}`, is_admin: 0, created_at: at }).execute();
        if (i % 3 === 0) throw new Error(`job ${String(i)} fails after writing`);
        return i;
      }),
    );
    const settled = await Promise.allSettled(runs);
    settled.forEach((r, i) => {
      if (i % 3 === 0) expect(r).toMatchObject({ status: 'rejected', reason: { message: `job ${String(i)} fails after writing` } });
      else expect(r).toEqual({ status: 'fulfilled', value: i });
    });
    const names = (await store.db.selectFrom('users').select('name').execute()).map((u) => u.name).sort();
    expect(names).toEqual(
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `user-${String(i)}`)
        .sort(),
    );
  });

  it('sees the earlier changes of its own batch (changes run one after the other)', async () => {
    const [a, b] = await Promise.allSettled([createUser(ctx, { name: 'same' }), createUser(ctx, { name: 'same' })]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'user.name_taken' } });
    expect(await store.db.selectFrom('users').select('name').execute()).toEqual([{ name: 'same' }]);
  });
});
