/**
 * Users, API tokens and per-wallet roles. A token is 32 random bytes shown once; only its sha256 is
 * stored (the secret has full entropy, so a fast hash suffices and lookups stay O(1)).
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError } from '@mofn/core';
import type { ServiceContext } from '../context.ts';
import type { WalletRoleTable } from '../store/schema.ts';
import { appendAudit } from './audit.ts';
import { inTx, inWalletTx, newId } from './tx.ts';

/** Per-wallet roles. */
export const WALLET_ROLES = Object.freeze(['admin', 'proposer', 'signer', 'viewer'] as const);
/** A per-wallet role. */
export type WalletRole = (typeof WALLET_ROLES)[number];

/** A user as APIs show it. */
export interface UserView {
  readonly id: string;
  readonly name: string;
  readonly isAdmin: boolean;
  readonly createdAt: string;
}

/** An authenticated caller. */
export interface Principal {
  readonly user: UserView;
  readonly tokenId: string;
}

/** A role grant as APIs show it. */
export interface RoleView {
  readonly walletId: string;
  readonly userId: string;
  readonly role: WalletRole;
  /** For `signer`: the cosigner id the user signs for. */
  readonly cosigner: string | null;
  readonly createdAt: string;
}

const TOKEN_PREFIX = 'mofn_';
const USER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function hashToken(secret: string): string {
  return bytesToHex(sha256(utf8ToBytes(secret)));
}

/** True when `value` is one of {@link WALLET_ROLES}. */
export function isWalletRole(value: unknown): value is WalletRole {
  return typeof value === 'string' && (WALLET_ROLES as readonly string[]).includes(value);
}

/**
 * Creates a user.
 * @throws InvalidInputError `user.bad_name`; ConflictError `user.name_taken`.
 */
export async function createUser(ctx: ServiceContext, params: { readonly name: string; readonly isAdmin?: boolean }): Promise<UserView> {
  if (typeof params.name !== 'string' || !USER_NAME_RE.test(params.name)) {
    throw new InvalidInputError('user.bad_name', `user name '${params.name.slice(0, 70)}' is not allowed`, { hint: 'use 1-64 letters, digits, dot, dash, underscore or @' });
  }
  return inTx(ctx, async ({ trx, at }) => {
    const taken = await trx.selectFrom('users').select('id').where('name', '=', params.name).executeTakeFirst();
    if (taken !== undefined) throw new ConflictError('user.name_taken', `a user named '${params.name}' exists`);
    const id = newId();
    await trx.insertInto('users').values({ id, name: params.name, is_admin: params.isAdmin === true ? 1 : 0, created_at: at }).execute();
    return { id, name: params.name, isAdmin: params.isAdmin === true, createdAt: at };
  });
}

/** Finds a user by id or name. @throws NotFoundError `user.not_found`. */
export async function getUser(ctx: ServiceContext, idOrName: string): Promise<UserView> {
  const r = await ctx.db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
  if (r === undefined) throw new NotFoundError('user.not_found', `no user '${idOrName.slice(0, 70)}'`);
  return { id: r.id, name: r.name, isAdmin: r.is_admin === 1, createdAt: r.created_at };
}

/** Lists users by name. */
export async function listUsers(ctx: ServiceContext): Promise<UserView[]> {
  const rows = await ctx.db.selectFrom('users').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, isAdmin: r.is_admin === 1, createdAt: r.created_at }));
}

/** A token as created: the secret appears here once and nowhere else. */
export interface CreatedToken {
  readonly id: string;
  readonly userId: string;
  readonly label: string | null;
  readonly token: string;
  readonly createdAt: string;
}

/** Creates an API token for a user. @throws NotFoundError `user.not_found`. */
export async function createToken(ctx: ServiceContext, userIdOrName: string, label?: string): Promise<CreatedToken> {
  const user = await getUser(ctx, userIdOrName);
  if (label !== undefined && (typeof label !== 'string' || label.length > 100)) throw new InvalidInputError('token.bad_label', 'a token label is at most 100 characters');
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = newId();
  const createdAt = ctx.now().toISOString();
  await ctx.db.insertInto('tokens').values({ id, user_id: user.id, token_hash: hashToken(token), label: label ?? null, created_at: createdAt, revoked_at: null }).execute();
  return { id, userId: user.id, label: label ?? null, token, createdAt };
}

