/** Webhook subscriptions per wallet and their delivery log. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { createWebhook, disableWebhook, listDeliveries, listWebhooks, WEBHOOK_EVENTS } from '@mofn/service';
import { principalOf } from '../app.ts';
import { COMMON_ERRORS, ErrorSchema, looseObject, walletRowAccess } from './common.ts';

const HookParams = Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }), webhookId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

/** Registers webhook routes. */
export function registerWebhookRoutes(app: FastifyInstance): void {
  const { ctx, secretFor } = app.mofn;
  const walletOf = (p: unknown) => (p as { walletId: string }).walletId;

  app.post(
    '/wallets/:walletId/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe a URL to wallet events (admin); the HMAC-SHA256 signing secret is shown once',
        params: Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2000 }), events: Type.Array(Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e))), { minItems: 1, maxItems: 20 }) }, { additionalProperties: false }),
        response: { 201: looseObject({ id: Type.String(), secret: Type.String() }), 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { walletId } = await walletRowAccess(app, request, walletOf(request.params), 'manage');
      const b = request.body as { url: string; events: string[] };
      const hook = await createWebhook(ctx, { walletId, url: b.url, events: b.events, actor: principalOf(request).user.id }, secretFor);
      return reply.code(201).header('cache-control', 'no-store').send(hook);
    },
  );

  app.get(
    '/wallets/:walletId/webhooks',
    { schema: { tags: ['webhooks'], summary: "The wallet's webhooks (admin)", params: Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 200: Type.Object({ items: Type.Array(looseObject({ id: Type.String(), url: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => {
      const { walletId } = await walletRowAccess(app, request, walletOf(request.params), 'manage');
      return { items: await listWebhooks(ctx, walletId) };
    },
  );

  app.delete('/wallets/:walletId/webhooks/:webhookId', { schema: { tags: ['webhooks'], summary: 'Disable a webhook (admin)', params: HookParams, response: { 204: Type.Null(), ...COMMON_ERRORS } } }, async (request, reply) => {
    const p = request.params as { walletId: string; webhookId: string };
    const { walletId } = await walletRowAccess(app, request, p.walletId, 'manage');
    await disableWebhook(ctx, walletId, p.webhookId, principalOf(request).user.id);
    return reply.code(204).send();
  });

  app.get(
    '/wallets/:walletId/webhooks/:webhookId/deliveries',
    { schema: { tags: ['webhooks'], summary: 'Delivery log, newest first (admin)', params: HookParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ id: Type.String(), status: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => {
      const p = request.params as { walletId: string; webhookId: string };
      const { walletId } = await walletRowAccess(app, request, p.walletId, 'manage');
      return { items: await listDeliveries(ctx, walletId, p.webhookId) };
    },
  );
}
