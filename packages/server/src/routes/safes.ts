/** Safes (Ethereum / EVM multisig) served by the coordinator: registration, proposals, signatures, execution. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { InvalidInputError, PROPOSAL_STATES, type ProposalState } from '@mofn/core';
import {
  cancelSafeProposal,
  getSafeExecutionData,
  getSafeProposalView,
  getSafeTypedDataJson,
  getSafeView,
  listSafeProposalViews,
  listSafesOf,
  proposeCoordinatedSafeTx,
  recordSafeExecution,
  registerSafe,
  safeAccess,
  submitSafeSignature,
  type EvmRpcUrls,
  type SafeProposalSpec,
} from '@mofn/service';
import type { Address, Hex } from 'viem';
import { principalOf } from '../app.ts';
import { COMMON_ERRORS, EmptyBody, ErrorSchema, looseObject, noBodyIsEmpty } from './common.ts';

const SafeParams = Type.Object({ safe: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const SafeProposalParams = Type.Object({ safe: Type.String({ minLength: 1, maxLength: 200 }), proposalId: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
const SafeSchema = looseObject({ id: Type.String(), name: Type.String(), chainId: Type.Integer(), address: Type.String(), owners: Type.Array(Type.String()), threshold: Type.Integer() }, 'A Safe the coordinator serves');
const SafeProposalSchema = looseObject(
  {
    id: Type.Integer(),
    state: Type.Union(PROPOSAL_STATES.map((s) => Type.Literal(s))),
    safeTxHash: Type.String(),
    domainSeparator: Type.String(),
    nonce: Type.String(),
    summary: Type.String(),
    dangers: Type.Array(Type.String()),
    signatures: Type.Array(looseObject({ owner: Type.String(), counts: Type.Boolean() })),
  },
  'A SafeTx proposal: the SafeTx hash and domain separator recomputed by the server, the decoded call, danger flags, and owner signatures',
);
const MUTATION_ERRORS = { 409: ErrorSchema, 422: ErrorSchema, 502: ErrorSchema, ...COMMON_ERRORS } as const;
const Uint = (description: string) => Type.String({ pattern: '^[0-9]{1,78}$', description });
const EvmAddress = Type.String({ minLength: 1, maxLength: 64 });

const ProposeBody = Type.Object(
  {
    kind: Type.Union(['eth', 'erc20', 'call', 'batch', 'add_owner', 'remove_owner', 'swap_owner', 'threshold', 'reject'].map((k) => Type.Literal(k))),
    to: Type.Optional(EvmAddress),
    value: Type.Optional(Uint('wei, a decimal string')),
    token: Type.Optional(EvmAddress),
    amount: Type.Optional(Type.String({ minLength: 1, maxLength: 160, description: 'ERC-20 amount in whole tokens, e.g. "12.5"' })),
    abi: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 500 })),
    function: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    args: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 100 })),
    calls: Type.Optional(Type.Array(Type.Object({ to: EvmAddress, value: Type.Optional(Uint('wei')), data: Type.Optional(Type.String({ maxLength: 200_000 })) }, { additionalProperties: false }), { minItems: 1, maxItems: 100 })),
    owner: Type.Optional(EvmAddress),
    oldOwner: Type.Optional(EvmAddress),
    newOwner: Type.Optional(EvmAddress),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    nonce: Type.Optional(Uint('Safe nonce (default: the next free one); for `reject`, the nonce to reject')),
  },
  { additionalProperties: false },
);
type ProposeBodyT = { kind: SafeProposalSpec['kind'] } & Partial<Record<'to' | 'value' | 'token' | 'amount' | 'function' | 'owner' | 'oldOwner' | 'newOwner' | 'nonce', string>> & {
  abi?: unknown[];
  args?: unknown[];
  calls?: { to: string; value?: string; data?: string }[];
  threshold?: number;
};

function need<T>(body: ProposeBodyT, field: keyof ProposeBodyT, value: T | undefined): T {
  if (value === undefined) throw new InvalidInputError('safe.missing_field', `a '${body.kind}' proposal needs "${field}"`, { details: { field } });
  return value;
}

/** The proposal spec a request body describes. @throws InvalidInputError `safe.missing_field` */
function specOf(b: ProposeBodyT): SafeProposalSpec {
  const threshold = b.threshold === undefined ? {} : { threshold: b.threshold };
  switch (b.kind) {
    case 'eth':
      return { kind: 'eth', to: need(b, 'to', b.to), value: BigInt(need(b, 'value', b.value)) };
    case 'erc20':
      return { kind: 'erc20', token: need(b, 'token', b.token), to: need(b, 'to', b.to), amount: need(b, 'amount', b.amount) };
    case 'call':
      return { kind: 'call', to: need(b, 'to', b.to), abi: need(b, 'abi', b.abi), function: need(b, 'function', b.function), args: b.args ?? [], ...(b.value === undefined ? {} : { value: BigInt(b.value) }) };
    case 'batch':
      return { kind: 'batch', calls: need(b, 'calls', b.calls).map((c) => ({ to: c.to, ...(c.value === undefined ? {} : { value: BigInt(c.value) }), ...(c.data === undefined ? {} : { data: c.data }) })) };
    case 'add_owner':
      return { kind: 'add_owner', owner: need(b, 'owner', b.owner), ...threshold };
    case 'remove_owner':
      return { kind: 'remove_owner', owner: need(b, 'owner', b.owner), ...threshold };
    case 'swap_owner':
      return { kind: 'swap_owner', oldOwner: need(b, 'oldOwner', b.oldOwner), newOwner: need(b, 'newOwner', b.newOwner) };
    case 'threshold':
      return { kind: 'threshold', threshold: need(b, 'threshold', b.threshold) };
    case 'reject':
      return { kind: 'reject', nonce: BigInt(need(b, 'nonce', b.nonce)) };
  }
}