/** Lists a user's tokens (never their secrets). */
export async function listTokens(ctx: ServiceContext, userId: string): Promise<{ id: string; label: string | null; createdAt: string; revokedAt: string | null }[]> {
  const rows = await ctx.db.selectFrom('tokens').select(['id', 'label', 'created_at', 'revoked_at']).where('user_id', '=', userId).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at }));
}

/** Revokes a token of `userId`. @throws NotFoundError `token.not_found`. */
export async function revokeToken(ctx: ServiceContext, userId: string, tokenId: string): Promise<void> {
  const r = await ctx.db.updateTable('tokens').set({ revoked_at: ctx.now().toISOString() }).where('id', '=', tokenId).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  if (r.numUpdatedRows === 0n) throw new NotFoundError('token.not_found', `no active token ${tokenId.slice(0, 40)} for this user`);
}

/**
 * Resolves a bearer token to its user.
 * @throws UnauthorizedError `auth.invalid_token` for a malformed, unknown or revoked token.
 */
export async function authenticate(ctx: ServiceContext, token: string): Promise<Principal> {
  const bad = () => new UnauthorizedError('auth.invalid_token', 'the API token is not valid', { hint: 'create a token with `mofn admin create-token`' });
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 100) throw bad();
  const r = await ctx.db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .select(['tokens.id as token_id', 'tokens.revoked_at', 'users.id', 'users.name', 'users.is_admin', 'users.created_at'])
    .where('tokens.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (r === undefined || r.revoked_at !== null) throw bad();
  return { tokenId: r.token_id, user: { id: r.id, name: r.name, isAdmin: r.is_admin === 1, createdAt: r.created_at } };
}

/** A wallet_roles row as APIs show it. */
export function roleViewOf(r: Pick<WalletRoleTable, 'wallet_id' | 'user_id' | 'role' | 'cosigner' | 'created_at'>): RoleView {
  return { walletId: r.wallet_id, userId: r.user_id, role: r.role as WalletRole, cosigner: r.cosigner, createdAt: r.created_at };
}

/** The roles a user holds on a wallet. */
export async function rolesOn(ctx: ServiceContext, walletId: string, userId: string): Promise<RoleView[]> {
  const rows = await ctx.db.selectFrom('wallet_roles').selectAll().where('wallet_id', '=', walletId).where('user_id', '=', userId).execute();
  return rows.map(roleViewOf);
}

/** Every grant on a wallet. */
export async function listRoles(ctx: ServiceContext, walletId: string): Promise<RoleView[]> {
  const rows = await ctx.db.selectFrom('wallet_roles').selectAll().where('wallet_id', '=', walletId).orderBy('created_at').execute();
  return rows.map(roleViewOf);
}

/** Ids of the wallets of `chain` (default Bitcoin) a user holds any role on. */
export async function walletIdsOf(ctx: ServiceContext, userId: string, chain = 'bitcoin'): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('wallet_roles')
    .innerJoin('wallets', 'wallets.id', 'wallet_roles.wallet_id')
    .select('wallet_roles.wallet_id')
    .distinct()
    .where('wallet_roles.user_id', '=', userId)
    .where('wallets.chain', '=', chain)
    .execute();
  return rows.map((r) => r.wallet_id);
}

/** Parameters of {@link grantRole}. */
export interface GrantRoleParams {
  readonly walletId: string;
  readonly userId: string;
  readonly role: WalletRole;
  /** Required for `signer`: the cosigner id (see the wallet's cosigners). */
  readonly cosigner?: string;
  /** The valid cosigner ids of the wallet. */
  readonly cosigners: readonly string[];
  readonly actor: string;
}

/**
 * Grants a role (idempotent), audited.
 * @throws InvalidInputError `role.bad_role`, `role.cosigner_required`, `role.bad_cosigner`;
 *   NotFoundError `user.not_found`; ConflictError `role.cosigner_taken` when another user signs for that key.
 */
