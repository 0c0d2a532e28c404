/**
 * The coordinator's HTTP API as a Fastify app: auth, rate limits, idempotency, errors, OpenAPI,
 * metrics and the routes per resource. Stateless: everything lives in the store (and Redis for shared
 * rate limits), so any number of instances can serve one PostgreSQL.
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Redis } from 'ioredis';
import { MofnError, UnauthorizedError } from '@mofn/core';
import {
  abandonIdempotent,
  authenticate,
  beginIdempotent,
  completeIdempotent,
  createContext,
  pingStore,
  type ChainGateway,
  type Principal,
  type ServiceContext,
  type Store,
  type EvmRpcUrls,
} from '@mofn/service';
import { bodyOf, HttpError, statusOf } from './errors.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { registerAdminRoutes } from './routes/users.ts';
import { registerSafeRoutes } from './routes/safes.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerProposalRoutes } from './routes/proposals.ts';
import { registerWalletRoutes } from './routes/wallets.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { webhookSecret } from './secrets.ts';

/** Options of {@link buildApp}. */
export interface AppOptions {
  readonly store: Store;
  /** 32-byte server key (see secrets.ts). */
  readonly serverKey: Uint8Array;
  /** Chain backends for broadcast and confirmations; without one, broadcast answers 503. */
  readonly gateway?: ChainGateway;
  /** pino logger options, or false (default: JSON logs at info). */
  readonly logger?: FastifyServerOptions['logger'];
  /** Shared rate-limit counters (several instances); per-instance memory otherwise. */
  readonly redis?: Redis;
  /** Requests per minute per token and per IP (default 600 / 1200). */
  readonly rateLimit?: { readonly perToken?: number; readonly perIp?: number; readonly windowMs?: number };
  /** Largest request body, bytes (default 4 MiB: a 700-input PSBT is about 1.2 MB in base64). */
  readonly bodyLimit?: number;
  /** The clock (tests move it). */
  readonly now?: () => Date;
  /** JSON-RPC endpoints of the EVM chains whose Safes this server serves, by chain id. */
  readonly evmRpc?: EvmRpcUrls;
}

/** What every route handler reaches through `app.mofn`. */
export interface AppState {
  readonly ctx: ServiceContext;
  readonly gateway: ChainGateway | undefined;
  readonly secretFor: (webhookId: string) => string;
  readonly metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    mofn: AppState;
  }
  interface FastifyRequest {
    principal?: Principal;
    idempotencyKey?: string | undefined;
  }
}

/** The app type with TypeBox schemas as types. */
export type App = FastifyInstance<never, never, never, never, TypeBoxTypeProvider> | FastifyInstance;

/** The authenticated principal of a request (routes under /v1 only run after auth). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new UnauthorizedError('auth.missing_token', 'this route needs an API token');
  return request.principal;
}

/** The If-Match header, required for state transitions. @throws HttpError `precondition.required` (428). */
export function requireIfMatch(request: FastifyRequest): string {
  const v = request.headers['if-match'];
  if (typeof v !== 'string' || v.trim() === '') {
    throw new HttpError('precondition.required', 'this change needs an If-Match header with the ETag you last read', { hint: 'GET the proposal, then send its ETag as If-Match' });
  }
  return v;
}

