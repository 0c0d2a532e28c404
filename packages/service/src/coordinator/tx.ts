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
 * serializes every transaction through its single writer already).
 */
export async function inWalletTx<T>(ctx: ServiceContext, walletId: string, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (trx) => {
    if (ctx.kind === 'postgres') await sql`select id from wallets where id = ${walletId} for update`.execute(trx);
    const now = ctx.now();
    return fn({ trx, ctx, at: now.toISOString(), atMs: now.getTime() });
  });
}

/** Runs `fn` in a plain transaction (no wallet lock). */
export async function inTx<T>(ctx: ServiceContext, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    return fn({ trx, ctx, at: now.toISOString(), atMs: now.getTime() });
  });
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
