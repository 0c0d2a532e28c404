/** The wallet's hash-chained audit log and its verification. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { listAudit, verifyWalletAudit } from '@mofn/service';
import { COMMON_ERRORS, looseObject, walletRowAccess } from './common.ts';

const Params = Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

/** Registers audit routes. */
export function registerAuditRoutes(app: FastifyInstance): void {
  const { ctx } = app.mofn;
  app.get(
    '/wallets/:walletId/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit events, oldest first; each commits to the previous hash',
        params: Params,
        querystring: Type.Object({ after: Type.Optional(Type.Integer({ minimum: -1 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(looseObject({ seq: Type.Integer(), hash: Type.String(), prevHash: Type.String() })), nextCursor: Type.Union([Type.Integer(), Type.Null()]) }), ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { walletId } = await walletRowAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      const q = request.query as { after?: number; limit?: number };
      const limit = q.limit ?? 200;
      const items = await listAudit(ctx.db, walletId, { ...(q.after === undefined ? {} : { after: q.after }), limit });
      return { items, nextCursor: items.length === limit ? items[items.length - 1]!.seq : null };
    },
  );
  app.get(
    '/wallets/:walletId/audit/verify',
    { schema: { tags: ['audit'], summary: 'Verify the whole hash chain', params: Params, response: { 200: looseObject({ ok: Type.Boolean() }), ...COMMON_ERRORS } } },
    async (request) => {
      const { walletId } = await walletRowAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      return verifyWalletAudit(ctx, walletId);
    },
  );
}
