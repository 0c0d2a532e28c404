/**
 * Webhooks through a transactional outbox: an event row is written in the same transaction as the
 * change it reports, with one delivery row per subscribed webhook. Deliverers on any number of
 * instances claim due deliveries under a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`), so each is
 * sent once however many instances run, and retried with exponential backoff when it fails.
 */
import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import { InvalidInputError, NotFoundError } from '@mofn/core';
import type { ServiceContext } from '../context.ts';
import { appendAudit } from './audit.ts';
import { appendRows, inTx, inWalletTx, newId, type TxContext } from './tx.ts';

/** The events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = Object.freeze([
  'proposal.created',
  'signature.added',
  'proposal.ready',
  'proposal.broadcast',
  'proposal.confirmed',
  'proposal.rejected',
  'proposal.expired',
  'proposal.cancelled',
  'proposal.superseded',
] as const);
/** A webhook event type. */
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Attempts before a delivery is marked failed. */
export const MAX_ATTEMPTS = 8;
/** Backoff before attempt n+1: 2^n seconds (1 s, 2 s, 4 s ... ~2 min), capped at 1 hour. */
export function backoffMs(attempts: number): number {
  return Math.min(3_600_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** Writes an event (and its deliveries) inside the transaction of the change it reports. */
export async function enqueueEvent(tx: TxContext, walletId: string, type: string, data: Record<string, unknown>): Promise<string> {
  const id = newId();
  const body = { id, type, walletId, createdAt: tx.at, data };
  await appendRows(tx, tx.trx.insertInto('outbox').values({ id, wallet_id: walletId, type, payload: JSON.stringify(body), created_at: tx.at }));
  const hooks = await tx.trx.selectFrom('webhooks').select(['id', 'events']).where('wallet_id', '=', walletId).where('disabled_at', 'is', null).execute();
  const subscribed = hooks.filter((h) => (JSON.parse(h.events) as string[]).includes(type));
  if (subscribed.length > 0) {
    await appendRows(
      tx,
      tx.trx.insertInto('webhook_deliveries').values(
        subscribed.map((h) => ({
          id: newId(),
          webhook_id: h.id,
          event_id: id,
          status: 'pending',
          attempts: 0,
          next_attempt_at: tx.at,
          locked_until: null,
          last_status: null,
          last_error: null,
          delivered_at: null,
          created_at: tx.at,
        })),
      ),
    );
  }
  return id;
}

/** A webhook as APIs show it (never its secret). */
export interface WebhookView {
  readonly id: string;
  readonly walletId: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

/** Validates a webhook URL: http(s), no credentials in it. @throws InvalidInputError `webhook.bad_url`. */
function assertWebhookUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInputError('webhook.bad_url', `'${url.slice(0, 100)}' is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new InvalidInputError('webhook.bad_url', 'a webhook URL is http:// or https://');
  if (u.username !== '' || u.password !== '') throw new InvalidInputError('webhook.bad_url', 'a webhook URL must not carry credentials: deliveries are signed instead');
  if (url.length > 2000) throw new InvalidInputError('webhook.bad_url', 'a webhook URL is at most 2000 characters');
}

/**
 * Subscribes a URL to a wallet's events, audited. The signing secret is returned here once.
 * @throws InvalidInputError `webhook.bad_url`, `webhook.bad_events`.
 */
export async function createWebhook(
  ctx: ServiceContext,
  params: { walletId: string; url: string; events: readonly string[]; actor: string },
  secretFor: (webhookId: string) => string,
): Promise<WebhookView & { secret: string }> {
  assertWebhookUrl(params.url);
  const events = [...new Set(params.events)];
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (events.length === 0 || unknown.length > 0) {
    throw new InvalidInputError('webhook.bad_events', unknown.length > 0 ? `unknown event(s): ${unknown.slice(0, 5).join(', ')}` : 'subscribe to at least one event', {
      details: { allowed: WEBHOOK_EVENTS },
    });
  }
  return inWalletTx(ctx, params.walletId, async (tx) => {
    const id = newId();
    await tx.trx
      .insertInto('webhooks')
      .values({ id, wallet_id: params.walletId, url: params.url, events: JSON.stringify(events), created_by: params.actor, created_at: tx.at, disabled_at: null })
      .execute();
    await appendAudit(tx, params.walletId, 'webhook.created', params.actor, { webhook: id, url: params.url, events });
    return { id, walletId: params.walletId, url: params.url, events, createdAt: tx.at, disabledAt: null, secret: secretFor(id) };
  });
}

/** A wallet's webhooks. */
export async function listWebhooks(ctx: ServiceContext, walletId: string): Promise<WebhookView[]> {
  const rows = await ctx.db.selectFrom('webhooks').selectAll().where('wallet_id', '=', walletId).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, walletId: r.wallet_id, url: r.url, events: JSON.parse(r.events) as string[], createdAt: r.created_at, disabledAt: r.disabled_at }));
}

/** Disables a webhook (pending deliveries stop), audited. @throws NotFoundError `webhook.not_found`. */
export async function disableWebhook(ctx: ServiceContext, walletId: string, webhookId: string, actor: string): Promise<void> {
  await inWalletTx(ctx, walletId, async (tx) => {
    const r = await tx.trx.updateTable('webhooks').set({ disabled_at: tx.at }).where('id', '=', webhookId).where('wallet_id', '=', walletId).where('disabled_at', 'is', null).executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new NotFoundError('webhook.not_found', `no active webhook '${webhookId.slice(0, 60)}' on this wallet`);
    await appendAudit(tx, walletId, 'webhook.disabled', actor, { webhook: webhookId });
  });
}

/** One delivery attempt's record as APIs show it. */
export interface DeliveryView {
  readonly id: string;
  readonly eventId: string;
  readonly type: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
  readonly createdAt: string;
}

/** The delivery log of a webhook, newest first. @throws NotFoundError `webhook.not_found`. */
export async function listDeliveries(ctx: ServiceContext, walletId: string, webhookId: string, limit = 100): Promise<DeliveryView[]> {
  const hook = await ctx.db.selectFrom('webhooks').select('id').where('id', '=', webhookId).where('wallet_id', '=', walletId).executeTakeFirst();
  if (hook === undefined) throw new NotFoundError('webhook.not_found', `no webhook '${webhookId.slice(0, 60)}' on this wallet`);
  const rows = await ctx.db
    .selectFrom('webhook_deliveries')
    .innerJoin('outbox', 'outbox.id', 'webhook_deliveries.event_id')
    .select([
      'webhook_deliveries.id',
      'webhook_deliveries.event_id',
      'outbox.type',
      'webhook_deliveries.status',
      'webhook_deliveries.attempts',
      'webhook_deliveries.next_attempt_at',
      'webhook_deliveries.last_status',
      'webhook_deliveries.last_error',
      'webhook_deliveries.delivered_at',
      'webhook_deliveries.created_at',
    ])
    .where('webhook_deliveries.webhook_id', '=', webhookId)
    .orderBy('webhook_deliveries.created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
  }));
}

/** A claimed delivery, ready to send. */
interface Claimed {
  readonly id: string;
  readonly webhookId: string;
  readonly url: string;
  readonly eventId: string;
  readonly body: string;
  readonly attempts: number;
}

/** How {@link deliverDueWebhooks} sends. */
export interface DeliverOptions {
  /** The signing secret of a webhook (derived from the server key). */
  readonly secretFor: (webhookId: string) => string;
  /** Deliveries claimed per round (default 20). */
  readonly batch?: number;
  /** Request timeout, ms (default 10 s). */
  readonly timeoutMs?: number;
  /** The lease on a claimed delivery, ms (default 60 s): another instance may retry after it. */
  readonly leaseMs?: number;
}

/** The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${String(unixSeconds)}.${body}`).digest('hex');
  return `t=${String(unixSeconds)},v1=${mac}`;
}

async function claimDue(ctx: ServiceContext, batch: number, leaseMs: number): Promise<Claimed[]> {
  return inTx(ctx, async ({ trx, at, atMs }) => {
    const lockClause = ctx.kind === 'postgres' ? sql` for update of d skip locked` : sql``;
    const rows = await sql<{ id: string; webhook_id: string; url: string; event_id: string; payload: string; attempts: number }>`
      select d.id, d.webhook_id, w.url, d.event_id, o.payload, d.attempts
      from webhook_deliveries d join webhooks w on w.id = d.webhook_id join outbox o on o.id = d.event_id
      where d.status = 'pending' and d.next_attempt_at <= ${at} and (d.locked_until is null or d.locked_until <= ${at}) and w.disabled_at is null
      order by d.next_attempt_at, d.created_at limit ${batch}${lockClause}`.execute(trx);
    const until = new Date(atMs + leaseMs).toISOString();
    for (const r of rows.rows) await trx.updateTable('webhook_deliveries').set({ locked_until: until }).where('id', '=', r.id).execute();
    return rows.rows.map((r) => ({ id: r.id, webhookId: r.webhook_id, url: r.url, eventId: r.event_id, body: r.payload, attempts: r.attempts }));
  });
}

async function send(c: Claimed, options: DeliverOptions, now: Date): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  const t = Math.floor(now.getTime() / 1000);
  try {
    const res = await fetch(c.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mofn-webhooks/1',
        'x-mofn-event-id': c.eventId,
        'x-mofn-delivery': c.id,
        'x-mofn-signature': signWebhook(options.secretFor(c.webhookId), c.body, t),
      },
      body: c.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.status >= 200 && res.status < 300, status: res.status, error: res.status >= 300 ? `HTTP ${String(res.status)}` : null };
  } catch (e) {
    return { ok: false, status: null, error: (e as Error).name === 'TimeoutError' ? 'timeout' : `cannot connect: ${(e as Error).message}`.slice(0, 300) };
  }
}

/**
 * Sends the deliveries that are due, one round; returns how many were attempted. Safe to run on every
 * instance at once: a delivery is claimed by one instance under a lease.
 */
export async function deliverDueWebhooks(ctx: ServiceContext, options: DeliverOptions): Promise<number> {
  const claimed = await claimDue(ctx, options.batch ?? 20, options.leaseMs ?? 60_000);
  await Promise.all(
    claimed.map(async (c) => {
      const result = await send(c, options, ctx.now());
      const attempts = c.attempts + 1;
      const now = ctx.now();
      const status = result.ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
      await ctx.db
        .updateTable('webhook_deliveries')
        .set({
          status,
          attempts,
          locked_until: null,
          last_status: result.status,
          last_error: result.error,
          delivered_at: result.ok ? now.toISOString() : null,
          next_attempt_at: result.ok ? now.toISOString() : new Date(now.getTime() + backoffMs(attempts)).toISOString(),
        })
        .where('id', '=', c.id)
        .execute();
    }),
  );
  return claimed.length;
}