export async function grantRole(ctx: ServiceContext, p: GrantRoleParams): Promise<RoleView> {
  if (!isWalletRole(p.role)) throw new InvalidInputError('role.bad_role', `'${String(p.role).slice(0, 40)}' is not a role`, { hint: `use one of ${WALLET_ROLES.join(', ')}` });
  if (p.role === 'signer' && p.cosigner === undefined) throw new InvalidInputError('role.cosigner_required', 'a signer role is bound to one cosigner key: name it');
  if (p.role !== 'signer' && p.cosigner !== undefined) throw new InvalidInputError('role.bad_cosigner', 'only a signer role is bound to a cosigner');
  if (p.cosigner !== undefined && !p.cosigners.includes(p.cosigner)) throw new InvalidInputError('role.bad_cosigner', `'${p.cosigner.slice(0, 70)}' is not a cosigner of this wallet`);
  await getUser(ctx, p.userId);
  return inWalletTx(ctx, p.walletId, async (tx) => {
    const existing = await tx.trx.selectFrom('wallet_roles').selectAll().where('wallet_id', '=', p.walletId).where('user_id', '=', p.userId).where('role', '=', p.role).executeTakeFirst();
    if (existing !== undefined && existing.cosigner === (p.cosigner ?? null)) {
      return roleViewOf(existing);
    }
    if (existing !== undefined) throw new ConflictError('role.exists', 'the user already signs for another cosigner of this wallet; revoke that role first');
    if (p.cosigner !== undefined) {
      const holder = await tx.trx.selectFrom('wallet_roles').select('user_id').where('wallet_id', '=', p.walletId).where('role', '=', 'signer').where('cosigner', '=', p.cosigner).executeTakeFirst();
      if (holder !== undefined) throw new ConflictError('role.cosigner_taken', 'another user already signs for this cosigner key');
    }
    await tx.trx.insertInto('wallet_roles').values({ wallet_id: p.walletId, user_id: p.userId, role: p.role, cosigner: p.cosigner ?? null, created_at: tx.at }).execute();
    await appendAudit(tx, p.walletId, 'role.granted', p.actor, { user: p.userId, role: p.role, cosigner: p.cosigner ?? null });
    return { walletId: p.walletId, userId: p.userId, role: p.role, cosigner: p.cosigner ?? null, createdAt: tx.at };
  });
}

/**
 * Revokes a role, audited. A wallet keeps at least one admin.
 * @throws NotFoundError `role.not_found`; ConflictError `role.last_admin`.
 */
export async function revokeRole(ctx: ServiceContext, p: { walletId: string; userId: string; role: WalletRole; actor: string }): Promise<void> {
  await inWalletTx(ctx, p.walletId, async (tx) => {
    if (p.role === 'admin') {
      const admins = await tx.trx.selectFrom('wallet_roles').select('user_id').where('wallet_id', '=', p.walletId).where('role', '=', 'admin').execute();
      if (admins.length === 1 && admins[0]!.user_id === p.userId) throw new ConflictError('role.last_admin', 'a wallet keeps at least one admin: grant another first');
    }
    const r = await tx.trx.deleteFrom('wallet_roles').where('wallet_id', '=', p.walletId).where('user_id', '=', p.userId).where('role', '=', p.role).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw new NotFoundError('role.not_found', 'the user does not hold that role on this wallet');
    await appendAudit(tx, p.walletId, 'role.revoked', p.actor, { user: p.userId, role: p.role });
  });
}

/** What a set of roles allows. */
export type Permission = 'read' | 'propose' | 'sign' | 'manage';

const ALLOWS: Readonly<Record<WalletRole, readonly Permission[]>> = Object.freeze({
  admin: ['read', 'propose', 'manage'],
  proposer: ['read', 'propose'],
  signer: ['read', 'sign'],
  viewer: ['read'],
});

/** True when any of `roles` grants `permission`. */
export function allows(roles: readonly RoleView[], permission: Permission): boolean {
  return roles.some((r) => ALLOWS[r.role].includes(permission));
}

/**
 * Checks a permission. Callers without any role must get a not-found error instead (existence is not leaked).
 * @throws ForbiddenError `auth.forbidden`.
 */
export function assertAllowed(roles: readonly RoleView[], permission: Permission): void {
  if (!allows(roles, permission)) {
    throw new ForbiddenError('auth.forbidden', `your roles on this wallet (${roles.map((r) => r.role).join(', ')}) do not allow '${permission}'`, {
      hint: 'ask a wallet admin for the role you need',
    });
  }
}
