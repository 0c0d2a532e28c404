/** Wallets, their cosigners, addresses and roles. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { InvalidInputError } from '@mofn/core';
import {
  createWallet,
  decodeCursor,
  encodeCursor,
  exportWallet,
  getUser,
  grantRole,
  importWallet,
  safeOwnerKey,
  safeOwnerKeys,
  isWalletRole,
  listAddresses,
  listRoles,
  loadWallet,
  nextReceiveAddress,
  revokeRole,
  rolesOn,
  verifyAddress,
  walletIdsOf,
  type LoadedWallet,
  type RoleView,
  type WalletExportFormat,
} from '@mofn/service';
import { createBitcoinAdapter, type Network, type ScriptType } from '@mofn/bitcoin';
import { principalOf } from '../app.ts';
import { COMMON_ERRORS, EmptyBody, ErrorSchema, looseObject, noBodyIsEmpty, PageQuery, WalletParams, walletAccess, walletRowAccess } from './common.ts';

const WalletSchema = looseObject(
  {
    id: Type.String(),
    name: Type.String(),
    network: Type.String(),
    type: Type.String(),
    threshold: Type.Integer(),
    total: Type.Integer(),
    descriptor: Type.String(),
    cosigners: Type.Array(looseObject({ id: Type.String(), position: Type.Integer(), fingerprint: Type.String(), xpub: Type.String() })),
  },
  'A wallet: its canonical descriptor and cosigner keys (immutable; the id is a hash of the definition)',
);

/** The wallet as the API shows it: cosigners carry their id (account public key), which roles and signatures name. */
export function walletJson(w: LoadedWallet, roles?: readonly RoleView[]) {
  const adapter = createBitcoinAdapter({ deriver: w.deriver });
  return {
    ...w.view,
    chain: 'bitcoin',
    cosigners: w.view.cosigners.map((c) => ({ ...c, id: adapter.cosignerId(c.position) })),
    ...(roles === undefined ? {} : { myRoles: roles.map((r) => ({ role: r.role, cosigner: r.cosigner })) }),
  };
}

const CreateWalletBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    descriptor: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000, description: 'descriptor, Caravan JSON, Coldcard or Electrum wallet file text' })),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 999 })),
    keys: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 999 })),
    type: Type.Optional(Type.Union([Type.Literal('wsh'), Type.Literal('sh-wsh'), Type.Literal('sh'), Type.Literal('tr')])),
    network: Type.Optional(Type.Union([Type.Literal('main'), Type.Literal('test'), Type.Literal('signet'), Type.Literal('regtest')])),
    sorted: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Registers /wallets routes. */
