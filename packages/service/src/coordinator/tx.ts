/**
 * Transactions over the store with the one lock the coordinator needs: every change to a wallet's
 * proposals, roles, webhooks or audit log runs holding that wallet's row, so concurrent writers (on
 * one instance or on several against PostgreSQL) are serialized per wallet and nothing is lost.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ServiceContext } from '../context.ts';
import type { Database } from '../store/schema.ts';

/** A transaction handle plus what the use cases need beside it. */
export interface TxContext {
  readonly trx: Transaction<Database>;
  readonly ctx: ServiceContext;
  /** The instant of this change, ISO-8601 and ms. */
  readonly at: string;
  readonly atMs: number;
}

/** A new random id (UUID v4). */
export function newId(): string {
  return randomUUID();
}

/**
 * Runs `fn` in a transaction holding wallet `walletId`'s row lock (PostgreSQL `FOR UPDATE`; SQLite
 * serializes every transaction through its single writer already, see {@link groupCommit}).
 */
export async function inWalletTx<T>(ctx: ServiceContext, walletId: string, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  if (ctx.kind === 'sqlite') return groupCommit(ctx, fn);
  return ctx.db.transaction().execute(async (trx) => {
    await sql`select id from wallets where id = ${walletId} for update`.execute(trx);
    const now = ctx.now();
    return fn({ trx, ctx, at: now.toISOString(), atMs: now.getTime() });
  });
}

/** Runs `fn` in a plain transaction (no wallet lock). */
export async function inTx<T>(ctx: ServiceContext, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  if (ctx.kind === 'sqlite') return groupCommit(ctx, fn);
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    return fn({ trx, ctx, at: now.toISOString(), atMs: now.getTime() });
  });
}

interface Job {
  readonly ctx: ServiceContext;
  readonly fn: (tx: TxContext) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Largest number of changes committed together. */
const GROUP_LIMIT = 64;
const queues = new WeakMap<object, { jobs: Job[]; draining: boolean }>();

/**
 * Group commit for SQLite. With `synchronous=FULL` every COMMIT waits for the disk, and SQLite has one
 * writer anyway: changes that queue up while a commit is on its way run one after the other in the
 * next transaction, each inside its own savepoint (a change that throws is rolled back alone and gets
 * its error), and all of them are answered only once their common COMMIT returned - so an answered
 * change is on disk exactly as before, and a crash loses only changes nobody was told succeeded.
 */
function groupCommit<T>(ctx: ServiceContext, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  let q = queues.get(ctx.db);
  if (q === undefined) {
    q = { jobs: [], draining: false };
    queues.set(ctx.db, q);
  }
  const queue = q;
  return new Promise<T>((resolve, reject) => {
    queue.jobs.push({ ctx, fn, resolve: (v) => { resolve(v as T); }, reject });
    if (!queue.draining) void drain(ctx.db, queue);
  });
}

async function drain(db: Kysely<Database>, queue: { jobs: Job[]; draining: boolean }): Promise<void> {
  queue.draining = true;
  try {
    while (queue.jobs.length > 0) {
      const batch = queue.jobs.splice(0, GROUP_LIMIT);
      const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
      try {
        const trx = await db.startTransaction().execute();
        try {
          for (const [i, job] of batch.entries()) {
            const name = `mofn_job_${String(i)}`;
            const sp = await trx.savepoint(name).execute();
            try {
              const now = job.ctx.now();
              const value = await job.fn({ trx: sp, ctx: job.ctx, at: now.toISOString(), atMs: now.getTime() });
              await sp.releaseSavepoint(name).execute();
              outcomes.push({ ok: true, value });
            } catch (error) {
              await sp.rollbackToSavepoint(name).execute();
              await sp.releaseSavepoint(name).execute();
              outcomes.push({ ok: false, error });
            }
          }
          await trx.commit().execute();
        } catch (error) {
          await trx.rollback().execute().catch(() => undefined);
          throw error;
        }
      } catch (error) {
        // The transaction itself failed (COMMIT, BEGIN, a savepoint): nothing of this batch is stored.
        for (const job of batch) job.reject(error);
        continue;
      }
      batch.forEach((job, i) => {
        const o = outcomes[i]!;
        if (o.ok) job.resolve(o.value);
        else job.reject(o.error);
      });
    }
  } finally {
    queue.draining = false;
  }
}

/**
 * Runs several reads on one snapshot, so a view assembled from a few tables never mixes two versions
 * (PostgreSQL: REPEATABLE READ; SQLite: a read transaction in WAL mode is a snapshot already).
 */
export async function inSnapshot<T>(ctx: ServiceContext, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const t = ctx.db.transaction();
  return (ctx.kind === 'postgres' ? t.setIsolationLevel('repeatable read') : t).execute(fn);
}

/** The kysely handle of a context (for reads outside a transaction). */
export function dbOf(ctx: ServiceContext): Kysely<Database> {
  return ctx.db;
}
