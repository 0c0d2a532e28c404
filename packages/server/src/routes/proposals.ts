/** Proposals, their signatures, declines, comments and transitions. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  addComment,
  broadcastProposal,
  cancelProposal,
  createProposal,
  declineProposal,
  etagOf,
  finalizeProposal,
  getProposal,
  getProposalPsbt,
  listComments,
  listProposals,
  listSignatures,
  replaceProposal,
  submitSignatures,
  type ProposalView,
} from '@mofn/service';
import { PROPOSAL_STATES, type ProposalState } from '@mofn/core';
import { principalOf, requireIfMatch } from '../app.ts';
import { COMMON_ERRORS, EmptyBody, ErrorSchema, looseObject, noBodyIsEmpty, PageQuery, ProposalParams, WalletParams, walletAccess } from './common.ts';

const ProposalSchema = looseObject(
  {
    id: Type.String(),
    walletId: Type.String(),
    state: Type.Union(PROPOSAL_STATES.map((s) => Type.Literal(s))),
    version: Type.Integer(),
    threshold: Type.Integer(),
    review: looseObject({}, 'decoded outputs (change verified against the wallet), fee and fee rate'),
    cosigners: Type.Array(looseObject({ id: Type.String(), signed: Type.Boolean(), declined: Type.Boolean() })),
    missing: Type.Array(Type.String()),
  },
  'A spend proposal and who has signed it',
);
const PsbtBody = Type.Object({ psbt: Type.String({ minLength: 1, maxLength: 4_000_000, description: 'base64 (or hex) PSBT' }) }, { additionalProperties: false });
const MUTATION_ERRORS = { 409: ErrorSchema, 412: ErrorSchema, 422: ErrorSchema, 428: ErrorSchema, ...COMMON_ERRORS } as const;

function withEtag(reply: FastifyReply, p: ProposalView): FastifyReply {
  return reply.header('etag', etagOf(p.version));
}

/** Registers proposal routes. */
export function registerProposalRoutes(app: FastifyInstance): void {
  const { ctx } = app.mofn;
  const caller = (request: Parameters<typeof principalOf>[0]) => ({ userId: principalOf(request).user.id });
  const pid = (request: { params: unknown }) => (request.params as { proposalId: string }).proposalId;

  app.post(
    '/wallets/:walletId/proposals',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Propose a spend: a PSBT of the wallet (signatures it carries are verified and kept)',
        params: WalletParams,
        body: Type.Object(
          {
            psbt: Type.String({ minLength: 1, maxLength: 4_000_000 }),
            memo: Type.Optional(Type.String({ maxLength: 1000 })),
            ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'propose');
      const b = request.body as { psbt: string; memo?: string; ttlSeconds?: number };
      const p = await createProposal(ctx, caller(request), {
        walletId: wallet.view.id,
        psbt: b.psbt.trim(),
        ...(b.memo === undefined ? {} : { memo: b.memo }),
        ...(b.ttlSeconds === undefined ? {} : { ttlMs: b.ttlSeconds * 1000 }),
      });
      return withEtag(reply.code(201).header('location', `/v1/proposals/${p.id}`), p).send(p);
    },
  );

  app.get(
    '/wallets/:walletId/proposals',
    {
      schema: {
        tags: ['proposals'],
        summary: "A wallet's proposals, newest first",
        params: WalletParams,
        querystring: Type.Object({ state: Type.Optional(Type.Union(PROPOSAL_STATES.map((s) => Type.Literal(s)))), ...PageQuery }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(ProposalSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const q = request.query as { state?: ProposalState; cursor?: string; limit?: number };
      return listProposals(ctx, caller(request), {
        walletId: (request.params as { walletId: string }).walletId,
        ...(q.state === undefined ? {} : { state: q.state }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        ...(q.limit === undefined ? {} : { limit: q.limit }),
      });
    },
  );

  app.get('/proposals/:proposalId', { schema: { tags: ['proposals'], summary: 'One proposal (with its ETag)', params: ProposalParams, response: { 200: ProposalSchema, ...COMMON_ERRORS } } }, async (request, reply) => {
    const p = await getProposal(ctx, caller(request), pid(request));
    return withEtag(reply, p).send(p);
  });

  app.get(
    '/proposals/:proposalId/psbt',
    { schema: { tags: ['proposals'], summary: 'The PSBT to sign, with every signature recorded so far', params: ProposalParams, response: { 200: looseObject({ psbt: Type.String(), version: Type.Integer() }), ...COMMON_ERRORS } } },
    async (request, reply) => {
      const r = await getProposalPsbt(ctx, caller(request), pid(request));
      return reply.header('etag', etagOf(r.version)).send(r);
    },
  );

  app.post(
    '/proposals/:proposalId/signatures',
    { schema: { tags: ['signatures'], summary: 'Submit your signed copy of the proposal PSBT; each signature is verified', params: ProposalParams, body: PsbtBody, response: { 200: looseObject({ added: Type.Integer() }), ...MUTATION_ERRORS } } },
    async (request, reply) => {
      const ifMatch = request.headers['if-match'];
      const r = await submitSignatures(ctx, caller(request), pid(request), (request.body as { psbt: string }).psbt.trim(), typeof ifMatch === 'string' ? ifMatch : undefined);
      return withEtag(reply, r.proposal).send(r);
    },
  );

  app.get(
    '/proposals/:proposalId/signatures',
    { schema: { tags: ['signatures'], summary: 'Recorded signatures', params: ProposalParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ input: Type.Integer(), publicKey: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => ({ items: await listSignatures(ctx, caller(request), pid(request)) }),
  );

  app.post(
    '/proposals/:proposalId/decline',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Decline to sign (as your cosigner)',
        params: ProposalParams,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false })),
        response: { 200: ProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const reason = (request.body as { reason?: string } | undefined)?.reason;
      const p = await declineProposal(ctx, caller(request), pid(request), reason);
      return withEtag(reply, p).send(p);
    },
  );

  app.post(
    '/proposals/:proposalId/cancel',
    {
      preValidation: noBodyIsEmpty, schema: { tags: ['proposals'], summary: 'Cancel (proposer or admin); needs If-Match', params: ProposalParams, body: EmptyBody, response: { 200: ProposalSchema, ...MUTATION_ERRORS } } },
    async (request, reply) => {
      const p = await cancelProposal(ctx, caller(request), pid(request), requireIfMatch(request));
      return withEtag(reply, p).send(p);
    },
  );

  app.post(
    '/proposals/:proposalId/finalize',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['proposals'],
        summary: 'Build the final transaction of a ready proposal; needs If-Match',
        params: ProposalParams,
        body: EmptyBody,
        response: { 200: looseObject({ txid: Type.String(), hex: Type.String(), proposal: ProposalSchema }), ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const r = await finalizeProposal(ctx, caller(request), pid(request), requireIfMatch(request));
      return withEtag(reply, r.proposal).send(r);
    },
  );

  app.post(
    '/proposals/:proposalId/broadcast',
    {
      preValidation: noBodyIsEmpty, schema: { tags: ['proposals'], summary: 'Finalize if needed and broadcast; needs If-Match', params: ProposalParams, body: EmptyBody, response: { 200: ProposalSchema, 502: ErrorSchema, 503: ErrorSchema, ...MUTATION_ERRORS } } },
    async (request, reply) => {
      const p = await broadcastProposal(ctx, app.mofn.gateway, caller(request), pid(request), requireIfMatch(request));
      return withEtag(reply, p).send(p);
    },
  );

  app.post(
    '/proposals/:proposalId/replace',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Propose a fee bump (RBF) of a broadcast, unconfirmed proposal: same inputs and payments, higher fee; needs M signatures again',
        params: ProposalParams,
        body: Type.Object({ feeRate: Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }), memo: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
        response: { 201: ProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const b = request.body as { feeRate: number; memo?: string };
      const p = await replaceProposal(ctx, caller(request), pid(request), b.feeRate, b.memo);
      return withEtag(reply.code(201).header('location', `/v1/proposals/${p.id}`), p).send(p);
    },
  );

  app.get(
    '/proposals/:proposalId/comments',
    { schema: { tags: ['comments'], summary: 'Comments, oldest first', params: ProposalParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ id: Type.String(), body: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => ({ items: await listComments(ctx, caller(request), pid(request)) }),
  );

  app.post(
    '/proposals/:proposalId/comments',
    {
      schema: {
        tags: ['comments'],
        summary: 'Comment on a proposal',
        params: ProposalParams,
        body: Type.Object({ body: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }),
        response: { 201: looseObject({ id: Type.String(), body: Type.String() }), 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => reply.code(201).send(await addComment(ctx, caller(request), pid(request), (request.body as { body: string }).body)),
  );
}
