/**
 * Bad input for every endpoint over real HTTP, defined once and run against SQLite
 * (badInput.test.ts) and PostgreSQL (badInput.pg.test.ts): wrong types, missing and unknown fields,
 * oversize and non-JSON bodies, hostile PSBTs, unknown ids, stale or missing If-Match, bad cursors
 * and enum values, replayed Idempotency-Keys. Every refused request must answer the documented
 * status and `{"error": {"code", "message"}}` body, and leave every table of the store as it was.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_OUTPUT, finalizePsbt, parsePsbt, psbtToBase64, psbtToHex, type Psbt, type PsbtInput } from '@mofn/bitcoin';
import { BitcoreGateway, buildSpend, keystoreCosigner } from '../../../test/support/coordinator.ts';
import { startTestServer, type ApiResponse, type StoreKind, type TestServer } from '../../../test/support/server.ts';
import {
  expectErrorBody,
  freshSpend,
  freshToken,
  PAY_TO,
  propose,
  readyProposal,
  setupWalletFixture,
  signedCopy,
  snapshotStore,
  v1Routes,
  type WalletFixture,
  type Who,
} from '../../../test/support/serverFixtures.ts';

/** Everything a case may use. */
interface Ctx {
  readonly fx: WalletFixture;
  /** The same setup through a second app on the same store, with a 16 KiB body limit and no chain backend. */
  readonly small: WalletFixture;
  /** A 2-of-3 descriptor of another wallet (on the same server). */
  readonly otherDescriptor: string;
  /** The fixture proposal's PSBT as the server hands it out. */
  readonly proposalPsbt: string;
  /** That PSBT signed by cosigner 0 (the `signer`'s key). */
  readonly signedBy0: string;
  /** That PSBT signed by cosigners 0 and 1 and finalized. */
  readonly finalizedCopy: string;
  /** The name of an existing user. */
  readonly takenName: string;
}

interface Req {
  readonly who: Who;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /** An object is sent as JSON; a string is sent as is (with `content-type: application/json` unless headers say otherwise). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

interface Case {
  /** `METHOD /v1/path/:param` as registered (the coverage check reads it). */
  readonly route: string;
  readonly name: string;
  readonly status: number;
  readonly code: string;
  /** The server that answers: the main one, or the small one (16 KiB body limit, no backend). */
  readonly on?: 'main' | 'small';
  /** Builds the request; resources it creates exist before the store snapshot. */
  readonly req: (c: Ctx) => Promise<Omit<Req, 'method'>> | Omit<Req, 'method'>;
}

const OVERSIZE = 64 * 1024;
const SMALL_LIMIT = 16 * 1024;
const W = (fx: WalletFixture) => `/v1/wallets/${fx.wallet.id}`;
const P = (id: string) => `/v1/proposals/${id}`;
const MISSING_WALLET = '0'.repeat(64);
const MISSING_ID = '00000000-0000-4000-8000-000000000000';
/** An ETag no fixture proposal reaches (the fixture proposal stays at its first version: every case on it is refused). */
const STALE = '"999"';

/** Per route: who may call it, a valid path, and a valid body (POST routes with a body schema). */
interface RouteSpec {
  readonly route: string;
  readonly who: Who;
  readonly path: (fx: WalletFixture) => string;
  readonly body?: (fx: WalletFixture) => Record<string, unknown>;
  /** Paths naming an id that does not exist, with the code of the 404. */
  readonly unknown?: readonly (readonly [string, (fx: WalletFixture) => string, string])[];
  readonly headers?: (fx: WalletFixture) => Record<string, string>;
}

const ifMatch = (fx: WalletFixture) => ({ 'if-match': `"${String(fx.proposal.version)}"` });

