/** Users and API tokens. Server admins manage users; everyone manages their own tokens. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ForbiddenError, NotFoundError } from '@mofn/core';
import { createToken, createUser, getUser, listTokens, listUsers, revokeToken } from '@mofn/service';
import { principalOf } from '../app.ts';
import { COMMON_ERRORS, ErrorSchema, looseObject } from './common.ts';

const UserSchema = looseObject({ id: Type.String(), name: Type.String(), isAdmin: Type.Boolean(), createdAt: Type.String() });
const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

/** Registers /users routes. */
export function registerAdminRoutes(app: FastifyInstance): void {
  const { ctx } = app.mofn;
  const assertServerAdmin = (isAdmin: boolean) => {
    if (!isAdmin) throw new ForbiddenError('auth.not_server_admin', 'only a server admin manages users', { hint: 'ask an admin, or bootstrap one with `mofn admin create-user --admin`' });
  };
  /** Own user, or any user for a server admin; others are not found (no leak). */
  const resolveUser = async (me: { id: string; isAdmin: boolean }, userId: string) => {
    if (userId === 'me' || userId === me.id) return me.id;
    if (!me.isAdmin) throw new NotFoundError('user.not_found', `no user '${userId.slice(0, 70)}'`);
    return (await getUser(ctx, userId)).id;
  };

  app.get('/users/me', { schema: { tags: ['users'], summary: 'The calling user', response: { 200: UserSchema, ...COMMON_ERRORS } } }, (request, reply) => reply.send(principalOf(request).user));

  app.get('/users', { schema: { tags: ['users'], summary: 'List users (server admin)', response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...COMMON_ERRORS } } }, async (request) => {
    assertServerAdmin(principalOf(request).user.isAdmin);
    return { items: await listUsers(ctx) };
  });

  app.post(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user (server admin)',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), admin: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 201: UserSchema, 409: ErrorSchema, 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      assertServerAdmin(principalOf(request).user.isAdmin);
      const body = request.body as { name: string; admin?: boolean };
      return reply.code(201).send(await createUser(ctx, { name: body.name, isAdmin: body.admin === true }));
    },
  );

  app.post(
    '/users/:userId/tokens',
    {
      schema: {
        tags: ['users'],
        summary: 'Create an API token (shown once)',
        params: UserParams,
        body: Type.Object({ label: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
        response: { 201: looseObject({ id: Type.String(), token: Type.String(), label: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String() }), 422: ErrorSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const me = principalOf(request).user;
      const userId = await resolveUser(me, (request.params as { userId: string }).userId);
      const label = (request.body as { label?: string } | undefined)?.label;
      return reply.code(201).header('cache-control', 'no-store').send(await createToken(ctx, userId, label));
    },
  );

  app.get(
    '/users/:userId/tokens',
    { schema: { tags: ['users'], summary: "List a user's tokens (never their secrets)", params: UserParams, response: { 200: Type.Object({ items: Type.Array(looseObject({ id: Type.String() })) }), ...COMMON_ERRORS } } },
    async (request) => {
      const userId = await resolveUser(principalOf(request).user, (request.params as { userId: string }).userId);
      return { items: await listTokens(ctx, userId) };
    },
  );

  app.delete(
    '/users/:userId/tokens/:tokenId',
    {
      schema: {
        tags: ['users'],
        summary: 'Revoke a token',
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 100 }), tokenId: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const p = request.params as { userId: string; tokenId: string };
      const userId = await resolveUser(principalOf(request).user, p.userId);
      await revokeToken(ctx, userId, p.tokenId);
      return reply.code(204).send();
    },
  );
}
