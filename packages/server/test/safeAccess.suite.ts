/**
 * Every /v1/safes route over real HTTP, on anvil with the real Safe contracts, against SQLite
 * (safeAccess.test.ts) and PostgreSQL (safeAccess.pg.test.ts): the authorization matrix (every route x
 * every caller, the expected status written out per cell; refused cells leave the store unchanged,
 * allowed cells act on fresh proposals so they really succeed), then bad input for every route, each
 * answered with its documented status and code and no change to any table. The Bitcoin suites
 * (authz.suite.ts, badInput.suite.ts) cover every other /v1 route; together they cover them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther, type Address, type Hex } from 'viem';
import { SAFE_V141_CANONICAL, createSafe, createSafeTx, readSafe, type SafeTx } from '@mofn/ethereum';
import { createContext, createToken, revokeToken, safeTxFromFields } from '@mofn/service';
import { client, startTestServer, type ApiResponse, type StoreKind, type TestServer } from '../../../test/support/server.ts';
import { checkMatrixRow, expectErrorBody, expectStoreUnchanged, snapshotStore, v1Routes, type MatrixRow } from '../../../test/support/serverFixtures.ts';
import { freshAddress, rawOwners, send, startTestChain, type RawOwner, type TestChain } from '../../service/test/safe/support.ts';

const COLS = ['serverAdmin', 'admin', 'proposer', 'signer', 'viewer', 'stranger', 'noToken', 'badToken', 'revoked'] as const;
type Col = (typeof COLS)[number];
type Api = ReturnType<typeof client>;

interface Fx {
  readonly server: TestServer;
  readonly tc: TestChain;
  readonly name: string;
  readonly safeId: string;
  readonly address: Address;
  readonly owners: readonly RawOwner[];
  readonly as: Readonly<Record<Col | 'signer1', Api>>;
  /** A collecting proposal (by the proposer) for read-only cells. */
  readonly proposalId: number;
  seq: number;
}

interface Req {
  readonly path: string;
  readonly body?: unknown;
}

type Row = MatrixRow<Fx, Col>;

/** The SafeTx a proposal view carries (decimal strings). */
const txOf = (view: { tx: Record<string, string | number> }): SafeTx => safeTxFromFields(view.tx);

const S = (fx: Fx) => `/v1/safes/${fx.name}`;
const SP = (fx: Fx, id: number | string) => `${S(fx)}/proposals/${String(id)}`;

/** A fresh ETH-transfer proposal (distinct amount, so never the same SafeTx twice), at `nonce` when given. */
async function propose(fx: Fx, by: 'proposer' | 'admin' = 'proposer', nonce?: bigint): Promise<{ id: number; tx: SafeTx; body: Record<string, unknown> }> {
  fx.seq += 1;
  const r = await fx.as[by].post(`${S(fx)}/proposals`, { kind: 'eth', to: freshAddress('safe-access'), value: String(1000 + fx.seq), ...(nonce === undefined ? {} : { nonce: nonce.toString() }) });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { id: r.body.id as number, tx: txOf(r.body), body: r.body };
}