const SPECS: readonly RouteSpec[] = [
  { route: 'GET /v1/users/me', who: 'viewer', path: () => '/v1/users/me' },
  { route: 'GET /v1/users', who: 'serverAdmin', path: () => '/v1/users' },
  { route: 'POST /v1/users', who: 'serverAdmin', path: () => '/v1/users', body: () => ({ name: 'valid-name' }) },
  {
    route: 'POST /v1/users/:userId/tokens',
    who: 'serverAdmin',
    path: () => '/v1/users/me/tokens',
    body: () => ({ label: 'ci' }),
    unknown: [['unknown user', () => `/v1/users/${MISSING_ID}/tokens`, 'user.not_found']],
  },
  { route: 'GET /v1/users/:userId/tokens', who: 'serverAdmin', path: () => '/v1/users/me/tokens', unknown: [['unknown user', () => `/v1/users/${MISSING_ID}/tokens`, 'user.not_found']] },
  {
    route: 'DELETE /v1/users/:userId/tokens/:tokenId',
    who: 'serverAdmin',
    path: () => `/v1/users/me/tokens/${MISSING_ID}`,
    unknown: [
      ['unknown token', () => `/v1/users/me/tokens/${MISSING_ID}`, 'token.not_found'],
      ['unknown user', () => `/v1/users/${MISSING_ID}/tokens/${MISSING_ID}`, 'user.not_found'],
    ],
  },
  { route: 'POST /v1/wallets', who: 'admin', path: () => '/v1/wallets', body: () => ({ name: 'x', threshold: 1, keys: ['k'] }) },
  { route: 'GET /v1/wallets', who: 'admin', path: () => '/v1/wallets' },
  { route: 'GET /v1/wallets/:walletId', who: 'admin', path: W, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}`, 'wallet.not_found']] },
  { route: 'GET /v1/wallets/:walletId/cosigners', who: 'admin', path: (fx) => `${W(fx)}/cosigners`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/cosigners`, 'wallet.not_found']] },
  { route: 'GET /v1/wallets/:walletId/export', who: 'admin', path: (fx) => `${W(fx)}/export`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/export`, 'wallet.not_found']] },
  { route: 'GET /v1/wallets/:walletId/addresses', who: 'admin', path: (fx) => `${W(fx)}/addresses`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/addresses`, 'wallet.not_found']] },
  { route: 'POST /v1/wallets/:walletId/addresses/next', who: 'admin', path: (fx) => `${W(fx)}/addresses/next`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/addresses/next`, 'wallet.not_found']] },
  {
    route: 'POST /v1/wallets/:walletId/addresses/verify',
    who: 'viewer',
    path: (fx) => `${W(fx)}/addresses/verify`,
    body: (fx) => ({ address: fx.address }),
    unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/addresses/verify`, 'wallet.not_found']],
  },
  { route: 'GET /v1/wallets/:walletId/roles', who: 'admin', path: (fx) => `${W(fx)}/roles`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/roles`, 'wallet.not_found']] },
  {
    route: 'POST /v1/wallets/:walletId/roles',
    who: 'admin',
    path: (fx) => `${W(fx)}/roles`,
    body: (fx) => ({ user: fx.users.bystander.id, role: 'viewer' }),
    unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/roles`, 'wallet.not_found']],
  },
  {
    route: 'DELETE /v1/wallets/:walletId/roles/:userId/:role',
    who: 'admin',
    path: (fx) => `${W(fx)}/roles/${fx.users.viewer.id}/viewer`,
    unknown: [
      ['unknown wallet', (fx) => `/v1/wallets/${MISSING_WALLET}/roles/${fx.users.viewer.id}/viewer`, 'wallet.not_found'],
      ['unknown user', (fx) => `${W(fx)}/roles/${MISSING_ID}/viewer`, 'user.not_found'],
      ['a role the user does not hold', (fx) => `${W(fx)}/roles/${fx.users.bystander.id}/viewer`, 'role.not_found'],
    ],
  },
  {
    route: 'POST /v1/wallets/:walletId/proposals',
    who: 'proposer',
    path: (fx) => `${W(fx)}/proposals`,
    body: (fx) => ({ psbt: freshSpend(fx).psbt }),
    unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/proposals`, 'wallet.not_found']],
  },
  { route: 'GET /v1/wallets/:walletId/proposals', who: 'viewer', path: (fx) => `${W(fx)}/proposals`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/proposals`, 'wallet.not_found']] },
  { route: 'GET /v1/proposals/:proposalId', who: 'viewer', path: (fx) => P(fx.proposal.id), unknown: [['unknown proposal', () => P(MISSING_ID), 'proposal.not_found']] },
  { route: 'GET /v1/proposals/:proposalId/psbt', who: 'viewer', path: (fx) => `${P(fx.proposal.id)}/psbt`, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/psbt`, 'proposal.not_found']] },
  { route: 'GET /v1/proposals/:proposalId/signatures', who: 'viewer', path: (fx) => `${P(fx.proposal.id)}/signatures`, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/signatures`, 'proposal.not_found']] },
  {
    route: 'POST /v1/proposals/:proposalId/signatures',
    who: 'signer',
    path: (fx) => `${P(fx.proposal.id)}/signatures`,
    // Only the shape matters to the generic cases (each is refused before the PSBT is read).
    body: () => ({ psbt: 'cHNidP8BAAoCAAAAAAAAAAAAAAAA' }),
    unknown: [['unknown proposal', () => `${P(MISSING_ID)}/signatures`, 'proposal.not_found']],
  },
  { route: 'POST /v1/proposals/:proposalId/decline', who: 'signer', path: (fx) => `${P(fx.proposal.id)}/decline`, body: () => ({ reason: 'no' }), unknown: [['unknown proposal', () => `${P(MISSING_ID)}/decline`, 'proposal.not_found']] },
  { route: 'POST /v1/proposals/:proposalId/replace', who: 'admin', path: (fx) => `${P(fx.proposal.id)}/replace`, body: () => ({ feeRate: 10 }), unknown: [['unknown proposal', () => `${P(MISSING_ID)}/replace`, 'proposal.not_found']] },
  { route: 'POST /v1/proposals/:proposalId/cancel', who: 'admin', path: (fx) => `${P(fx.proposal.id)}/cancel`, headers: ifMatch, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/cancel`, 'proposal.not_found']] },
  { route: 'POST /v1/proposals/:proposalId/finalize', who: 'admin', path: (fx) => `${P(fx.proposal.id)}/finalize`, headers: ifMatch, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/finalize`, 'proposal.not_found']] },
  { route: 'POST /v1/proposals/:proposalId/broadcast', who: 'admin', path: (fx) => `${P(fx.proposal.id)}/broadcast`, headers: ifMatch, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/broadcast`, 'proposal.not_found']] },
  { route: 'GET /v1/proposals/:proposalId/comments', who: 'viewer', path: (fx) => `${P(fx.proposal.id)}/comments`, unknown: [['unknown proposal', () => `${P(MISSING_ID)}/comments`, 'proposal.not_found']] },
  {
    route: 'POST /v1/proposals/:proposalId/comments',
    who: 'viewer',
    path: (fx) => `${P(fx.proposal.id)}/comments`,
    body: () => ({ body: 'ok' }),
    unknown: [['unknown proposal', () => `${P(MISSING_ID)}/comments`, 'proposal.not_found']],
  },
  {
    route: 'POST /v1/wallets/:walletId/webhooks',
    who: 'admin',
    path: (fx) => `${W(fx)}/webhooks`,
    body: () => ({ url: 'https://hooks.example/x', events: ['proposal.ready'] }),
    unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/webhooks`, 'wallet.not_found']],
  },
  { route: 'GET /v1/wallets/:walletId/webhooks', who: 'admin', path: (fx) => `${W(fx)}/webhooks`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/webhooks`, 'wallet.not_found']] },
  {
    route: 'DELETE /v1/wallets/:walletId/webhooks/:webhookId',
    who: 'admin',
    path: (fx) => `${W(fx)}/webhooks/${fx.webhookId}`,
    unknown: [
      ['unknown webhook', (fx) => `${W(fx)}/webhooks/${MISSING_ID}`, 'webhook.not_found'],
      ['unknown wallet', (fx) => `/v1/wallets/${MISSING_WALLET}/webhooks/${fx.webhookId}`, 'wallet.not_found'],
    ],
  },
  {
    route: 'GET /v1/wallets/:walletId/webhooks/:webhookId/deliveries',
    who: 'admin',
    path: (fx) => `${W(fx)}/webhooks/${fx.webhookId}/deliveries`,
    unknown: [['unknown webhook', (fx) => `${W(fx)}/webhooks/${MISSING_ID}/deliveries`, 'webhook.not_found']],
  },
  { route: 'GET /v1/wallets/:walletId/audit', who: 'viewer', path: (fx) => `${W(fx)}/audit`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/audit`, 'wallet.not_found']] },
  { route: 'GET /v1/wallets/:walletId/audit/verify', who: 'viewer', path: (fx) => `${W(fx)}/audit/verify`, unknown: [['unknown wallet', () => `/v1/wallets/${MISSING_WALLET}/audit/verify`, 'wallet.not_found']] },
];

/** Routes that take no input at all, so there is nothing bad to send them. */
const NO_INPUT: Readonly<Record<string, string>> = { 'GET /v1/openapi.json': 'public, static document' };

const specOf = (route: string): RouteSpec => SPECS.find((s) => s.route === route)!;
const methodOf = (route: string) => route.split(' ')[0] as Req['method'];

