/**
 * The per-wallet audit log: every state change appends a hash-chained event in the same database
 * transaction as the change (core's audit/chain.ts defines the hashing and verification).
 */
import { createAuditEvent, verifyChain, canonicalJson, type AuditEvent, type AuditVerification } from '@mofn/core';
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../context.ts';
import type { Database, AuditEventTable } from '../store/schema.ts';
import { appendRows, type TxContext } from './tx.ts';

/** Who caused an event: a user id, or `system` for background jobs, `cli` for the local CLI. */
export type AuditActor = string;

function rowToEvent(r: AuditEventTable): AuditEvent {
  return { seq: r.seq, at: Number(r.at), type: r.type, data: JSON.parse(r.data) as unknown, prevHash: r.prev_hash, hash: r.hash };
}

/**
 * Appends one event to the wallet's log inside `tx` (which must hold the wallet lock, see inWalletTx).
 * The actor is part of the hashed data, so it cannot be edited without breaking the chain.
 */
export async function appendAudit(tx: TxContext, walletId: string, type: string, actor: AuditActor, data: Record<string, unknown>): Promise<AuditEvent> {
  let heads = headsOf.get(tx.trx);
  if (heads === undefined) {
    heads = new Map();
    headsOf.set(tx.trx, heads);
  }
  let head = heads.get(walletId);
  if (head === undefined) {
    const row = await tx.trx.selectFrom('audit_events').selectAll().where('wallet_id', '=', walletId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    head = row === undefined ? null : rowToEvent(row);
  }
  const event = createAuditEvent(head ?? undefined, { type, at: tx.atMs, data: { actor, ...data } });
  await appendRows(
    tx,
    tx.trx
      .insertInto('audit_events')
      .values({ wallet_id: walletId, seq: event.seq, at: event.at, type: event.type, data: canonicalJson(event.data), prev_hash: event.prevHash, hash: event.hash }),
  );
  heads.set(walletId, event);
  return event;
}

/**
 * The head each transaction last read or wrote, per wallet: a change that appends several events
 * (a signature, then the transition it caused) reads the head once. Only appendAudit writes the log,
 * and it runs under the wallet lock, so nobody else moves the head during the transaction; a
 * transaction (a savepoint per change in SQLite's group commit) is never reused, so none is stale.
 */
const headsOf = new WeakMap<object, Map<string, AuditEvent | null>>();

/** Parameters of {@link listAudit}. */
export interface ListAuditParams {
  /** Events with seq greater than this (cursor). */
  readonly after?: number;
  readonly limit?: number;
}

/** A page of a wallet's log, oldest first. */
export async function listAudit(db: Kysely<Database>, walletId: string, params: ListAuditParams = {}): Promise<AuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll().where('wallet_id', '=', walletId);
  if (params.after !== undefined) q = q.where('seq', '>', params.after);
  const rows = await q.orderBy('seq').limit(params.limit ?? 1000).execute();
  return rows.map(rowToEvent);
}

/** Reads a wallet's whole log and verifies its hash chain. */
export async function verifyWalletAudit(ctx: ServiceContext, walletId: string): Promise<AuditVerification> {
  const rows = await ctx.db.selectFrom('audit_events').selectAll().where('wallet_id', '=', walletId).orderBy('seq').execute();
  return verifyChain(rows.map(rowToEvent));
}