async function sign(fx: Fx, who: 'signer' | 'signer1', owner: RawOwner, id: number, tx: SafeTx): Promise<void> {
  const s = await owner.signSafeTx({ chainId: fx.tc.chain.chainId, safeAddress: fx.address }, tx);
  const r = await fx.as[who].post(`${SP(fx, id)}/signatures`, { signer: s.signer, data: s.data });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/** A proposal at the Safe's current nonce with 2 of 2 required signatures. */
async function readyProposal(fx: Fx): Promise<number> {
  const { nonce } = await readSafe(fx.tc.clients, fx.address);
  const p = await propose(fx, 'proposer', nonce);
  await sign(fx, 'signer', fx.owners[0]!, p.id, p.tx);
  await sign(fx, 'signer1', fx.owners[1]!, p.id, p.tx);
  return p.id;
}

/** A ready proposal executed on chain by anvil's funder (not reported): its id and the Ethereum tx hash. */
async function executedElsewhere(fx: Fx): Promise<{ id: number; txHash: Hex }> {
  const id = await readyProposal(fx);
  const exec = await fx.as.viewer.get(`${SP(fx, id)}/execution`);
  expect(exec.status, JSON.stringify(exec.body)).toBe(200);
  const txHash = await fx.tc.clients.wallet.sendTransaction({ account: fx.tc.funder, chain: fx.tc.clients.chain, to: exec.body.to as Address, data: exec.body.data as Hex });
  await fx.tc.clients.public.waitForTransactionReceipt({ hash: txHash });
  return { id, txHash };
}

let safeSalt = 100n;
async function newSafe(fx: Pick<Fx, 'tc' | 'owners'>): Promise<Address> {
  safeSalt += 1n;
  const created = await createSafe(fx.tc.clients, { config: { owners: fx.owners.map((o) => o.address), threshold: 2, saltNonce: safeSalt }, singletons: SAFE_V141_CANONICAL, account: fx.tc.funder });
  return created.address;
}

// prettier-ignore
const ROWS: readonly Row[] = [
  //                                                                                   srvAdm admin prop signer viewer strngr none bad revoked
  { route: 'POST /v1/safes',                                                  expect: [201,   201,  201, 201,   201,   201,   401, 401, 401], request: async (fx, who, n) => ({ path: '/v1/safes', body: { name: `reg-${fx.server.store.kind}-${who}-${String(n)}`, chainId: fx.tc.chain.chainId, address: await newSafe(fx) } }) },
  { route: 'GET /v1/safes',                                                   expect: [200,   200,  200, 200,   200,   200,   401, 401, 401], request: () => ({ path: '/v1/safes' }) },
  { route: 'GET /v1/safes/:safe',                                             expect: [404,   200,  200, 200,   200,   404,   401, 401, 401], request: (fx) => ({ path: S(fx) }) },
  { route: 'POST /v1/safes/:safe/proposals',                                  expect: [404,   201,  201, 403,   403,   404,   401, 401, 401], request: (fx, _who, n) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: freshAddress('matrix'), value: String(50_000 + n + (fx.seq += 10)) } }) },
  { route: 'GET /v1/safes/:safe/proposals',                                   expect: [404,   200,  200, 200,   200,   404,   401, 401, 401], request: (fx) => ({ path: `${S(fx)}/proposals?state=collecting` }) },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId',                       expect: [404,   200,  200, 200,   200,   404,   401, 401, 401], request: (fx) => ({ path: SP(fx, fx.proposalId) }) },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId/typed-data',            expect: [404,   200,  200, 200,   200,   404,   401, 401, 401], request: (fx) => ({ path: `${SP(fx, fx.proposalId)}/typed-data` }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', variant: 'own owner key', expect: [404, 403, 403, 200, 403, 404, 401, 401, 401], request: async (fx) => { const p = await propose(fx); const s = await fx.owners[0]!.signSafeTx({ chainId: fx.tc.chain.chainId, safeAddress: fx.address }, p.tx); return { path: `${SP(fx, p.id)}/signatures`, body: { signer: s.signer, data: s.data } }; } },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', variant: "another owner's key", expect: [404, 403, 403, 403, 403, 404, 401, 401, 401], request: async (fx) => { const p = await propose(fx); const s = await fx.owners[2]!.signSafeTx({ chainId: fx.tc.chain.chainId, safeAddress: fx.address }, p.tx); return { path: `${SP(fx, p.id)}/signatures`, body: { signer: s.signer, data: s.data } }; }, forbidden: { signer: 'signature.not_your_key' } },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/cancel', variant: 'proposal by the proposer', expect: [404, 200, 200, 403, 403, 404, 401, 401, 401], request: async (fx) => ({ path: `${SP(fx, (await propose(fx, 'proposer')).id)}/cancel` }), forbidden: 'proposal.not_allowed' },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/cancel', variant: 'proposal by the admin', expect: [404, 200, 403, 403, 403, 404, 401, 401, 401], request: async (fx) => ({ path: `${SP(fx, (await propose(fx, 'admin')).id)}/cancel` }), forbidden: 'proposal.not_allowed' },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId/execution',             expect: [404,   200,  200, 200,   200,   404,   401, 401, 401], request: async (fx) => ({ path: `${SP(fx, await readyProposal(fx))}/execution` }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution',            expect: [404,   200,  200, 200,   403,   404,   401, 401, 401], request: async (fx, who) => { if (who === 'viewer' || who === 'stranger' || who === 'serverAdmin' || who === 'noToken' || who === 'badToken' || who === 'revoked') return { path: `${SP(fx, fx.proposalId)}/execution`, body: { txHash: `0x${'ab'.repeat(32)}` } }; const { id, txHash } = await executedElsewhere(fx); return { path: `${SP(fx, id)}/execution`, body: { txHash } }; } },
];

