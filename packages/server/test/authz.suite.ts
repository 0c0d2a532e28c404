/**
 * The authorization matrix over real HTTP, defined once and run against SQLite (authz.test.ts) and
 * PostgreSQL (authz.pg.test.ts): every route the app registers under /v1 x every caller, with the
 * expected status written out per cell. Cells that must be refused also prove that the store did
 * not change; cells that are allowed act on fresh fixtures, so they really succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type StoreKind, type TestServer } from '../../../test/support/server.ts';
import { BitcoreGateway, keystoreCosigner } from '../../../test/support/coordinator.ts';
import {
  checkMatrixRow,
  freshSpend,
  freshToken,
  freshUser,
  propose,
  readyProposal,
  setupWalletFixture,
  signedCopy,
  v1Routes,
  type MatrixRow,
  type WalletFixture,
  type Who,
} from '../../../test/support/serverFixtures.ts';

/** The matrix columns, in the order of every row's expectations. */
const COLS = ['serverAdmin', 'admin', 'proposer', 'signer', 'viewer', 'stranger', 'noToken', 'badToken', 'revoked'] as const satisfies readonly Who[];
type Col = (typeof COLS)[number];

type Row = MatrixRow<WalletFixture, Col>;

const W = (fx: WalletFixture) => `/v1/wallets/${fx.wallet.id}`;
const P = (id: string) => `/v1/proposals/${id}`;
const etag = (version: number) => ({ 'if-match': `"${String(version)}"` });