/** Cases every route gets from its spec: unknown ids, and for POST: non-JSON, another media type, an oversize body, an unknown field. */
function genericCases(): Case[] {
  const out: Case[] = [];
  for (const s of SPECS) {
    for (const [what, path, code] of s.unknown ?? []) out.push({ route: s.route, name: what, status: 404, code, req: ({ fx }) => ({ who: s.who, path: path(fx), ...(s.headers === undefined ? {} : { headers: s.headers(fx) }), ...(methodOf(s.route) === 'POST' ? { body: s.body?.(fx) ?? {} } : {}) }) });
    if (methodOf(s.route) !== 'POST') continue;
    out.push({ route: s.route, name: 'a body that is not JSON', status: 400, code: 'request.bad_json', req: ({ fx }) => ({ who: s.who, path: s.path(fx), body: '{"psbt": "cHNidP8', ...(s.headers === undefined ? {} : { headers: s.headers(fx) }) }) });
    out.push({
      route: s.route,
      name: 'a body in another media type',
      status: 415,
      code: 'request.unsupported_media_type',
      req: ({ fx }) => ({ who: s.who, path: s.path(fx), body: '<psbt/>', headers: { ...(s.headers?.(fx) ?? {}), 'content-type': 'application/xml' } }),
    });
    out.push({
      route: s.route,
      name: `a ${String(OVERSIZE / 1024)} KiB body (limit ${String(SMALL_LIMIT / 1024)} KiB)`,
      status: 413,
      code: 'request.too_large',
      on: 'small',
      req: ({ small }) => ({ who: s.who, path: s.path(small), body: { ...(s.body?.(small) ?? {}), pad: 'x'.repeat(OVERSIZE) }, ...(s.headers === undefined ? {} : { headers: s.headers(small) }) }),
    });
    if (s.body === undefined) continue;
    out.push({
      route: s.route,
      name: 'an unknown extra field',
      status: 400,
      code: 'request.invalid',
      req: ({ fx }) => ({ who: s.who, path: s.path(fx), body: { ...(s.body?.(fx) ?? {}), sneaky: true }, ...(s.headers === undefined ? {} : { headers: s.headers(fx) }) }),
    });
  }
  return out;
}

/** A case on `route` with the spec's caller and path, and the given body/query/headers. */
function bad(route: string, name: string, status: number, code: string, make: (c: Ctx) => Promise<Partial<Omit<Req, 'method'>>> | Partial<Omit<Req, 'method'>>): Case {
  const s = specOf(route);
  return {
    route,
    name,
    status,
    code,
    req: async (c) => {
      const r = await make(c);
      return { who: r.who ?? s.who, path: r.path ?? s.path(c.fx), ...(r.body === undefined ? {} : { body: r.body }), ...(r.headers === undefined ? (s.headers === undefined ? {} : { headers: s.headers(c.fx) }) : { headers: r.headers }) };
    },
  };
}
const body = (route: string, name: string, status: number, code: string, b: (c: Ctx) => unknown): Case => bad(route, name, status, code, (c) => ({ body: b(c) }));
const query = (route: string, name: string, q: string, status = 400, code = 'request.invalid'): Case => bad(route, name, status, code, ({ fx }) => ({ path: specOf(route).path(fx) + q }));

