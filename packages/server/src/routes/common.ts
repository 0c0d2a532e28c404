/** Helpers shared by the route modules: wallet access checks and common schemas. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { NotFoundError } from '@mofn/core';
import { assertAllowed, loadWallet, rolesOn, type LoadedWallet, type Permission, type RoleView } from '@mofn/service';
import { principalOf } from '../app.ts';

/** The wallet a request names, if the caller holds a role on it allowing `permission`; else 404 (no role) or 403. */
export async function walletAccess(app: FastifyInstance, request: FastifyRequest, idOrName: string, permission: Permission): Promise<{ wallet: LoadedWallet; roles: RoleView[] }> {
  const principal = principalOf(request);
  const hidden = () => new NotFoundError('wallet.not_found', `no wallet '${idOrName.slice(0, 80)}'`);
  let wallet: LoadedWallet;
  try {
    wallet = await loadWallet(app.mofn.ctx, idOrName);
  } catch (e) {
    if (e instanceof NotFoundError) throw hidden();
    throw e;
  }
  const roles = await rolesOn(app.mofn.ctx, wallet.view.id, principal.user.id);
  if (roles.length === 0) throw hidden();
  assertAllowed(roles, permission);
  return { wallet, roles };
}

/**
 * Like {@link walletAccess} for routes that need only the wallet's id: audit log, webhooks and roles
 * serve Bitcoin wallets and coordinated Safes alike (a Safe's id is its `id` in /v1/safes).
 */
export async function walletRowAccess(app: FastifyInstance, request: FastifyRequest, idOrName: string, permission: Permission): Promise<{ walletId: string; chain: string; roles: RoleView[] }> {
  const principal = principalOf(request);
  const hidden = () => new NotFoundError('wallet.not_found', `no wallet '${idOrName.slice(0, 80)}'`);
  const row = await app.mofn.ctx.db
    .selectFrom('wallets')
    .select(['id', 'chain'])
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
  if (row === undefined) throw hidden();
  const roles = await rolesOn(app.mofn.ctx, row.id, principal.user.id);
  if (roles.length === 0) throw hidden();
  assertAllowed(roles, permission);
  return { walletId: row.id, chain: row.chain, roles };
}

/** The error body schema (for OpenAPI). */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()), hint: Type.Optional(Type.String()) }),
  },
  { $id: 'Error' },
);

/** An open object schema for a response documented by its main fields. */
export function looseObject(props: Record<string, TSchema>, description?: string): TSchema {
  return Type.Object(props, { additionalProperties: true, ...(description === undefined ? {} : { description }) });
}

/** Error responses every authenticated route may give. */
export const COMMON_ERRORS = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  429: ErrorSchema,
} as const;

/** Path parameter: a wallet id (or its unique name). */
export const WalletParams = Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
/** Path parameter: a proposal id. */
export const ProposalParams = Type.Object({ proposalId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
/** Cursor pagination query. */
export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
};

/** Body of actions that take none: an empty object. */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/** A POST without a body counts as `{}` (curl -X POST), so the empty-body schema still refuses unknown fields. */
export function noBodyIsEmpty(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  request.body ??= {};
  done();
}
