/**
 * Transactions over the store with the one lock the coordinator needs: every change to a wallet's
 * proposals, roles, webhooks or audit log runs holding that wallet's row, so concurrent writers (on
 * one instance or on several against PostgreSQL) are serialized per wallet and nothing is lost.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Compilable, type Kysely, type Transaction } from 'kysely';
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
    return withAppends(trx, () => fn({ trx, ctx, ...instant(ctx) }));
  });
}

/** Runs `fn` in a plain transaction (no wallet lock). */
export async function inTx<T>(ctx: ServiceContext, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  if (ctx.kind === 'sqlite') return groupCommit(ctx, fn);
  return ctx.db.transaction().execute((trx) => withAppends(trx, () => fn({ trx, ctx, ...instant(ctx) })));
}

function instant(ctx: ServiceContext): { at: string; atMs: number } {
  const now = ctx.now();
  return { at: now.toISOString(), atMs: now.getTime() };
}

/** The appends each PostgreSQL transaction holds until its end, and how many parameters they bind. */
const appendsOf = new WeakMap<object, { queries: CompiledQuery[]; parameters: number }>();
/** Bind parameters PostgreSQL takes in one statement is 65,535: stay well below. */
const APPEND_PARAMETERS = 30_000;

/**
 * Inserts a row into an append-only table: signatures, audit events, outbox events and their
 * deliveries, none of which a transaction reads back after writing (the audit head it keeps, see
 * appendAudit). On PostgreSQL every round trip is paid under the wallet's row lock, so there the
 * inserts of one transaction wait and go as one statement before its COMMIT (data-modifying WITH
 * clauses, all-or-nothing with the rest of the transaction); elsewhere, and outside
 * {@link inWalletTx} / {@link inTx}, the insert runs at once.
 */
export async function appendRows(tx: Pick<TxContext, 'trx'>, insert: Compilable & { execute(): Promise<unknown> }): Promise<void> {
  const appends = appendsOf.get(tx.trx);
  if (appends === undefined) {
    await insert.execute();
    return;
  }
  const query = insert.compile();
  appends.queries.push(query);
  appends.parameters += query.parameters.length;
  if (appends.parameters > APPEND_PARAMETERS) await flushAppends(tx.trx);
}

async function withAppends<T>(trx: Transaction<Database>, work: () => Promise<T>): Promise<T> {
  appendsOf.set(trx, { queries: [], parameters: 0 });
  const result = await work();
  await flushAppends(trx);
  return result;
}

async function flushAppends(trx: Transaction<Database>): Promise<void> {
  const appends = appendsOf.get(trx)?.queries;
  if (appends === undefined || appends.length === 0) return;
  appendsOf.set(trx, { queries: [], parameters: 0 });
  if (appends.length === 1) {
    await trx.executeQuery(appends[0]!);
    return;
  }
  // Each statement numbers its parameters from $1: renumber them into one list.
  const parameters: unknown[] = [];
  const clauses = appends.map((q, i) => {
    const offset = parameters.length;
    let seen = 0;
    const text = q.sql.replace(/\$(\d+)/g, (_, n: string) => {
      seen++;
      return `$${String(Number(n) + offset)}`;
    });
    if (seen !== q.parameters.length) throw new Error(`cannot combine an append whose SQL names ${String(seen)} bind parameters but carries ${String(q.parameters.length)}`);
    parameters.push(...q.parameters);
    return `a${String(i)} as (${text})`;
  });
  await trx.executeQuery(CompiledQuery.raw(`with ${clauses.join(', ')} select 1`, parameters));
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