// Hostile PSBTs, built from real ones.
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const MAGIC = [0x70, 0x73, 0x62, 0x74, 0xff];
/** A PSBT whose first key declares a length of 2^64-1 bytes. */
const HUGE_KEY = b64(Uint8Array.from([...MAGIC, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
/** A PSBT whose unsigned transaction value declares 4 GiB. */
const HUGE_VALUE = b64(Uint8Array.from([...MAGIC, 0x01, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00]));
const truncated = (psbt: string) => b64(Buffer.from(psbt, 'base64').subarray(0, Math.floor(Buffer.from(psbt, 'base64').length / 2)));
const edit = (psbt: string, f: (p: Psbt) => Psbt) => psbtToBase64(f(parsePsbt(psbt)));
const withExtraOutput = (p: Psbt): Psbt => ({ ...p, tx: { ...p.tx, outputs: [...p.tx.outputs, { ...p.tx.outputs[0]!, amount: 1000n }] }, outputs: [...p.outputs, EMPTY_OUTPUT] });
const withAmountMoved = (p: Psbt): Psbt => ({ ...p, tx: { ...p.tx, outputs: [{ ...p.tx.outputs[0]!, amount: p.tx.outputs[0]!.amount + 1000n }, ...p.tx.outputs.slice(1)] } });

const PROPOSALS = 'POST /v1/wallets/:walletId/proposals';
const SIGS = 'POST /v1/proposals/:proposalId/signatures';

/** The cases written out per route. */
function specificCases(): Case[] {
  return [
    // Authorization header shapes (the routes that take no other input).
    bad('GET /v1/users/me', 'Authorization: Basic', 401, 'auth.invalid_token', () => ({ who: 'noToken', headers: { authorization: 'Basic dXNlcjpwYXNz' } })),
    bad('GET /v1/users/me', 'Authorization: Bearer with two words', 401, 'auth.invalid_token', () => ({ who: 'noToken', headers: { authorization: 'Bearer a b' } })),
    bad('GET /v1/users', 'Authorization: Bearer of a token without the mofn_ prefix', 401, 'auth.invalid_token', () => ({ who: 'noToken', headers: { authorization: 'Bearer ' + 'a'.repeat(48) } })),
    bad('GET /v1/users', 'Authorization: Bearer of a 5000-character token', 401, 'auth.invalid_token', () => ({ who: 'noToken', headers: { authorization: 'Bearer mofn_' + 'a'.repeat(5000) } })),

    body('POST /v1/users', 'name as a number', 400, 'request.invalid', () => ({ name: 5 })),
    body('POST /v1/users', 'name missing', 400, 'request.invalid', () => ({})),
    body('POST /v1/users', 'admin as a string', 400, 'request.invalid', () => ({ name: 'someone', admin: 'yes' })),
    body('POST /v1/users', 'name of 65 characters', 400, 'request.invalid', () => ({ name: 'a'.repeat(65) })),
    body('POST /v1/users', 'name with a space', 422, 'user.bad_name', () => ({ name: 'bad name' })),
    body('POST /v1/users', 'name already taken', 409, 'user.name_taken', ({ takenName }) => ({ name: takenName })),
    body('POST /v1/users/:userId/tokens', 'label as a number', 400, 'request.invalid', () => ({ label: 5 })),
    body('POST /v1/users/:userId/tokens', 'label of 101 characters', 400, 'request.invalid', () => ({ label: 'l'.repeat(101) })),
    bad('POST /v1/users/:userId/tokens', 'user id of 101 characters', 400, 'request.invalid', () => ({ path: `/v1/users/${'u'.repeat(101)}/tokens`, body: {} })),
    bad('DELETE /v1/users/:userId/tokens/:tokenId', "another user's token id under my own user", 404, 'token.not_found', async ({ fx }) => ({
      who: 'viewer',
      path: `/v1/users/me/tokens/${await freshToken(fx.server.store, fx.users.bystander.id)}`,
    })),

    body('POST /v1/wallets', 'threshold as a string', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: '2', keys: fx.keys.map((k) => k.key) })),
    body('POST /v1/wallets', 'keys as a number', 400, 'request.invalid', () => ({ name: 'w', threshold: 2, keys: 5 })),
    body('POST /v1/wallets', 'keys holding a number', 400, 'request.invalid', () => ({ name: 'w', threshold: 1, keys: [5] })),
    body('POST /v1/wallets', 'no keys', 400, 'request.invalid', () => ({ name: 'w', threshold: 1, keys: [] })),
    body('POST /v1/wallets', 'threshold 0', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: 0, keys: fx.keys.map((k) => k.key) })),
    body('POST /v1/wallets', 'threshold 1.5', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: 1.5, keys: fx.keys.map((k) => k.key) })),
    body('POST /v1/wallets', 'network not one of main/test/signet/regtest', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: 2, keys: fx.keys.map((k) => k.key), network: 'testnet3' })),
    body('POST /v1/wallets', 'type not one of wsh/sh-wsh/sh/tr', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: 2, keys: fx.keys.map((k) => k.key), type: 'p2pkh' })),
    body('POST /v1/wallets', 'sorted as a string', 400, 'request.invalid', ({ fx }) => ({ name: 'w', threshold: 2, keys: fx.keys.map((k) => k.key), sorted: 'true' })),
    body('POST /v1/wallets', 'name missing (keys given)', 422, 'wallet.incomplete', ({ fx }) => ({ threshold: 2, keys: fx.keys.map((k) => k.key) })),
    body('POST /v1/wallets', 'empty object', 422, 'wallet.incomplete', () => ({})),
    body('POST /v1/wallets', 'both a descriptor and keys', 422, 'wallet.ambiguous', ({ fx }) => ({ descriptor: fx.wallet.descriptor, threshold: 2, keys: fx.keys.map((k) => k.key) })),
    body('POST /v1/wallets', 'threshold above the number of keys', 422, 'policy.bad_threshold', ({ fx }) => ({ name: 'w', threshold: 4, keys: fx.keys.map((k) => k.key), network: 'test' })),
    body('POST /v1/wallets', 'a key that is not an xpub', 422, 'key.invalid', ({ fx }) => ({ name: 'w', threshold: 2, keys: [...fx.keys.slice(1).map((k) => k.key), 'xpubNOTAKEY'], network: 'test' })),
    body('POST /v1/wallets', 'the same key twice', 422, 'policy.duplicate_key', ({ fx }) => ({ name: 'w', threshold: 2, keys: [fx.keys[0]!.key, fx.keys[0]!.key, fx.keys[1]!.key], network: 'test' })),
    body('POST /v1/wallets', 'a descriptor that does not parse', 422, 'walletfile.bad_descriptor', () => ({ descriptor: 'wsh(sortedmulti(2,nope))' })),
    body('POST /v1/wallets', 'a wallet that exists already', 409, 'wallet.exists', ({ fx }) => ({ descriptor: fx.wallet.descriptor, name: 'again' })),
    query('GET /v1/wallets', 'a cursor this server never handed out', '?cursor=garbage', 400, 'page.bad_cursor'),
    query('GET /v1/wallets', 'limit 0', '?limit=0'),
    query('GET /v1/wallets', 'limit not a number', '?limit=ten'),
    query('GET /v1/wallets', 'an unknown query parameter', '?owner=me'),
    bad('GET /v1/wallets/:walletId', 'wallet id of 201 characters', 400, 'request.invalid', () => ({ path: `/v1/wallets/${'w'.repeat(201)}` })),
    query('GET /v1/wallets/:walletId/export', 'format not one of descriptor/caravan/coldcard', '?format=pdf'),
    query('GET /v1/wallets/:walletId/addresses', 'branch 2', '?branch=2'),
    query('GET /v1/wallets/:walletId/addresses', 'from -1', '?from=-1'),
    query('GET /v1/wallets/:walletId/addresses', 'count 0', '?count=0'),
    query('GET /v1/wallets/:walletId/addresses', 'count 1001', '?count=1001'),
    query('GET /v1/wallets/:walletId/addresses', 'count not a number', '?count=many'),
    body('POST /v1/wallets/:walletId/addresses/verify', 'address as a number', 400, 'request.invalid', () => ({ address: 5 })),
    body('POST /v1/wallets/:walletId/addresses/verify', 'address missing', 400, 'request.invalid', () => ({})),
    body('POST /v1/wallets/:walletId/addresses/verify', 'bound 0', 400, 'request.invalid', ({ fx }) => ({ address: fx.address, bound: 0 })),
    body('POST /v1/wallets/:walletId/addresses/verify', 'bound as a string', 400, 'request.invalid', ({ fx }) => ({ address: fx.address, bound: '5' })),
    body('POST /v1/wallets/:walletId/addresses/verify', 'not an address', 422, 'address.invalid', () => ({ address: 'not-an-address' })),
    body('POST /v1/wallets/:walletId/addresses/verify', 'a mainnet address for a testnet wallet', 422, 'address.wrong_network', () => ({ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' })),
    body('POST /v1/wallets/:walletId/roles', 'role not one of admin/proposer/signer/viewer', 400, 'request.invalid', ({ fx }) => ({ user: fx.users.bystander.id, role: 'owner' })),
    body('POST /v1/wallets/:walletId/roles', 'user missing', 400, 'request.invalid', () => ({ role: 'viewer' })),
    body('POST /v1/wallets/:walletId/roles', 'user as a number', 400, 'request.invalid', () => ({ user: 5, role: 'viewer' })),
    body('POST /v1/wallets/:walletId/roles', 'cosigner -1', 400, 'request.invalid', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer', cosigner: -1 })),
    body('POST /v1/wallets/:walletId/roles', 'cosigner as a boolean', 400, 'request.invalid', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer', cosigner: true })),
    body('POST /v1/wallets/:walletId/roles', 'unknown user', 404, 'user.not_found', () => ({ user: MISSING_ID, role: 'viewer' })),
    body('POST /v1/wallets/:walletId/roles', 'signer without a cosigner', 422, 'role.cosigner_required', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer' })),
    body('POST /v1/wallets/:walletId/roles', 'viewer bound to a cosigner', 422, 'role.bad_cosigner', ({ fx }) => ({ user: fx.users.bystander.id, role: 'viewer', cosigner: 0 })),
    body('POST /v1/wallets/:walletId/roles', 'cosigner id not of this wallet', 422, 'role.bad_cosigner', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer', cosigner: 'nope' })),
    body('POST /v1/wallets/:walletId/roles', 'cosigner position 7 of a 3-key wallet', 422, 'wallet.bad_cosigner', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer', cosigner: 7 })),
    body('POST /v1/wallets/:walletId/roles', 'a cosigner another user signs for', 409, 'role.cosigner_taken', ({ fx }) => ({ user: fx.users.bystander.id, role: 'signer', cosigner: 0 })),
    bad('DELETE /v1/wallets/:walletId/roles/:userId/:role', 'role not one of admin/proposer/signer/viewer', 422, 'role.bad_role', ({ fx }) => ({ path: `${W(fx)}/roles/${fx.users.viewer.id}/owner` })),
    bad('DELETE /v1/wallets/:walletId/roles/:userId/:role', "the wallet's last admin", 409, 'role.last_admin', ({ fx }) => ({ path: `${W(fx)}/roles/${fx.users.admin.id}/admin` })),

    body(PROPOSALS, 'psbt as a number', 400, 'request.invalid', () => ({ psbt: 5 })),
    body(PROPOSALS, 'psbt missing', 400, 'request.invalid', () => ({ memo: 'x' })),
    body(PROPOSALS, 'psbt empty', 400, 'request.invalid', () => ({ psbt: '' })),
    body(PROPOSALS, 'memo of 1001 characters', 400, 'request.invalid', ({ fx }) => ({ psbt: freshSpend(fx).psbt, memo: 'm'.repeat(1001) })),
    body(PROPOSALS, 'ttlSeconds as a string', 400, 'request.invalid', ({ fx }) => ({ psbt: freshSpend(fx).psbt, ttlSeconds: '3600' })),
    body(PROPOSALS, 'ttlSeconds 10', 400, 'request.invalid', ({ fx }) => ({ psbt: freshSpend(fx).psbt, ttlSeconds: 10 })),
    body(PROPOSALS, 'psbt: text that is neither base64 nor hex', 422, 'psbt.invalid_encoding', () => ({ psbt: 'this is not a psbt!' })),
    body(PROPOSALS, 'psbt: base64 of random bytes', 422, 'psbt.bad_magic', () => ({ psbt: b64(Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 251)) })),
    body(PROPOSALS, 'psbt: truncated', 422, 'psbt.truncated', ({ fx }) => ({ psbt: truncated(freshSpend(fx).psbt) })),
    body(PROPOSALS, 'psbt: a key declaring 2^64-1 bytes', 422, 'psbt.too_large', () => ({ psbt: HUGE_KEY })),
    body(PROPOSALS, 'psbt: an unsigned transaction declaring 4 GiB', 422, 'psbt.too_large', () => ({ psbt: HUGE_VALUE })),
    body(PROPOSALS, "psbt: another wallet's spend", 422, 'proposal.foreign_input', ({ otherDescriptor }) => ({ psbt: buildSpend(otherDescriptor, 'test', { inputs: 1, to: PAY_TO }).psbt })),
    bad(PROPOSALS, 'psbt: finalized', 422, 'proposal.finalized_input', async ({ fx }) => {
      const spend = freshSpend(fx);
      let signed = await fx.keys[0]!.sign(spend.psbt, fx.wallet.descriptor, 'test');
      signed = await fx.keys[1]!.sign(signed, fx.wallet.descriptor, 'test');
      return { body: { psbt: psbtToBase64(finalizePsbt(parsePsbt(signed))) } };
    }),
    bad(PROPOSALS, 'psbt: outputs worth more than the inputs', 422, 'psbt.negative_fee', ({ fx }) => ({
      body: { psbt: edit(freshSpend(fx).psbt, (p) => ({ ...p, tx: { ...p.tx, outputs: p.tx.outputs.map((o) => ({ ...o, amount: o.amount + 10_000_000n })) } })) },
    })),
    bad(PROPOSALS, 'psbt: an input claiming another amount for an outpoint the server has seen', 409, 'outpoint.amount_mismatch', async ({ fx }) => {
      // The fixture proposal's outpoint is known; the same outpoint with a witness UTXO of another amount (no previous tx to contradict it).
      const psbt = (await fx.as.admin.get(`${P(fx.proposal.id)}/psbt`)).body.psbt as string;
      return {
        body: { psbt: edit(psbt, (p) => ({ ...p, inputs: p.inputs.map((i) => ({ ...withoutPrevTx(i), witnessUtxo: { ...i.witnessUtxo!, amount: i.witnessUtxo!.amount * 2n } })) })) },
      };
    }),
    query('GET /v1/wallets/:walletId/proposals', 'state not a proposal state', '?state=pending'),
    query('GET /v1/wallets/:walletId/proposals', 'a cursor this server never handed out', '?cursor=garbage', 400, 'page.bad_cursor'),
    query('GET /v1/wallets/:walletId/proposals', 'a well-formed base64url cursor of the wrong shape', `?cursor=${Buffer.from('["only-one"]').toString('base64url')}`, 400, 'page.bad_cursor'),
    query('GET /v1/wallets/:walletId/proposals', 'limit 201', '?limit=201'),
    bad('GET /v1/proposals/:proposalId', 'proposal id of 101 characters', 400, 'request.invalid', () => ({ path: P('p'.repeat(101)) })),

    body(SIGS, 'psbt as a number', 400, 'request.invalid', () => ({ psbt: 5 })),
    body(SIGS, 'psbt missing', 400, 'request.invalid', () => ({})),
    body(SIGS, 'psbt: garbage text', 422, 'psbt.invalid_encoding', () => ({ psbt: '%%%' })),
    body(SIGS, 'psbt: truncated', 422, 'psbt.truncated', ({ signedBy0 }) => ({ psbt: truncated(signedBy0) })),
    body(SIGS, 'psbt: a key declaring 2^64-1 bytes', 422, 'psbt.too_large', () => ({ psbt: HUGE_KEY })),
    body(SIGS, 'psbt: the unsigned proposal', 422, 'signature.none', ({ proposalPsbt }) => ({ psbt: proposalPsbt })),
    body(SIGS, "psbt: another wallet's spend", 409, 'proposal.payload_mismatch', ({ otherDescriptor }) => ({ psbt: buildSpend(otherDescriptor, 'test', { inputs: 1, to: PAY_TO }).psbt })),
    body(SIGS, 'psbt: signed, with an extra output', 409, 'proposal.payload_mismatch', ({ signedBy0 }) => ({ psbt: edit(signedBy0, withExtraOutput) })),
    body(SIGS, 'psbt: signed, with an amount changed', 409, 'proposal.payload_mismatch', ({ signedBy0 }) => ({ psbt: edit(signedBy0, withAmountMoved) })),
    body(SIGS, 'psbt: signed, with the sequence changed', 409, 'proposal.payload_mismatch', ({ signedBy0 }) => ({ psbt: edit(signedBy0, (p) => ({ ...p, tx: { ...p.tx, inputs: p.tx.inputs.map((i) => ({ ...i, sequence: 1 })) } })) })),
    body(SIGS, 'psbt: signed, as hex, with the locktime changed', 409, 'proposal.payload_mismatch', ({ signedBy0 }) => ({ psbt: psbtToHex({ ...parsePsbt(signedBy0), tx: { ...parsePsbt(signedBy0).tx, locktime: 123 } }) })),
    body(SIGS, 'psbt: a signature with a flipped bit', 422, 'signature.invalid', ({ signedBy0 }) => ({
      psbt: edit(signedBy0, (p) => ({ ...p, inputs: p.inputs.map((i) => ({ ...i, partialSigs: i.partialSigs.map((s) => ({ ...s, signature: flip(s.signature, 10) })) })) })),
    })),
    body(SIGS, 'psbt: a signature by a key outside the wallet', 422, 'proposal.foreign_signature', ({ signedBy0 }) => ({
      psbt: edit(signedBy0, (p) => ({ ...p, inputs: p.inputs.map((i) => ({ ...i, partialSigs: i.partialSigs.map((s) => ({ ...s, pubkey: flip(s.pubkey, 5) })) })) })),
    })),
    body(SIGS, 'psbt: finalized by the cosigners themselves', 422, 'proposal.finalized_input', ({ finalizedCopy }) => ({ psbt: finalizedCopy })),
    bad(SIGS, 'a valid signature with a stale If-Match', 412, 'proposal.stale', ({ signedBy0 }) => ({ body: { psbt: signedBy0 }, headers: { 'if-match': STALE } })),
    bad(SIGS, 'a valid signature on a cancelled proposal', 409, 'proposal.terminal', async ({ fx }) => {
      const p = await cancelled(fx);
      return { path: `${P(p)}/signatures`, body: { psbt: await signedCopy(fx, p, 0) } };
    }),

    body('POST /v1/proposals/:proposalId/decline', 'reason as a number', 400, 'request.invalid', () => ({ reason: 5 })),
    body('POST /v1/proposals/:proposalId/decline', 'reason of 1001 characters', 400, 'request.invalid', () => ({ reason: 'r'.repeat(1001) })),
    body('POST /v1/proposals/:proposalId/decline', 'a JSON array', 400, 'request.invalid', () => ['no']),
    bad('POST /v1/proposals/:proposalId/decline', 'a cancelled proposal', 409, 'proposal.terminal', async ({ fx }) => ({ path: `${P(await cancelled(fx))}/decline`, body: {} })),

    body('POST /v1/proposals/:proposalId/replace', 'feeRate as a string', 400, 'request.invalid', () => ({ feeRate: '10' })),
    body('POST /v1/proposals/:proposalId/replace', 'feeRate missing', 400, 'request.invalid', () => ({})),
    body('POST /v1/proposals/:proposalId/replace', 'feeRate zero', 400, 'request.invalid', () => ({ feeRate: 0 })),
    body('POST /v1/proposals/:proposalId/replace', 'a proposal still collecting', 409, 'proposal.not_broadcast', () => ({ feeRate: 10 })),
    bad('POST /v1/proposals/:proposalId/cancel', 'If-Match missing', 428, 'precondition.required', () => ({ headers: {} })),
    bad('POST /v1/proposals/:proposalId/cancel', 'If-Match blank', 428, 'precondition.required', () => ({ headers: { 'if-match': '  ' } })),
    bad('POST /v1/proposals/:proposalId/cancel', 'If-Match stale', 412, 'proposal.stale', () => ({ headers: { 'if-match': STALE } })),
    bad('POST /v1/proposals/:proposalId/cancel', 'If-Match not an ETag', 412, 'proposal.stale', () => ({ headers: { 'if-match': 'abc' } })),
    bad('POST /v1/proposals/:proposalId/cancel', 'already cancelled (current If-Match)', 409, 'proposal.terminal', async ({ fx }) => {
      const id = await cancelled(fx);
      const v = (await fx.as.admin.get(P(id))).body.version as number;
      return { path: `${P(id)}/cancel`, headers: { 'if-match': `"${String(v)}"` } };
    }),
    bad('POST /v1/proposals/:proposalId/finalize', 'If-Match missing', 428, 'precondition.required', () => ({ headers: {} })),
    bad('POST /v1/proposals/:proposalId/finalize', 'If-Match stale', 412, 'proposal.stale', () => ({ headers: { 'if-match': STALE } })),
    bad('POST /v1/proposals/:proposalId/finalize', 'a proposal still collecting', 409, 'proposal.not_ready', () => ({})),
    bad('POST /v1/proposals/:proposalId/finalize', 'a ready proposal with a stale If-Match', 412, 'proposal.stale', async ({ fx }) => ({ path: `${P((await readyProposal(fx)).id)}/finalize`, headers: { 'if-match': '"1"' } })),
    bad('POST /v1/proposals/:proposalId/broadcast', 'If-Match missing', 428, 'precondition.required', () => ({ headers: {} })),
    bad('POST /v1/proposals/:proposalId/broadcast', 'If-Match stale', 412, 'proposal.stale', () => ({ headers: { 'if-match': STALE } })),
    bad('POST /v1/proposals/:proposalId/broadcast', 'a proposal still collecting', 409, 'proposal.not_ready', () => ({})),
    // The bodyless POSTs: a body with fields must not be taken for an empty one.
    bad('POST /v1/wallets/:walletId/addresses/next', 'a body with an unknown field', 400, 'request.invalid', () => ({ body: { branch: 1 } })),
    bad('POST /v1/proposals/:proposalId/cancel', 'a body with an unknown field', 400, 'request.invalid', async ({ fx }) => {
      const p = await propose(fx);
      return { path: `${P(p.id)}/cancel`, body: { reason: 'x' }, headers: { 'if-match': `"${String(p.version)}"` } };
    }),
    bad('POST /v1/proposals/:proposalId/finalize', 'a body with an unknown field', 400, 'request.invalid', async ({ fx }) => {
      const p = await readyProposal(fx);
      return { path: `${P(p.id)}/finalize`, body: { force: true }, headers: { 'if-match': `"${String(p.version)}"` } };
    }),
    bad('POST /v1/proposals/:proposalId/broadcast', 'a body with an unknown field', 400, 'request.invalid', async ({ fx }) => {
      const p = await readyProposal(fx);
      return { path: `${P(p.id)}/broadcast`, body: { force: true }, headers: { 'if-match': `"${String(p.version)}"` } };
    }),
    {
      route: 'POST /v1/proposals/:proposalId/broadcast',
      name: 'a ready proposal on a server without a chain backend',
      status: 503,
      code: 'backend.not_configured',
      on: 'small',
      req: async ({ small }) => {
        const p = await readyProposal(small);
        return { who: 'admin', path: `${P(p.id)}/broadcast`, headers: { 'if-match': `"${String(p.version)}"` } };
      },
    },

    body('POST /v1/proposals/:proposalId/comments', 'body empty', 400, 'request.invalid', () => ({ body: '' })),
    body('POST /v1/proposals/:proposalId/comments', 'body as a number', 400, 'request.invalid', () => ({ body: 5 })),
    body('POST /v1/proposals/:proposalId/comments', 'body missing', 400, 'request.invalid', () => ({})),
    body('POST /v1/proposals/:proposalId/comments', 'body of 4001 characters', 400, 'request.invalid', () => ({ body: 'c'.repeat(4001) })),
    body('POST /v1/proposals/:proposalId/comments', 'body only whitespace', 422, 'comment.bad_body', () => ({ body: '   ' })),

    body('POST /v1/wallets/:walletId/webhooks', 'url missing', 400, 'request.invalid', () => ({ events: ['proposal.ready'] })),
    body('POST /v1/wallets/:walletId/webhooks', 'events empty', 400, 'request.invalid', () => ({ url: 'https://hooks.example/x', events: [] })),
    body('POST /v1/wallets/:walletId/webhooks', 'events as a string', 400, 'request.invalid', () => ({ url: 'https://hooks.example/x', events: 'proposal.ready' })),
    body('POST /v1/wallets/:walletId/webhooks', 'an event that does not exist', 400, 'request.invalid', () => ({ url: 'https://hooks.example/x', events: ['proposal.deleted'] })),
    body('POST /v1/wallets/:walletId/webhooks', 'url not a URL', 422, 'webhook.bad_url', () => ({ url: 'not a url', events: ['proposal.ready'] })),
    body('POST /v1/wallets/:walletId/webhooks', 'an ftp:// url', 422, 'webhook.bad_url', () => ({ url: 'ftp://hooks.example/x', events: ['proposal.ready'] })),
    body('POST /v1/wallets/:walletId/webhooks', 'a url carrying credentials', 422, 'webhook.bad_url', () => ({ url: 'https://user:pw@hooks.example/x', events: ['proposal.ready'] })),
    bad('DELETE /v1/wallets/:walletId/webhooks/:webhookId', 'a webhook disabled already', 404, 'webhook.not_found', async ({ fx }) => {
      const h = await fx.as.admin.post(`${W(fx)}/webhooks`, { url: 'https://hooks.example/gone', events: ['proposal.ready'] });
      expect((await fx.as.admin.delete(`${W(fx)}/webhooks/${String(h.body.id)}`)).status).toBe(204);
      return { path: `${W(fx)}/webhooks/${String(h.body.id)}` };
    }),
    query('GET /v1/wallets/:walletId/audit', 'after -2', '?after=-2'),
    query('GET /v1/wallets/:walletId/audit', 'after not a number', '?after=first'),
    query('GET /v1/wallets/:walletId/audit', 'limit 1001', '?limit=1001'),
    query('GET /v1/wallets/:walletId/audit', 'an unknown query parameter', '?type=proposal.created'),
  ];
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] = out[at]! ^ 1;
  return out;
}

function withoutPrevTx(input: PsbtInput): PsbtInput {
  const rest: { -readonly [K in keyof PsbtInput]: PsbtInput[K] } = { ...input };
  delete rest.nonWitnessUtxo;
  return rest;
}

/** A fresh proposal, cancelled by the admin; returns its id. */
async function cancelled(fx: WalletFixture): Promise<string> {
  const p = await propose(fx, 'proposer');
  const r = await fx.as.admin.post(`${P(p.id)}/cancel`, {}, { 'if-match': `"${String(p.version)}"` });
  expect(r.status).toBe(200);
  return p.id;
}

const CASES: readonly Case[] = [...genericCases(), ...specificCases()];

/** Sends a case's request; returns the response and the store before and after it. */
async function send(c: Ctx, kase: Case): Promise<{ res: ApiResponse; before: Record<string, string[]>; after: Record<string, string[]> }> {
  const fx = kase.on === 'small' ? c.small : c.fx;
  const r = await kase.req(c);
  const method = methodOf(kase.route);
  const before = await snapshotStore(fx.server.store);
  const res = await fx.as[r.who].call(method, r.path, method === 'POST' ? (r.body ?? {}) : r.body, r.headers ?? {});
  return { res, before, after: await snapshotStore(fx.server.store) };
}

/** Defines the suite for one store. */
export function defineBadInputSuite(kind: StoreKind): void {
  describe(`bad input for every endpoint (${kind})`, () => {
    let main: TestServer;
    let smallServer: TestServer;
    let c: Ctx;
    beforeAll(async () => {
      const gateway = new BitcoreGateway();
      main = await startTestServer({ kind, gateway });
      // The same store behind a second app with a small body limit and no chain backend.
      smallServer = await startTestServer({ kind, bodyLimit: SMALL_LIMIT, shareWith: main });
      // Background jobs would touch webhook deliveries between snapshots; these tests drive everything themselves.
      await main.jobs.stop();
      await smallServer.jobs.stop();
      const fx = await setupWalletFixture(main, `bad-${kind}`, gateway);
      const small = await setupWalletFixture(smallServer, `small-${kind}`);
      const other = [];
      for (let i = 0; i < 3; i++) other.push((await keystoreCosigner(`bad-other-${kind}-${String(i)}`)).key);
      const ow = await fx.as.stranger.post('/v1/wallets', { name: 'other', threshold: 2, keys: other, network: 'test' });
      expect(ow.status).toBe(201);
      const proposalPsbt = (await fx.as.viewer.get(`${P(fx.proposal.id)}/psbt`)).body.psbt as string;
      const signedBy0 = await fx.keys[0]!.sign(proposalPsbt, fx.wallet.descriptor, 'test');
      const both = await fx.keys[1]!.sign(signedBy0, fx.wallet.descriptor, 'test');
      const finalizedCopy = psbtToBase64(finalizePsbt(parsePsbt(both)));
      const takenName = ((await fx.as.viewer.get('/v1/users/me')).body as { name: string }).name;
      c = { fx, small, otherDescriptor: ow.body.descriptor, proposalPsbt, signedBy0, finalizedCopy, takenName };
    });
    afterAll(async () => {
      await smallServer.close();
      await main.close();
    });

    it('has at least one bad-input case for every route registered under /v1 but the Safe routes', () => {
      // Safe routes have their own bad-input cases on a dev chain (safeAccess.suite.ts).
      const routes = v1Routes(main.app).filter((r) => !r.includes(' /v1/safes'));
      const covered = new Set(CASES.map((k) => k.route));
      expect(routes.filter((r) => !covered.has(r) && NO_INPUT[r] === undefined)).toEqual([]);
      expect([...covered].filter((r) => !routes.includes(r))).toEqual([]);
    });

    const run = async (kase: Case) => {
      const { res, before, after } = await send(c, kase);
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(kase.status);
      expectErrorBody(res, kase.code, kase.name);
      for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
    };
    const title = (k: Case) => `${k.route}: ${k.name} -> ${String(k.status)} ${k.code}`;
    it.each(CASES.map((k) => [title(k), k] as const))('%s', async (_n, kase) => run(kase));
    describe('Idempotency-Key', () => {
      const key = () => `key-${randomUUID()}`;
      const comments = () => `${P(c.fx.proposal.id)}/comments`;

      it.each([
        ['POST /v1/proposals/:proposalId/comments', 'viewer', () => ({ path: comments(), body: { body: 'once only' } })],
        ['POST /v1/wallets/:walletId/proposals', 'proposer', () => ({ path: `${W(c.fx)}/proposals`, body: { psbt: freshSpend(c.fx).psbt, memo: 'once' } })],
        ['POST /v1/wallets/:walletId/addresses/next', 'proposer', () => ({ path: `${W(c.fx)}/addresses/next`, body: {} })],
      ] as const)('%s: a replay with the same body gets the first response, marked idempotent-replayed, and nothing runs twice', async (_route, who, make) => {
        const k = key();
        const { path, body: b } = make();
        const first = await c.fx.as[who].post(path, b, { 'idempotency-key': k });
        expect(first.status, JSON.stringify(first.body)).toBe(201);
        expect(first.headers.get('idempotent-replayed')).toBeNull();
        const before = await snapshotStore(c.fx.server.store);
        const again = await c.fx.as[who].post(path, b, { 'idempotency-key': k });
        const after = await snapshotStore(c.fx.server.store);
        expect(again.status).toBe(first.status);
        expect(again.body).toEqual(first.body);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
      });

      /** Sends `second` after `first` under one key; `second` must be refused with `status`/`code`, changing nothing but the key table. */
      async function refusedSecond(first: () => Promise<ApiResponse>, second: () => Promise<ApiResponse>, status: number, code: string): Promise<ApiResponse> {
        await first();
        const before = await snapshotStore(c.fx.server.store, ['idempotency_keys']);
        const res = await second();
        const after = await snapshotStore(c.fx.server.store, ['idempotency_keys']);
        expect(res.status, JSON.stringify(res.body)).toBe(status);
        expectErrorBody(res, code);
        expect(res.headers.get('idempotent-replayed')).toBeNull();
        for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
        return res;
      }

      it('the same key with a different body: 422 idempotency.key_reused, nothing done', async () => {
        const k = key();
        const v = c.fx.as.viewer;
        await refusedSecond(() => v.post(comments(), { body: 'first' }, { 'idempotency-key': k }), () => v.post(comments(), { body: 'second' }, { 'idempotency-key': k }), 422, 'idempotency.key_reused');
      });

      it('the same key and body on another route: 422 idempotency.key_reused, nothing done', async () => {
        const k = key();
        const v = c.fx.as.viewer;
        const other = await propose(c.fx);
        await refusedSecond(
          () => v.post(comments(), { body: 'same' }, { 'idempotency-key': k }),
          () => v.post(`${P(other.id)}/comments`, { body: 'same' }, { 'idempotency-key': k }),
          422,
          'idempotency.key_reused',
        );
      });

      it('the same key with another If-Match: 422 idempotency.key_reused, the proposal is not cancelled', async () => {
        const k = key();
        const p = await propose(c.fx);
        const a = c.fx.as.admin;
        await refusedSecond(
          () => a.post(`${P(p.id)}/cancel`, {}, { 'idempotency-key': k, 'if-match': STALE }),
          () => a.post(`${P(p.id)}/cancel`, {}, { 'idempotency-key': k, 'if-match': `"${String(p.version)}"` }),
          422,
          'idempotency.key_reused',
        );
        expect((await a.get(P(p.id))).body.state).toBe('collecting');
      });

      it('a refused first request is replayed as refused (same status and body), and still changes nothing', async () => {
        const k = key();
        const v = c.fx.as.viewer;
        const before = await snapshotStore(c.fx.server.store, ['idempotency_keys']);
        const first = await v.post(comments(), { body: '   ' }, { 'idempotency-key': k });
        const again = await v.post(comments(), { body: '   ' }, { 'idempotency-key': k });
        const after = await snapshotStore(c.fx.server.store, ['idempotency_keys']);
        expect(first.status).toBe(422);
        expectErrorBody(first, 'comment.bad_body');
        expect([again.status, again.body, again.headers.get('idempotent-replayed')]).toEqual([422, first.body, 'true']);
        for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
      });

      it.each([
        ['256 characters', 'k'.repeat(256)],
        ['a space', 'two words'],
        ['non-ASCII', 'clé'],
      ])('a key of %s: 400 idempotency.bad_key, nothing done (not even the key recorded)', async (_what, k) => {
        const before = await snapshotStore(c.fx.server.store);
        const res = await c.fx.as.viewer.post(comments(), { body: 'hi' }, { 'idempotency-key': k });
        const after = await snapshotStore(c.fx.server.store);
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expectErrorBody(res, 'idempotency.bad_key');
        for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
      });

      it("keys are per user: another user's request under the same key runs", async () => {
        const k = key();
        const first = await c.fx.as.viewer.post(comments(), { body: 'mine' }, { 'idempotency-key': k });
        const other = await c.fx.as.signer.post(comments(), { body: 'mine' }, { 'idempotency-key': k });
        expect([first.status, other.status]).toEqual([201, 201]);
        expect(other.headers.get('idempotent-replayed')).toBeNull();
        expect(other.body.id).not.toBe(first.body.id);
      });
    });

  });
}
