/**
 * PostgreSQL: the appends of a transaction (signatures, audit events, outbox rows) wait and go as one
 * statement before its COMMIT, all-or-nothing with the rest of it; outside a coordinator transaction
 * an append runs at once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRows, createContext, inTx, inWalletTx, openStore, type ServiceContext, type Store } from '../src/index.ts';

const url = process.env['MOFN_TEST_PG_URL']!;
const schema = `mofn_append_${randomBytes(4).toString('hex')}`;
let store: Store;
let ctx: ServiceContext;

beforeAll(async () => {
  store = await openStore({ url, schema });
  ctx = createContext(store);
});
afterAll(async () => {
  await store.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

const user = (id: string, at = '2026-11-28T00:00:00.000Z') => ({ id, name: id, is_admin: 0, created_at: at });
const names = async (prefix: string) =>
  (await store.db.selectFrom('users').select('name').where('name', 'like', `${prefix}%`).orderBy('name').execute()).map((r) => r.name);

describe('appends on PostgreSQL', () => {
  it('holds them until the end of the transaction, then stores every row of every append', async () => {
    const seenInside = await inWalletTx(ctx, 'no-such-wallet', async (tx) => {
      // Appends with 4, 12 and 8 parameters: each numbers them from $1, the combined statement renumbers.
      await appendRows(tx, tx.trx.insertInto('users').values(user('a-1')));
      await appendRows(tx, tx.trx.insertInto('users').values([user('a-2'), user('a-3'), user('a-4')]));
      await appendRows(tx, tx.trx.insertInto('users').values([user('a-5', '2026-11-28T00:00:05.000Z'), user('a-6')]));
      return (await tx.trx.selectFrom('users').select('name').where('name', 'like', 'a-%').execute()).length;
    });
    expect(seenInside).toBe(0);
    expect(await names('a-')).toEqual(['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6']);
    const five = await store.db.selectFrom('users').select('created_at').where('id', '=', 'a-5').executeTakeFirstOrThrow();
    expect(five.created_at).toBe('2026-11-28T00:00:05.000Z');
  });

  it('stores nothing of a transaction that throws, nor of one whose appends break a constraint', async () => {
    await expect(
      inTx(ctx, async (tx) => {
        await tx.trx.insertInto('users').values(user('b-0')).execute();
        await appendRows(tx, tx.trx.insertInto('users').values(user('b-1')));
        throw new Error('the change fails after its appends');
      }),
    ).rejects.toThrow('the change fails after its appends');
    await expect(
      inWalletTx(ctx, 'no-such-wallet', async (tx) => {
        await tx.trx.insertInto('users').values(user('b-2')).execute();
        await appendRows(tx, tx.trx.insertInto('users').values(user('b-3')));
        await appendRows(tx, tx.trx.insertInto('users').values(user('b-3')));
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await names('b-')).toEqual([]);
  });

  it('sends a long run of appends in more statements than one, below the bind-parameter limit, losing none', async () => {
    // 20 appends of 1,000 rows x 4 parameters = 80,000 parameters: more than the 65,535 one statement may bind.
    await inWalletTx(ctx, 'no-such-wallet', async (tx) => {
      for (let k = 0; k < 20; k++) {
        await appendRows(tx, tx.trx.insertInto('users').values(Array.from({ length: 1000 }, (_, i) => user(`c-${String(k * 1000 + i).padStart(5, '0')}`))));
      }
    });
    expect(await names('c-')).toHaveLength(20_000);
  });

  it('runs an append at once outside a coordinator transaction', async () => {
    await store.db.transaction().execute(async (trx) => {
      await appendRows({ trx }, trx.insertInto('users').values(user('d-1')));
      expect(await trx.selectFrom('users').select('name').where('name', '=', 'd-1').execute()).toHaveLength(1);
    });
    expect(await names('d-')).toEqual(['d-1']);
  });
});