function expectedCode(row: Row, who: Col, status: number): string {
  if (status === 401) return who === 'noToken' ? 'auth.missing_token' : 'auth.invalid_token';
  if (status === 403) return typeof row.forbidden === 'string' ? row.forbidden : (row.forbidden?.[who] ?? 'auth.forbidden');
  if (status === 404) return 'safe.not_found';
  throw new Error(`no expected code for ${String(status)}`);
}

interface BadCase {
  readonly route: string;
  readonly name: string;
  readonly status: number;
  readonly code: string;
  readonly who?: Col;
  readonly req: (fx: Fx) => Promise<Req & { readonly method?: string; readonly headers?: Record<string, string> }> | (Req & { readonly method?: string; readonly headers?: Record<string, string> });
}

const LONG = 'x'.repeat(201);
// prettier-ignore
const BAD: readonly BadCase[] = [
  { route: 'POST /v1/safes', name: 'a body that is not JSON', status: 400, code: 'request.bad_json', req: () => ({ path: '/v1/safes', body: '{"name": ' }) },
  { route: 'POST /v1/safes', name: 'a missing address', status: 400, code: 'request.invalid', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: fx.tc.chain.chainId } }) },
  { route: 'POST /v1/safes', name: 'a chain id as a string', status: 400, code: 'request.invalid', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: '31337', address: fx.address } }) },
  { route: 'POST /v1/safes', name: 'an unknown extra field', status: 400, code: 'request.invalid', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: fx.tc.chain.chainId, address: fx.address, rpcUrl: 'http://169.254.169.254/' } }) },
  { route: 'POST /v1/safes', name: 'a bad name', status: 422, code: 'safe.bad_name', req: (fx) => ({ path: '/v1/safes', body: { name: '../etc', chainId: fx.tc.chain.chainId, address: fx.address } }) },
  { route: 'POST /v1/safes', name: 'an address with a wrong checksum', status: 422, code: 'safe.bad_address', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: fx.tc.chain.chainId, address: fx.address.slice(0, 41) + (fx.address[41] === 'a' ? 'A' : fx.address[41] === 'A' ? 'a' : fx.address[41] === 'b' ? 'B' : 'b') } }) },
  { route: 'POST /v1/safes', name: 'a chain this server has no RPC for', status: 422, code: 'safe.chain_not_served', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: 1, address: fx.address } }) },
  { route: 'POST /v1/safes', name: 'an account that is no contract', status: 422, code: 'safe.not_deployed', req: (fx) => ({ path: '/v1/safes', body: { name: 'x', chainId: fx.tc.chain.chainId, address: fx.tc.funder } }) },
  { route: 'POST /v1/safes', name: 'the same Safe again', status: 409, code: 'safe.exists', req: (fx) => ({ path: '/v1/safes', body: { name: 'again', chainId: fx.tc.chain.chainId, address: fx.address } }) },
  { route: 'POST /v1/safes', name: 'a taken name', status: 409, code: 'safe.name_taken', req: async (fx) => ({ path: '/v1/safes', body: { name: fx.name, chainId: fx.tc.chain.chainId, address: await newSafe(fx) } }) },
  { route: 'GET /v1/safes', name: 'no token', who: 'noToken', status: 401, code: 'auth.missing_token', req: () => ({ path: '/v1/safes' }) },
  { route: 'GET /v1/safes/:safe', name: 'an unknown Safe', status: 404, code: 'safe.not_found', req: () => ({ path: '/v1/safes/no-such-safe' }) },
  { route: 'GET /v1/safes/:safe', name: 'a 201-character name', status: 400, code: 'request.invalid', req: () => ({ path: `/v1/safes/${LONG}` }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'an unknown kind', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'drain', to: fx.tc.funder, value: '1' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a missing value', status: 422, code: 'safe.missing_field', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: fx.tc.funder } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a negative value', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: fx.tc.funder, value: '-1' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a zero value', status: 422, code: 'safe.bad_amount', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: fx.tc.funder, value: '0' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a recipient that is not an address', status: 422, code: 'safe.bad_address', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: '0x1234', value: '1' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'an ERC-20 that is no contract', status: 422, code: 'erc20.read_failed', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'erc20', token: fx.tc.funder, to: fx.tc.funder, amount: '1' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a call without an ABI', status: 422, code: 'safe.missing_field', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'call', to: fx.address, function: 'f' } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'an empty batch', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'batch', calls: [] } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a batch call with odd hex data', status: 422, code: 'safe.bad_multisend', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'batch', calls: [{ to: fx.tc.funder, data: '0xabc' }] } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'threshold 0', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'threshold', threshold: 0 } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a threshold above the owner count', status: 422, code: 'safe.bad_threshold', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'threshold', threshold: 4 } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'removing an address that is no owner', status: 422, code: 'safe.not_an_owner', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'remove_owner', owner: fx.tc.funder } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a nonce as a number', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'reject', nonce: 0 } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'an unknown extra field', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals`, body: { kind: 'eth', to: fx.tc.funder, value: '1', operation: 1 } }) },
  { route: 'POST /v1/safes/:safe/proposals', name: 'a body in another media type', status: 415, code: 'request.unsupported_media_type', req: (fx) => ({ path: `${S(fx)}/proposals`, body: '<eth/>', headers: { 'content-type': 'application/xml' } }) },
  { route: 'GET /v1/safes/:safe/proposals', name: 'an unknown state', status: 400, code: 'request.invalid', req: (fx) => ({ path: `${S(fx)}/proposals?state=pending` }) },
  { route: 'GET /v1/safes/:safe/proposals', name: 'an unknown Safe', status: 404, code: 'safe.not_found', req: () => ({ path: '/v1/safes/nope/proposals' }) },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId', name: 'an unknown proposal', status: 404, code: 'safe.proposal_not_found', req: (fx) => ({ path: SP(fx, 99999) }) },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId', name: 'an id that is neither number nor hash', status: 422, code: 'safe.bad_proposal_id', req: (fx) => ({ path: SP(fx, 'latest') }) },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId/typed-data', name: 'an unknown proposal', status: 404, code: 'safe.proposal_not_found', req: (fx) => ({ path: `${SP(fx, '0xdeadbeef00')}/typed-data` }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'malformed signature bytes', who: 'signer', status: 422, code: 'safe.bad_signature', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/signatures`, body: { signer: fx.owners[0]!.address, data: `0x${'zz'.repeat(65)}` } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'a signature of other bytes', who: 'signer', status: 422, code: 'safe.signer_mismatch', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/signatures`, body: { signer: fx.owners[0]!.address, data: (await fx.owners[0]!.signSafeTx({ chainId: fx.tc.chain.chainId, safeAddress: fx.address }, createSafeTx({ to: fx.address, nonce: 77n }))).data } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'a declared wrong chain id', who: 'signer', status: 422, code: 'safe.wrong_chain_id', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/signatures`, body: { signer: fx.owners[0]!.address, data: `0x${'11'.repeat(65)}`, chainId: 1 } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'a missing data field', who: 'signer', status: 400, code: 'request.invalid', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/signatures`, body: { signer: fx.owners[0]!.address } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'an unknown extra field', who: 'signer', status: 400, code: 'request.invalid', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/signatures`, body: { signer: fx.owners[0]!.address, data: '0x00', v: 27 } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/signatures', name: 'an unknown proposal', who: 'signer', status: 404, code: 'safe.proposal_not_found', req: (fx) => ({ path: `${SP(fx, 99999)}/signatures`, body: { signer: fx.owners[0]!.address, data: `0x${'11'.repeat(65)}` } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/cancel', name: 'a body with a field', status: 400, code: 'request.invalid', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/cancel`, body: { reason: 'x' } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/cancel', name: 'a proposal already cancelled', status: 409, code: 'proposal.terminal', req: async (fx) => { const p = await propose(fx); expect((await fx.as.admin.post(`${SP(fx, p.id)}/cancel`, {})).status).toBe(200); return { path: `${SP(fx, p.id)}/cancel` }; } },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId/execution', name: 'too few signatures', status: 409, code: 'safe.not_enough_signatures', req: async (fx) => { const { nonce } = await readSafe(fx.tc.clients, fx.address); return { path: `${SP(fx, (await propose(fx, 'proposer', nonce)).id)}/execution` }; } },
  { route: 'GET /v1/safes/:safe/proposals/:proposalId/execution', name: 'a proposal behind others in the queue', status: 409, code: 'safe.wrong_nonce', req: async (fx) => { const { nonce } = await readSafe(fx.tc.clients, fx.address); return { path: `${SP(fx, (await propose(fx, 'proposer', nonce + 5n)).id)}/execution` }; } },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution', name: 'a proposal still collecting signatures', status: 409, code: 'proposal.invalid_transition', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/execution`, body: { txHash: `0x${'ab'.repeat(32)}` } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution', name: 'a short hash', status: 400, code: 'request.invalid', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/execution`, body: { txHash: '0x1234' } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution', name: 'a hash that is not hex', status: 422, code: 'safe.bad_tx_hash', req: async (fx) => ({ path: `${SP(fx, (await propose(fx)).id)}/execution`, body: { txHash: `0x${'zz'.repeat(32)}` } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution', name: 'a transaction the chain does not know', status: 404, code: 'safe.tx_not_found', req: async (fx) => ({ path: `${SP(fx, await readyProposal(fx))}/execution`, body: { txHash: `0x${'ab'.repeat(32)}` } }) },
  { route: 'POST /v1/safes/:safe/proposals/:proposalId/execution', name: "another proposal's execution", status: 422, code: 'safe.not_this_execution', req: async (fx) => { const { txHash } = await executedElsewhere(fx); return { path: `${SP(fx, await readyProposal(fx))}/execution`, body: { txHash } }; } },
];

export function defineSafeAccessSuite(kind: StoreKind): void {
  describe(`Safe routes: authorization matrix and bad input (${kind})`, () => {
    let fx: Fx;
    beforeAll(async () => {
      const tc = await startTestChain();
      const server = await startTestServer({ kind, evmRpc: { [tc.chain.chainId]: tc.chain.rpcUrl } });
      await server.jobs.stop();
      const owners = rawOwners(3, `access-${kind}`);
      const address = await newSafe({ tc, owners });
      await send(tc, address, parseEther('5'));
      const names = ['serverAdmin', 'admin', 'proposer', 'signer', 'signer1', 'viewer', 'stranger'] as const;
      const users = {} as Record<(typeof names)[number], { id: string; token: string }>;
      for (const n of names) users[n] = await server.user(`safe-${kind}-${n}`, n === 'serverAdmin');
      const ctx = createContext(server.store);
      const second = await createToken(ctx, users.admin.id, 'to revoke');
      await revokeToken(ctx, users.admin.id, second.id);
      const as = { noToken: client(server.url), badToken: client(server.url, `mofn_${'A'.repeat(43)}`), revoked: client(server.url, second.token) } as Record<Col | 'signer1', Api>;
      for (const n of names) as[n] = client(server.url, users[n].token);
      const name = `vault-${kind}`;
      const reg = await as.admin.post('/v1/safes', { name, chainId: tc.chain.chainId, address });
      expect(reg.status, JSON.stringify(reg.body)).toBe(201);
      const safeId = reg.body.id as string;
      const grant = async (user: string, role: string, cosigner?: number) => {
        const r = await as.admin.post(`/v1/wallets/${safeId}/roles`, { user, role, ...(cosigner === undefined ? {} : { cosigner }) });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      };
      await grant(users.proposer.id, 'proposer');
      await grant(users.signer.id, 'signer', 0);
      await grant(users.signer1.id, 'signer', 1);
      await grant(users.viewer.id, 'viewer');
      fx = { server, tc, name, safeId, address, owners, as, proposalId: 0, seq: 0 };
      fx = { ...fx, proposalId: (await propose(fx)).id };
    }, 120_000);
    afterAll(async () => {
      await fx?.server.close();
      await fx?.tc.chain.stop();
    });

    it('covers every /v1/safes route, in the matrix and with bad input', () => {
      const registered = v1Routes(fx.server.app).filter((r) => r.includes(' /v1/safes'));
      expect(registered.length).toBeGreaterThan(8);
      expect([...new Set(ROWS.map((r) => r.route))].sort()).toEqual(registered);
      expect([...new Set(BAD.map((r) => r.route))].sort()).toEqual(registered);
      for (const r of ROWS) expect(r.expect, r.route).toHaveLength(COLS.length);
    });

    it.each(ROWS.map((r) => [`${r.route}${r.variant === undefined ? '' : ` [${r.variant}]`}`, r] as const))('matrix: %s', async (_name, row) => {
      await checkMatrixRow({ store: fx.server.store, fx, cols: COLS, as: fx.as, row, expectedCode });
    });

    it("a role on a Safe binds a signer to an owner: an owner index or address out of the Safe is refused", async () => {
      const u = await fx.server.user(`safe-${kind}-grantee`);
      for (const [cosigner, code] of [[7, 'role.bad_cosigner'], [fx.tc.funder, 'role.bad_cosigner'], ['0x1234', 'safe.bad_address']] as const) {
        const r = await expectStoreUnchanged(fx.server.store, () => fx.as.admin.post(`/v1/wallets/${fx.safeId}/roles`, { user: u.id, role: 'signer', cosigner }), [], String(cosigner));
        expect([r.status, r.body.error.code]).toEqual([422, code]);
      }
      const ok = await fx.as.admin.post(`/v1/wallets/${fx.safeId}/roles`, { user: u.id, role: 'signer', cosigner: fx.owners[2]!.address });
      expect([ok.status, ok.body.cosigner]).toEqual([201, fx.owners[2]!.address.toLowerCase()]);
    });

    it.each(BAD.map((k) => [`${k.route}: ${k.name} -> ${String(k.status)} ${k.code}`, k] as const))('bad input: %s', async (_n, kase) => {
      const r = await kase.req(fx);
      const method = r.method ?? kase.route.split(' ')[0]!;
      const before = await snapshotStore(fx.server.store);
      const res: ApiResponse = await fx.as[kase.who ?? 'admin'].call(method, r.path, method === 'POST' ? (r.body ?? {}) : r.body, r.headers ?? {});
      const after = await snapshotStore(fx.server.store);
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(kase.status);
      expectErrorBody(res, kase.code, kase.name);
      for (const t of Object.keys(before)) expect(after[t], `table ${t} changed`).toEqual(before[t]);
    });
  });
}