// The matrix. Columns: server admin (no wallet role), wallet admin, proposer, signer (bound to
// cosigner 0), viewer, stranger (valid user, no role), no token, invalid token, revoked token.
// prettier-ignore
const ROWS: readonly Row[] = [
  //                                                                         srvAdm admin  prop signer viewer strngr none  bad  revoked
  { route: 'GET /v1/openapi.json',                                  expect: [200,   200,   200, 200,   200,   200,   200,  200, 200], request: () => ({ path: '/v1/openapi.json' }) },
  { route: 'GET /v1/users/me',                                      expect: [200,   200,   200, 200,   200,   200,   401,  401, 401], request: () => ({ path: '/v1/users/me' }) },
  { route: 'GET /v1/users',                                         expect: [200,   403,   403, 403,   403,   403,   401,  401, 401], request: () => ({ path: '/v1/users' }), forbidden: 'auth.not_server_admin' },
  { route: 'POST /v1/users',                                        expect: [201,   403,   403, 403,   403,   403,   401,  401, 401], request: (_fx, who, n) => ({ path: '/v1/users', body: { name: `made-by-${who}-${String(n)}` } }), forbidden: 'auth.not_server_admin' },
  { route: 'POST /v1/users/:userId/tokens', variant: 'another user', expect: [201,  404,   404, 404,   404,   404,   401,  401, 401], request: (fx) => ({ path: `/v1/users/${fx.users.bystander.id}/tokens`, body: { label: 'x' } }) },
  { route: 'POST /v1/users/:userId/tokens', variant: 'me',          expect: [201,   201,   201, 201,   201,   201,   401,  401, 401], request: () => ({ path: '/v1/users/me/tokens', body: {} }) },
  { route: 'GET /v1/users/:userId/tokens', variant: 'another user', expect: [200,   404,   404, 404,   404,   404,   401,  401, 401], request: (fx) => ({ path: `/v1/users/${fx.users.bystander.id}/tokens` }) },
  { route: 'GET /v1/users/:userId/tokens', variant: 'me',           expect: [200,   200,   200, 200,   200,   200,   401,  401, 401], request: () => ({ path: '/v1/users/me/tokens' }) },
  { route: 'DELETE /v1/users/:userId/tokens/:tokenId', variant: 'another user', expect: [204, 404, 404, 404, 404,   404,   401,  401, 401], request: async (fx) => ({ path: `/v1/users/${fx.users.bystander.id}/tokens/${await freshToken(fx.server.store, fx.users.bystander.id)}` }) },
  { route: 'DELETE /v1/users/:userId/tokens/:tokenId', variant: 'own second token', expect: [204, 204, 204, 204, 204, 204,   401,  401, 401], request: async (fx, who) => ({ path: `/v1/users/me/tokens/${await freshToken(fx.server.store, fx.users[ownerOf(who)].id)}` }) },
  { route: 'POST /v1/wallets',                                      expect: [201,   201,   201, 201,   201,   201,   401,  401, 401], request: async (fx, who, n) => ({ path: '/v1/wallets', body: await newWalletBody(fx, `${who}-${String(n)}`) }) },
  { route: 'GET /v1/wallets',                                       expect: [200,   200,   200, 200,   200,   200,   401,  401, 401], request: () => ({ path: '/v1/wallets' }) },
  { route: 'GET /v1/wallets/:walletId',                             expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: W(fx) }) },
  { route: 'GET /v1/wallets/:walletId/cosigners',                   expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/cosigners` }) },
  { route: 'GET /v1/wallets/:walletId/export',                      expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/export?format=caravan` }) },
  { route: 'GET /v1/wallets/:walletId/addresses',                   expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/addresses?count=2` }) },
  { route: 'POST /v1/wallets/:walletId/addresses/next',             expect: [404,   201,   201, 403,   403,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/addresses/next` }) },
  { route: 'POST /v1/wallets/:walletId/addresses/verify',           expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/addresses/verify`, body: { address: fx.address } }) },
  { route: 'GET /v1/wallets/:walletId/roles',                       expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/roles` }) },
  { route: 'POST /v1/wallets/:walletId/roles',                      expect: [404,   201,   403, 403,   403,   404,   401,  401, 401], request: async (fx, who, n) => ({ path: `${W(fx)}/roles`, body: { user: (await freshUser(fx.server.store, `grantee-${who}-${String(n)}`)).id, role: 'viewer' } }) },
  { route: 'DELETE /v1/wallets/:walletId/roles/:userId/:role',      expect: [404,   204,   403, 403,   403,   404,   401,  401, 401], request: async (fx, who, n) => ({ path: `${W(fx)}/roles/${await grantedViewer(fx, `revokee-${who}-${String(n)}`)}/viewer` }) },
  { route: 'POST /v1/wallets/:walletId/proposals',                  expect: [404,   201,   201, 403,   403,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/proposals`, body: { psbt: freshSpend(fx).psbt } }) },
  { route: 'GET /v1/wallets/:walletId/proposals',                   expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/proposals?state=collecting` }) },
  { route: 'GET /v1/proposals/:proposalId',                         expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: P(fx.proposal.id) }) },
  { route: 'GET /v1/proposals/:proposalId/psbt',                    expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${P(fx.proposal.id)}/psbt` }) },
  { route: 'GET /v1/proposals/:proposalId/signatures',              expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${P(fx.proposal.id)}/signatures` }) },
  { route: 'POST /v1/proposals/:proposalId/signatures', variant: 'own key', expect: [404, 403, 403, 200,   403,   404,   401,  401, 401], request: async (fx) => { const p = await propose(fx); return { path: `${P(p.id)}/signatures`, body: { psbt: await signedCopy(fx, p.id, 0) } }; } },
  { route: 'POST /v1/proposals/:proposalId/signatures', variant: "another cosigner's key", expect: [404, 403, 403, 403, 403, 404, 401, 401, 401], request: async (fx) => { const p = await propose(fx); return { path: `${P(p.id)}/signatures`, body: { psbt: await signedCopy(fx, p.id, 2) } }; }, forbidden: { admin: 'auth.forbidden', proposer: 'auth.forbidden', signer: 'signature.not_your_key', viewer: 'auth.forbidden' } },
  { route: 'POST /v1/proposals/:proposalId/decline',                expect: [404,   403,   403, 200,   403,   404,   401,  401, 401], request: async (fx) => ({ path: `${P((await propose(fx)).id)}/decline`, body: { reason: 'no' } }) },
  { route: 'POST /v1/proposals/:proposalId/cancel', variant: 'proposal by the proposer', expect: [404, 200, 200, 403, 403, 404, 401, 401, 401], request: async (fx) => { const p = await propose(fx, 'proposer'); return { path: `${P(p.id)}/cancel`, headers: etag(p.version) }; }, forbidden: 'proposal.not_allowed' },
  { route: 'POST /v1/proposals/:proposalId/cancel', variant: 'proposal by the admin', expect: [404, 200, 403, 403, 403, 404, 401, 401, 401], request: async (fx) => { const p = await propose(fx, 'admin'); return { path: `${P(p.id)}/cancel`, headers: etag(p.version) }; }, forbidden: 'proposal.not_allowed' },
  { route: 'POST /v1/proposals/:proposalId/finalize',               expect: [404,   200,   200, 200,   403,   404,   401,  401, 401], request: async (fx) => { const p = await readyProposal(fx); return { path: `${P(p.id)}/finalize`, headers: etag(p.version) }; } },
  { route: 'POST /v1/proposals/:proposalId/broadcast',              expect: [404,   200,   200, 200,   403,   404,   401,  401, 401], request: async (fx) => { const p = await readyProposal(fx); return { path: `${P(p.id)}/broadcast`, headers: etag(p.version) }; }, forbidden: 'proposal.not_allowed' },
  { route: 'POST /v1/proposals/:proposalId/replace',                expect: [404,   201,   201, 403,   403,   404,   401,  401, 401], request: async (fx) => { const p = await readyProposal(fx); const sent = await fx.as.admin.post(`${P(p.id)}/broadcast`, {}, etag(p.version)); expect(sent.status, JSON.stringify(sent.body)).toBe(200); return { path: `${P(p.id)}/replace`, body: { feeRate: 10 } }; } },
  { route: 'GET /v1/proposals/:proposalId/comments',                expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${P(fx.proposal.id)}/comments` }) },
  { route: 'POST /v1/proposals/:proposalId/comments',               expect: [404,   201,   201, 201,   201,   404,   401,  401, 401], request: (fx, who) => ({ path: `${P(fx.proposal.id)}/comments`, body: { body: `hello from ${who}` } }) },
  { route: 'POST /v1/wallets/:walletId/webhooks',                   expect: [404,   201,   403, 403,   403,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/webhooks`, body: { url: 'https://hooks.example/mofn', events: ['proposal.ready'] } }) },
  { route: 'GET /v1/wallets/:walletId/webhooks',                    expect: [404,   200,   403, 403,   403,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/webhooks` }) },
  { route: 'DELETE /v1/wallets/:walletId/webhooks/:webhookId',      expect: [404,   204,   403, 403,   403,   404,   401,  401, 401], request: async (fx) => ({ path: `${W(fx)}/webhooks/${await newWebhook(fx)}` }) },
  { route: 'GET /v1/wallets/:walletId/webhooks/:webhookId/deliveries', expect: [404, 200,  403, 403,   403,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/webhooks/${fx.webhookId}/deliveries` }) },
  { route: 'GET /v1/wallets/:walletId/audit',                       expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/audit?limit=5` }) },
  { route: 'GET /v1/wallets/:walletId/audit/verify',                expect: [404,   200,   200, 200,   200,   404,   401,  401, 401], request: (fx) => ({ path: `${W(fx)}/audit/verify` }) },
];

/** The user whose token a column uses (the revoked token is the admin's; no user for the unauthenticated ones). */
function ownerOf(who: Col): 'serverAdmin' | 'admin' | 'proposer' | 'signer' | 'viewer' | 'stranger' {
  return who === 'noToken' || who === 'badToken' || who === 'revoked' ? 'admin' : who;
}

async function newWalletBody(fx: WalletFixture, label: string): Promise<unknown> {
  const keys = [];
  for (let i = 0; i < 3; i++) keys.push((await keystoreCosigner(`authz-${fx.server.store.kind}-${label}-${String(i)}`)).key);
  return { name: `w-${label}`, threshold: 2, keys, network: 'test' };
}

async function grantedViewer(fx: WalletFixture, name: string): Promise<string> {
  const u = await freshUser(fx.server.store, name);
  const r = await fx.as.admin.post(`${W(fx)}/roles`, { user: u.id, role: 'viewer' });
  expect(r.status).toBe(201);
  return u.id;
}

async function newWebhook(fx: WalletFixture): Promise<string> {
  const r = await fx.as.admin.post(`${W(fx)}/webhooks`, { url: 'https://hooks.example/drop', events: ['proposal.ready'] });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** The expected code of a refused cell. */
function expectedCode(row: Row, who: Col, status: number): string {
  if (status === 401) return who === 'noToken' ? 'auth.missing_token' : 'auth.invalid_token';
  if (status === 403) return typeof row.forbidden === 'string' ? row.forbidden : (row.forbidden?.[who] ?? 'auth.forbidden');
  if (status === 404) {
    const path = row.route.split(' ')[1]!;
    return path.includes(':proposalId') ? 'proposal.not_found' : path.includes(':walletId') ? 'wallet.not_found' : 'user.not_found';
  }
  throw new Error(`no expected code for ${String(status)}`);
}

/** Defines the suite for one store. */
export function defineAuthzSuite(kind: StoreKind): void {
  describe(`authorization matrix (${kind})`, () => {
    let server: TestServer;
    let fx: WalletFixture;
    beforeAll(async () => {
      const gateway = new BitcoreGateway();
      server = await startTestServer({ kind, gateway });
      // Background jobs would touch webhook deliveries between snapshots; these tests drive everything themselves.
      await server.jobs.stop();
      fx = await setupWalletFixture(server, `authz-${kind}`, gateway);
    });
    afterAll(async () => {
      await server.close();
    });

    it('covers every route registered under /v1 but the Safe routes, and lists no route that does not exist', () => {
      // Safe routes have their own matrix on a dev chain (safeAccess.suite.ts).
      const registered = v1Routes(server.app).filter((r) => !r.includes(' /v1/safes'));
      const covered = [...new Set(ROWS.map((r) => r.route))].sort();
      expect(registered.length).toBeGreaterThan(20);
      expect(covered).toEqual(registered);
      for (const r of ROWS) expect(r.expect, r.route).toHaveLength(COLS.length);
    });

    it.each(ROWS.map((r) => [`${r.route}${r.variant === undefined ? '' : ` [${r.variant}]`}`, r] as const))('%s', async (_name, row) => {
      await checkMatrixRow({ store: server.store, fx, cols: COLS, as: fx.as, row, expectedCode });
    });

    it("a stranger's 404 is the same answer as for an id that does not exist (existence does not leak)", async () => {
      const missingWallet = await fx.as.stranger.get('/v1/wallets/no-such-wallet');
      const hiddenWallet = await fx.as.stranger.get(W(fx));
      expect([hiddenWallet.status, hiddenWallet.body.error.code]).toEqual([missingWallet.status, missingWallet.body.error.code]);
      expect(hiddenWallet.body.error.message.replace(fx.wallet.id, 'X')).toBe(missingWallet.body.error.message.replace('no-such-wallet', 'X'));
      const missingProposal = await fx.as.stranger.get('/v1/proposals/no-such-proposal');
      const hiddenProposal = await fx.as.stranger.get(P(fx.proposal.id));
      expect([hiddenProposal.status, hiddenProposal.body.error.code]).toEqual([missingProposal.status, missingProposal.body.error.code]);
      expect(hiddenProposal.body.error.message.replace(fx.proposal.id, 'X')).toBe(missingProposal.body.error.message.replace('no-such-proposal', 'X'));
      // The wallet list shows only wallets the caller holds a role on.
      const list = await fx.as.stranger.get('/v1/wallets');
      expect(list.body.items.map((w: { id: string }) => w.id)).not.toContain(fx.wallet.id);
      const mine = await fx.as.viewer.get('/v1/wallets');
      expect(mine.body.items.map((w: { id: string }) => w.id)).toContain(fx.wallet.id);
    });
  });
}