/** Two Ajv instances: bodies are validated strictly (no type coercion); query, params and headers are coerced from text. */
function validators(): { body: Ajv; text: Ajv } {
  const make = (coerce: boolean): Ajv => {
    const ajv = new Ajv({ allErrors: false, coerceTypes: coerce ? 'array' : false, removeAdditional: false, useDefaults: true, strict: false });
    addFormats.default(ajv);
    return ajv;
  };
  return { body: make(false), text: make(true) };
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Builds the app (not listening). The caller listens and closes it.
 * @example
 * const app = await buildApp({ store, serverKey });
 * await app.listen({ host: '127.0.0.1', port: 8420 });
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: 'info', redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' } },
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    // Long path ids must reach schema validation (a typed 400), not the router's own 414.
    routerOptions: { maxParamLength: 2048 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    ajv: { customOptions: { coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const v = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? v.body : v.text).compile(schema));

  const ctx = createContext(options.store, options.now);
  const metrics = createMetrics();
  app.decorate('mofn', {
    ctx,
    gateway: options.gateway,
    secretFor: (id: string) => webhookSecret(options.serverKey, id),
    metrics,
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    const e = normalizeError(err);
    const status = statusOf(e);
    if (status >= 500) request.log.error({ err: e instanceof MofnError ? { code: e.code, message: e.message } : sanitize(err) }, 'request failed');
    else request.log.info({ code: e instanceof MofnError ? e.code : 'unknown', status }, 'request refused');
    void reply.code(status).type('application/json').send(bodyOf(e, status));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'route.not_found', message: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}` } });
  });

  const window = options.rateLimit?.windowMs ?? 60_000;
  // Per IP over every route; per token again under /v1 (below).
  await app.register(rateLimit, {
    global: true,
    max: options.rateLimit?.perIp ?? 1200,
    timeWindow: window,
    ...(options.redis === undefined ? {} : { redis: options.redis, nameSpace: 'mofn-rl-ip-' }),
    keyGenerator: (req) => req.ip,
    errorResponseBuilder: (_req, c) => rateLimitedBody(c.after),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'mofn coordinator API', version: '1.0.0', description: 'M-of-N multisig coordinator: wallets, proposals, independent signatures, roles, audit log, webhooks.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token from `mofn admin create-token`' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { hide: true } }, (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ok = await pingStore(options.store);
    return reply.code(ok ? 200 : 503).send(ok ? { status: 'ready' } : { error: { code: 'store.unreachable', message: 'the store does not answer' } });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));

  await app.register(
    async (v1) => {
      v1.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, (_req, reply) => reply.send(app.swagger()));
      await v1.register(rateLimit, {
        global: true,
        max: options.rateLimit?.perToken ?? 600,
        timeWindow: window,
        ...(options.redis === undefined ? {} : { redis: options.redis, nameSpace: 'mofn-rl-token-' }),
        keyGenerator: (req) => tokenKey(req),
        errorResponseBuilder: (_req, c) => rateLimitedBody(c.after),
      });
      v1.addHook('onRequest', async (request) => {
        if ((request.routeOptions.config as { public?: boolean } | undefined)?.public === true) return;
        request.principal = await authenticate(ctx, bearerOf(request));
      });
      v1.addHook('preHandler', async (request, reply) => idempotencyPreHandler(ctx, request, reply));
      v1.addHook('onSend', async (request, reply, payload) => {
        if (request.idempotencyKey !== undefined && request.principal !== undefined) {
          const key = request.idempotencyKey;
          request.idempotencyKey = undefined;
          if (reply.statusCode >= 500) await abandonIdempotent(ctx, request.principal.user.id, key);
          else if (typeof payload === 'string') await completeIdempotent(ctx, request.principal.user.id, key, reply.statusCode, payload);
        }
        return payload;
      });
      registerAdminRoutes(v1);
      registerWalletRoutes(v1);
      registerProposalRoutes(v1);
      registerWebhookRoutes(v1);
      registerAuditRoutes(v1);
      registerSafeRoutes(v1, options.evmRpc ?? {});
    },
    { prefix: '/v1' },
  );
  return app;
}

function rateLimitedBody(after: string): { statusCode: number; error: { code: string; message: string } } {
  return { statusCode: 429, error: { code: 'rate.limited', message: `too many requests: retry after ${after}` } };
}

function bearerOf(request: FastifyRequest): string {
  const h = request.headers.authorization;
  if (h === undefined) throw new UnauthorizedError('auth.missing_token', 'this route needs an API token', { hint: 'send Authorization: Bearer <token>' });
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (m === null) throw new UnauthorizedError('auth.invalid_token', 'the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

/** Rate-limit key of a request: a hash of its token (never the token itself), or its IP. */
function tokenKey(request: FastifyRequest): string {
  const h = request.headers.authorization;
  return typeof h === 'string' ? 't:' + createHash('sha256').update(h).digest('hex').slice(0, 32) : `ip:${request.ip}`;
}

async function idempotencyPreHandler(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.method !== 'POST' || request.principal === undefined) return;
  const key = request.headers['idempotency-key'];
  if (key === undefined) return;
  if (typeof key !== 'string') throw new HttpError('idempotency.bad_key', 'send one Idempotency-Key header');
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${request.url}\n${request.headers['if-match'] ?? ''}\n${JSON.stringify(request.body ?? null)}`)
    .digest('hex');
  const decision = await beginIdempotent(ctx, request.principal.user.id, key, fingerprint);
  if (decision.kind === 'replay') {
    await reply.code(decision.status).header('idempotent-replayed', 'true').type('application/json').send(decision.body);
    return;
  }
  request.idempotencyKey = key;
}

/** Fastify's own errors (validation, body size, JSON) as typed errors. */
function normalizeError(err: unknown): unknown {
  if (err instanceof MofnError) return err;
  const e = err as { code?: string; statusCode?: number; validation?: unknown; message?: string; validationContext?: string };
  if (e.validation !== undefined) {
    return new HttpError('request.invalid', `invalid request ${e.validationContext ?? ''}: ${(e.message ?? '').slice(0, 300)}`.replace('  ', ' '), {
      details: { errors: e.validation },
    });
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new HttpError('request.too_large', 'the request body is too large');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HttpError('request.unsupported_media_type', 'send the body as application/json');
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e.statusCode === 400 && e instanceof SyntaxError)) {
    return new HttpError('request.bad_json', 'the body is not valid JSON');
  }
  if (e.statusCode === 429) return new HttpError('rate.limited', e.message ?? 'too many requests');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new HttpError('request.invalid', (e.message ?? 'bad request').slice(0, 300));
  return err;
}

function sanitize(err: unknown): { name: string; message: string } {
  const e = err as { name?: unknown; message?: unknown };
  return { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message.slice(0, 500) : '' };
}