export function registerWalletRoutes(app: FastifyInstance): void {
  const { ctx } = app.mofn;

  app.post(
    '/wallets',
    { schema: { tags: ['wallets'], summary: 'Create a wallet from cosigner keys, or import a descriptor / wallet file', body: CreateWalletBody, response: { 201: WalletSchema, 409: ErrorSchema, 422: ErrorSchema, ...COMMON_ERRORS } } },
    async (request, reply) => {
      const me = principalOf(request).user;
      const b = request.body as { name?: string; descriptor?: string; threshold?: number; keys?: string[]; type?: ScriptType; network?: Network; sorted?: boolean };
      let view;
      if (b.descriptor !== undefined) {
        if (b.keys !== undefined || b.threshold !== undefined) throw new InvalidInputError('wallet.ambiguous', 'give either a descriptor (or wallet file) or threshold + keys, not both');
        view = await importWallet(ctx, { text: b.descriptor, ...(b.name === undefined ? {} : { name: b.name }), ...(b.network === undefined ? {} : { network: b.network }), creator: me.id });
      } else {
        if (b.keys === undefined || b.threshold === undefined || b.name === undefined) {
          throw new InvalidInputError('wallet.incomplete', 'a new wallet needs name, threshold and keys (or a descriptor)', { hint: 'POST {"name":"vault","threshold":2,"keys":["[fp/48h/0h/0h/2h]xpub...", ...]}' });
        }
        view = await createWallet(ctx, {
          name: b.name,
          threshold: b.threshold,
          keys: b.keys,
          creator: me.id,
          ...(b.type === undefined ? {} : { type: b.type }),
          ...(b.network === undefined ? {} : { network: b.network }),
          ...(b.sorted === undefined ? {} : { sorted: b.sorted }),
        });
      }
      const w = await loadWallet(ctx, view.id);
      return reply.code(201).header('location', `/v1/wallets/${view.id}`).send(walletJson(w, await rolesOn(ctx, view.id, me.id)));
    },
  );

  app.get(
    '/wallets',
    { schema: { tags: ['wallets'], summary: 'Wallets you hold a role on', querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Type.Object({ items: Type.Array(WalletSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...COMMON_ERRORS } } },
    async (request) => {
      const me = principalOf(request).user;
      const q = request.query as { cursor?: string; limit?: number };
      const limit = q.limit ?? 50;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor)[1];
      const ids = (await walletIdsOf(ctx, me.id)).sort().filter((id) => after === undefined || id > after);
      const page = ids.slice(0, limit);
      const items = [];
      for (const id of page) items.push(walletJson(await loadWallet(ctx, id)));
      return { items, nextCursor: ids.length > limit ? encodeCursor('', page[page.length - 1]!) : null };
    },
  );

  app.get('/wallets/:walletId', { schema: { tags: ['wallets'], summary: 'One wallet', params: WalletParams, response: { 200: WalletSchema, ...COMMON_ERRORS } } }, async (request) => {
    const { wallet, roles } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
    return walletJson(wallet, roles);
  });

  app.get(
    '/wallets/:walletId/cosigners',
    { schema: { tags: ['cosigners'], summary: "The wallet's cosigner keys", params: WalletParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ id: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      return { items: walletJson(wallet).cosigners };
    },
  );

  app.get(
    '/wallets/:walletId/export',
    {
      schema: {
        tags: ['wallets'],
        summary: 'Export the wallet (descriptor, Caravan JSON, Coldcard file)',
        params: WalletParams,
        querystring: Type.Object({ format: Type.Union([Type.Literal('descriptor'), Type.Literal('caravan'), Type.Literal('coldcard')], { default: 'descriptor' }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ format: Type.String(), text: Type.String() }), ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      const format = (request.query as { format: WalletExportFormat }).format;
      return { format, text: await exportWallet(ctx, wallet.view.id, format) };
    },
  );

  app.get(
    '/wallets/:walletId/addresses',
    {
      schema: {
        tags: ['addresses'],
        summary: 'Derive addresses',
        params: WalletParams,
        querystring: Type.Object(
          { branch: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])), from: Type.Optional(Type.Integer({ minimum: 0, maximum: 0x7fffffff })), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(looseObject({ address: Type.String(), path: Type.String() })) }), 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      const q = request.query as { branch?: 0 | 1; from?: number; count?: number };
      return { items: await listAddresses(ctx, wallet.view.id, { branch: q.branch ?? 0, index: q.from ?? 0, count: q.count ?? 20 }) };
    },
  );

  app.post(
    '/wallets/:walletId/addresses/next',
    { preValidation: noBodyIsEmpty, schema: { tags: ['addresses'], summary: 'Hand out the next receive address nobody was given', params: WalletParams, body: EmptyBody, response: { 201: looseObject({ address: Type.String(), path: Type.String() }), ...COMMON_ERRORS } } },
    async (request, reply) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'propose');
      return reply.code(201).send(await nextReceiveAddress(ctx, wallet.view.id, principalOf(request).user.id));
    },
  );

  app.post(
    '/wallets/:walletId/addresses/verify',
    {
      schema: {
        tags: ['addresses'],
        summary: 'Find the derivation path of an address, or say it is not the wallet’s',
        params: WalletParams,
        body: Type.Object({ address: Type.String({ minLength: 1, maxLength: 200 }), bound: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) }, { additionalProperties: false }),
        response: { 200: looseObject({ belongs: Type.Boolean() }), 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { wallet } = await walletAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      const b = request.body as { address: string; bound?: number };
      return verifyAddress(ctx, wallet.view.id, b.address, b.bound);
    },
  );

  app.get(
    '/wallets/:walletId/roles',
    { schema: { tags: ['roles'], summary: 'Role grants on the wallet', params: WalletParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ userId: Type.String(), role: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => {
      const { walletId } = await walletRowAccess(app, request, (request.params as { walletId: string }).walletId, 'read');
      return { items: await listRoles(ctx, walletId) };
    },
  );

  app.post(
    '/wallets/:walletId/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'Grant a role (wallet admin); a signer is bound to one cosigner (position or id)',
        params: WalletParams,
        body: Type.Object(
          {
            user: Type.String({ minLength: 1, maxLength: 100 }),
            role: Type.Union([Type.Literal('admin'), Type.Literal('proposer'), Type.Literal('signer'), Type.Literal('viewer')]),
            cosigner: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 998 }), Type.String({ minLength: 1, maxLength: 200 })])),
          },
          { additionalProperties: false },
        ),
        response: { 201: looseObject({ userId: Type.String(), role: Type.String() }), 409: ErrorSchema, 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { walletId, chain } = await walletRowAccess(app, request, (request.params as { walletId: string }).walletId, 'manage');
      const b = request.body as { user: string; role: string; cosigner?: number | string };
      if (!isWalletRole(b.role)) throw new InvalidInputError('role.bad_role', 'unknown role');
      // A Bitcoin signer is bound to a cosigner key, a Safe signer to an owner address (by position or address).
      let cosigners: readonly string[];
      let cosigner: string | undefined;
      if (chain === 'ethereum') {
        const { safe, keys } = await safeOwnerKeys(ctx, walletId);
        cosigners = keys;
        cosigner = b.cosigner === undefined ? undefined : safeOwnerKey(safe, b.cosigner);
      } else {
        const adapter = createBitcoinAdapter({ deriver: (await loadWallet(ctx, walletId)).deriver });
        cosigners = adapter.cosigners;
        cosigner = b.cosigner === undefined ? undefined : typeof b.cosigner === 'number' ? adapter.cosignerId(b.cosigner) : b.cosigner;
      }
      const user = await getUser(ctx, b.user);
      const grant = await grantRole(ctx, {
        walletId,
        userId: user.id,
        role: b.role,
        cosigners,
        actor: principalOf(request).user.id,
        ...(cosigner === undefined ? {} : { cosigner }),
      });
      return reply.code(201).send(grant);
    },
  );

  app.delete(
    '/wallets/:walletId/roles/:userId/:role',
    {
      schema: {
        tags: ['roles'],
        summary: 'Revoke a role (wallet admin)',
        params: Type.Object({ walletId: Type.String({ minLength: 1, maxLength: 200 }), userId: Type.String({ minLength: 1, maxLength: 100 }), role: Type.String({ maxLength: 20 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), 409: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const p = request.params as { walletId: string; userId: string; role: string };
      const { walletId } = await walletRowAccess(app, request, p.walletId, 'manage');
      if (!isWalletRole(p.role)) throw new InvalidInputError('role.bad_role', `'${p.role}' is not a role`);
      const user = await getUser(ctx, p.userId);
      await revokeRole(ctx, { walletId, userId: user.id, role: p.role, actor: principalOf(request).user.id });
      return reply.code(204).send();
    },
  );
}
