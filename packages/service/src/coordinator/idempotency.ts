/**
 * `Idempotency-Key` on POST: the first request with a key runs and its response is kept; a retry with
 * the same key and the same request gets that response again without running twice; the same key
 * with a different request is refused, as is a retry while the first one still runs.
 */
import { ConflictError, InvalidInputError } from '@mofn/core';
import type { ServiceContext } from '../context.ts';

/** What to do with a request carrying an idempotency key. */
export type IdempotencyDecision = { readonly kind: 'run' } | { readonly kind: 'replay'; readonly status: number; readonly body: string };

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/**
 * Claims `key` for this request or finds its earlier response.
 * @throws InvalidInputError `idempotency.bad_key`; ConflictError `idempotency.key_reused` (another
 *   request body under the same key), `idempotency.in_progress` (the first request still runs).
 */
export async function beginIdempotent(ctx: ServiceContext, userId: string, key: string, fingerprint: string): Promise<IdempotencyDecision> {
  if (!KEY_RE.test(key)) throw new InvalidInputError('idempotency.bad_key', 'an Idempotency-Key is 1-255 visible ASCII characters');
  const inserted = await ctx.db
    .insertInto('idempotency_keys')
    .values({ user_id: userId, key, fingerprint, status: null, body: null, created_at: ctx.now().toISOString() })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return { kind: 'run' };
  const row = await ctx.db.selectFrom('idempotency_keys').selectAll().where('user_id', '=', userId).where('key', '=', key).executeTakeFirstOrThrow();
  if (row.fingerprint !== fingerprint) {
    throw new ConflictError('idempotency.key_reused', 'this Idempotency-Key was used for a different request', { hint: 'use a new key for a new request' });
  }
  if (row.status === null || row.body === null) {
    throw new ConflictError('idempotency.in_progress', 'the first request with this Idempotency-Key is still running', { hint: 'retry in a moment' });
  }
  return { kind: 'replay', status: row.status, body: row.body };
}

/** Stores the response of a request that ran. */
export async function completeIdempotent(ctx: ServiceContext, userId: string, key: string, status: number, body: string): Promise<void> {
  await ctx.db.updateTable('idempotency_keys').set({ status, body }).where('user_id', '=', userId).where('key', '=', key).execute();
}

/** Releases a key whose request failed on the server side (5xx), so a retry runs again. */
export async function abandonIdempotent(ctx: ServiceContext, userId: string, key: string): Promise<void> {
  await ctx.db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).where('status', 'is', null).execute();
}