/** Registers the Safe routes; `rpc` maps the chain ids this server serves to their JSON-RPC URLs. */
export function registerSafeRoutes(app: FastifyInstance, rpc: EvmRpcUrls): void {
  const { ctx } = app.mofn;
  const caller = (request: FastifyRequest) => ({ userId: principalOf(request).user.id });
  const params = (request: FastifyRequest) => request.params as { safe: string; proposalId: string };

  app.post(
    '/safes',
    {
      schema: {
        tags: ['safes'],
        summary: 'Register an existing Safe (read on chain; its singleton must be an allow-listed deployment, version >= 1.3.0); you become its admin',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), chainId: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }), address: EvmAddress }, { additionalProperties: false }),
        response: { 201: SafeSchema, ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const b = request.body as { name: string; chainId: number; address: string };
      const view = await registerSafe(ctx, caller(request), rpc, b);
      return reply.code(201).header('location', `/v1/safes/${view.name}`).send(view);
    },
  );

  app.get('/safes', { schema: { tags: ['safes'], summary: 'Safes you hold a role on', response: { 200: Type.Object({ items: Type.Array(SafeSchema) }), ...COMMON_ERRORS } } }, async (request) => ({
    items: await listSafesOf(ctx, caller(request)),
  }));

  app.get('/safes/:safe', { schema: { tags: ['safes'], summary: 'One Safe, with your roles on it', params: SafeParams, response: { 200: SafeSchema, ...COMMON_ERRORS } } }, async (request) =>
    getSafeView(ctx, caller(request), params(request).safe),
  );

  app.post(
    '/safes/:safe/proposals',
    {
      schema: {
        tags: ['safes'],
        summary: 'Propose a SafeTx: ETH or ERC-20 transfer, contract call from an ABI, MultiSend batch, owner or threshold change, or a rejection of a nonce',
        params: SafeParams,
        body: ProposeBody,
        response: { 201: SafeProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request, reply) => {
      const b = request.body as ProposeBodyT;
      const spec = specOf(b);
      const nonce = b.kind === 'reject' || b.nonce === undefined ? undefined : BigInt(b.nonce);
      const p = await proposeCoordinatedSafeTx(ctx, caller(request), params(request).safe, spec, nonce);
      return reply.code(201).header('location', `/v1/safes/${p.safe}/proposals/${String(p.id)}`).send(p);
    },
  );

  app.get(
    '/safes/:safe/proposals',
    {
      schema: {
        tags: ['safes'],
        summary: 'Proposals of the Safe by nonce, optionally in one state',
        params: SafeParams,
        querystring: Type.Object({ state: Type.Optional(Type.Union(PROPOSAL_STATES.map((s) => Type.Literal(s)))) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(SafeProposalSchema) }), ...COMMON_ERRORS },
      },
    },
    async (request) => ({ items: await listSafeProposalViews(ctx, caller(request), params(request).safe, (request.query as { state?: ProposalState }).state) }),
  );

  app.get(
    '/safes/:safe/proposals/:proposalId',
    { schema: { tags: ['safes'], summary: 'One proposal with its review (number, or a safeTxHash prefix of 8+ hex digits)', params: SafeProposalParams, response: { 200: SafeProposalSchema, ...COMMON_ERRORS } } },
    async (request) => getSafeProposalView(ctx, caller(request), params(request).safe, params(request).proposalId),
  );

  app.get(
    '/safes/:safe/proposals/:proposalId/typed-data',
    {
      schema: {
        tags: ['safes'],
        summary: 'The EIP-712 typed data to sign (eth_signTypedData_v4), for hardware wallets and other software',
        params: SafeProposalParams,
        response: { 200: looseObject({ typedData: looseObject({}), safeTxHash: Type.String() }), ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { safe } = await safeAccess(ctx, caller(request), params(request).safe, 'read');
      return getSafeTypedDataJson(ctx, { safe: safe.name, id: params(request).proposalId });
    },
  );

  app.post(
    '/safes/:safe/proposals/:proposalId/signatures',
    {
      schema: {
        tags: ['safes'],
        summary: "Add your owner signature (EIP-712, eth_sign, approved hash or EIP-1271 contract signature); recovered and checked against the Safe's owners before it is stored",
        params: SafeProposalParams,
        body: Type.Object(
          {
            signer: EvmAddress,
            data: Type.String({ minLength: 4, maxLength: 20_000, description: '0x hex: 65 bytes r,s,v; or the standalone contract-signature form' }),
            chainId: Type.Optional(Type.Integer({ minimum: 1 })),
            safeAddress: Type.Optional(EvmAddress),
            safeTxHash: Type.Optional(Type.String({ maxLength: 66 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: looseObject({ proposal: SafeProposalSchema, added: looseObject({ owner: Type.String(), count: Type.Integer(), threshold: Type.Integer() }) }), ...MUTATION_ERRORS },
      },
    },
    async (request) => {
      const b = request.body as { signer: string; data: string; chainId?: number; safeAddress?: string; safeTxHash?: string };
      const sig = {
        signer: b.signer as Address,
        data: b.data as Hex,
        ...(b.chainId === undefined ? {} : { chainId: b.chainId }),
        ...(b.safeAddress === undefined ? {} : { safeAddress: b.safeAddress as Address }),
        ...(b.safeTxHash === undefined ? {} : { safeTxHash: b.safeTxHash as Hex }),
      };
      return submitSafeSignature(ctx, caller(request), params(request).safe, params(request).proposalId, sig);
    },
  );

  app.post(
    '/safes/:safe/proposals/:proposalId/cancel',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        tags: ['safes'],
        summary: 'Withdraw a proposal on the coordinator (proposer or Safe admin); to cancel on chain, propose a rejection at its nonce',
        params: SafeProposalParams,
        body: EmptyBody,
        response: { 200: SafeProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request) => cancelSafeProposal(ctx, caller(request), params(request).safe, params(request).proposalId),
  );

  app.get(
    '/safes/:safe/proposals/:proposalId/execution',
    {
      schema: {
        tags: ['safes'],
        summary: 'The execTransaction call (signatures sorted by owner) of a proposal that can execute now; any account may send it',
        params: SafeProposalParams,
        response: { 200: looseObject({ to: Type.String(), data: Type.String(), safeTxHash: Type.String() }), ...MUTATION_ERRORS },
      },
    },
    async (request) => getSafeExecutionData(ctx, caller(request), params(request).safe, params(request).proposalId),
  );

  app.post(
    '/safes/:safe/proposals/:proposalId/execution',
    {
      schema: {
        tags: ['safes'],
        summary: 'Report the Ethereum transaction that sent execTransaction; the server checks it on chain, then follows it to confirmed',
        params: SafeProposalParams,
        body: Type.Object({ txHash: Type.String({ minLength: 66, maxLength: 66 }) }, { additionalProperties: false }),
        response: { 200: SafeProposalSchema, ...MUTATION_ERRORS },
      },
    },
    async (request) => recordSafeExecution(ctx, caller(request), params(request).safe, params(request).proposalId, (request.body as { txHash: string }).txHash),
  );
}
