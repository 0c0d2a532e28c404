/**
 * Fixtures for the coordinator's API suites (authorization matrix, bad input): one 2-of-3 wallet of
 * keystore cosigners with a user per role, fresh proposals on demand (each spending its own funding
 * so a broadcast never supersedes another fixture), the /v1 routes as the running app registered
 * them, and a snapshot of every store table to prove a refused request changed nothing.
 */
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createContext, createToken, createUser, revokeToken, type Database, type Store } from '@mofn/service';
import { buildSpend, keystoreCosigner, type BitcoreGateway, type KeystoreCosigner } from './coordinator.ts';
import { client, type ApiResponse, type TestServer } from './server.ts';

/** A testnet address outside every fixture wallet. */
export const PAY_TO = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

/**
 * Every table of the store. `satisfies` makes a table added to the schema a compile error here until
 * it is listed, so snapshots never silently skip one.
 */
const TABLES = {
  wallets: true,
  cosigners: true,
  addresses: true,
  outpoints: true,
  labels: true,
  users: true,
  tokens: true,
  wallet_roles: true,
  proposals: true,
  proposal_spends: true,
  proposal_signatures: true,
  proposal_declines: true,
  comments: true,
  audit_events: true,
  webhooks: true,
  outbox: true,
  webhook_deliveries: true,
  idempotency_keys: true,
  chain_backends: true,
  chain_syncs: true,
  chain_txs: true,
  chain_utxos: true,
  chain_addresses: true,
  safes: true,
  safe_proposals: true,
  safe_signatures: true,
} as const satisfies Record<keyof Database, true>;

/** A store table name. */
export type TableName = keyof typeof TABLES;

/** Every row of every table (minus `except`), each table's rows in a stable order. */
export async function snapshotStore(store: Store, except: readonly TableName[] = []): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of Object.keys(TABLES) as TableName[]) {
    if (except.includes(t)) continue;
    const rows = await store.db.selectFrom(t).selectAll().execute();
    // Row order differs between stores; a sorted list of canonical rows compares as a set.
    out[t] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
  }
  return out;
}

/** Runs `fn` and asserts that no table outside `except` changed. Returns what `fn` returned. */
export async function expectStoreUnchanged<T>(store: Store, fn: () => Promise<T>, except: readonly TableName[] = [], label = ''): Promise<T> {
  const before = await snapshotStore(store, except);
  const result = await fn();
  const after = await snapshotStore(store, except);
  for (const t of Object.keys(before)) expect(after[t], `table ${t} changed ${label}`).toEqual(before[t]);
  return result;
}

/** Asserts the one error body shape: `{"error": {"code", "message", "details"?, "hint"?}}` and nothing else. */
export function expectErrorBody(res: ApiResponse, code: string, label = ''): void {
  const ctx = `${label} -> ${String(res.status)} ${JSON.stringify(res.body).slice(0, 400)}`;
  expect(typeof res.body === 'object' && res.body !== null, ctx).toBe(true);
  expect(Object.keys(res.body), ctx).toEqual(['error']);
  const e = res.body.error;
  expect(typeof e.code, ctx).toBe('string');
  expect(typeof e.message === 'string' && e.message.length > 0, ctx).toBe(true);
  for (const k of Object.keys(e)) expect(['code', 'message', 'details', 'hint'], ctx).toContain(k);
  expect(e.code, ctx).toBe(code);
}

/** The routes registered under /v1, as `METHOD /v1/path/:param` (HEAD, which Fastify adds to every GET, left out). */
export function v1Routes(app: FastifyInstance): string[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: { depth: number; path: string }[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    // Each tree level is 4 characters of indentation ("│   " or "    ") before the "├── " / "└── " marker.
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line.trimEnd());
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    while (stack.length > 0 && stack[stack.length - 1]!.depth >= depth) stack.pop();
    const parent = stack[stack.length - 1]?.path ?? '';
    const path = parent + m[2]!;
    stack.push({ depth, path });
    if (m[3] === undefined) continue;
    for (const method of m[3].split(',').map((s) => s.trim())) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return [...new Set(routes.filter((r) => r.split(' ')[1]!.startsWith('/v1/')))].sort();
}

/** Who calls: the matrix columns, plus a second signer used to make proposals ready. */
export type Who = 'serverAdmin' | 'admin' | 'proposer' | 'signer' | 'viewer' | 'stranger' | 'noToken' | 'badToken' | 'revoked' | 'signer2';

/** An API client for one caller. */
export type Client = ReturnType<typeof client>;

/** One wallet with a user per role. */
export interface WalletFixture {
  readonly server: TestServer;
  readonly wallet: { id: string; descriptor: string; cosigners: { id: string; position: number; fingerprint: string }[] };
  /** Keystores by cosigner position. */
  readonly keys: readonly KeystoreCosigner[];
  readonly users: Readonly<Record<'serverAdmin' | 'admin' | 'proposer' | 'signer' | 'signer2' | 'viewer' | 'stranger' | 'bystander', { id: string; token: string }>>;
  readonly as: Readonly<Record<Who, Client>>;
  /** A proposal in `collecting` (by the proposer) for read-only cells. */
  readonly proposal: { id: string; version: number };
  /** An active webhook of the wallet. */
  readonly webhookId: string;
  /** A receive address of the wallet. */
  readonly address: string;
  /** The server's gateway, told about every fresh spend so it can broadcast them. */
  readonly gateway: BitcoreGateway | undefined;
}

let fundingSeq = 0;

/**
 * Sets up a 2-of-3 wsh wallet created by `admin`; `signer` signs for cosigner 0, `signer2` for
 * cosigner 1; `viewer` reads; `stranger` and `serverAdmin` hold no role on it; `revoked` is the
 * admin's revoked second token; `bystander` is a user nobody acts as.
 */
export async function setupWalletFixture(server: TestServer, label: string, gateway?: BitcoreGateway): Promise<WalletFixture> {
  const keys: KeystoreCosigner[] = [];
  for (let i = 0; i < 3; i++) keys.push(await keystoreCosigner(`${label}-k${String(i)}`));
  const names = ['serverAdmin', 'admin', 'proposer', 'signer', 'signer2', 'viewer', 'stranger', 'bystander'] as const;
  const users = {} as Record<(typeof names)[number], { id: string; token: string }>;
  for (const n of names) users[n] = await server.user(`${label}-${n}`, n === 'serverAdmin');
  const ctx = createContext(server.store);
  const second = await createToken(ctx, users.admin.id, 'to revoke');
  await revokeToken(ctx, users.admin.id, second.id);

  const as = {
    noToken: client(server.url),
    badToken: client(server.url, 'mofn_' + 'A'.repeat(43)),
    revoked: client(server.url, second.token),
  } as Record<Who, Client>;
  for (const n of names) if (n !== 'bystander') as[n] = client(server.url, users[n].token);

  const created = await as.admin.post('/v1/wallets', { name: `${label}-wallet`, threshold: 2, keys: keys.map((k) => k.key), network: 'test' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const wallet = created.body as WalletFixture['wallet'];
  // Positions follow the descriptor's key order, not the order keys were given: match by fingerprint.
  const byPosition = wallet.cosigners.map((c) => keys.find((k) => k.unlocked.fingerprint === c.fingerprint)!);
  const grant = async (user: string, role: string, cosigner?: number) => {
    const r = await as.admin.post(`/v1/wallets/${wallet.id}/roles`, { user, role, ...(cosigner === undefined ? {} : { cosigner }) });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  };
  await grant(users.proposer.id, 'proposer');
  await grant(users.signer.id, 'signer', 0);
  await grant(users.signer2.id, 'signer', 1);
  await grant(users.viewer.id, 'viewer');
  const hook = await as.admin.post(`/v1/wallets/${wallet.id}/webhooks`, { url: 'http://127.0.0.1:9/hook', events: ['proposal.created', 'signature.added'] });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  const addr = await as.admin.get(`/v1/wallets/${wallet.id}/addresses?count=1`);
  expect(addr.status).toBe(200);
  const fx = { server, wallet, keys: byPosition, users, as, proposal: { id: '', version: 0 }, webhookId: hook.body.id as string, address: addr.body.items[0].address as string, gateway };
  const p = await propose(fx, 'proposer');
  return { ...fx, proposal: { id: p.id, version: p.version } };
}

/** A funded spend of the fixture wallet whose funding transaction no other spend uses. */
export function freshSpend(fx: Pick<WalletFixture, 'wallet' | 'gateway'>, inputs = 1): ReturnType<typeof buildSpend> {
  fundingSeq += inputs;
  const spend = buildSpend(fx.wallet.descriptor, 'test', { inputs, to: PAY_TO, firstIndex: fundingSeq });
  fx.gateway?.expect(spend.fundingTxid, spend.prevouts);
  return spend;
}

/** Proposes a fresh spend as `by`; returns the created proposal. */
export async function propose(fx: Pick<WalletFixture, 'wallet' | 'as' | 'gateway'>, by: Who = 'proposer'): Promise<{ id: string; version: number; psbt: string }> {
  const spend = freshSpend(fx);
  const r = await fx.as[by].post(`/v1/wallets/${fx.wallet.id}/proposals`, { psbt: spend.psbt });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { id: r.body.id, version: r.body.version, psbt: spend.psbt };
}

/** The proposal's current PSBT signed by the keystore of cosigner `position` (not submitted). */
export async function signedCopy(fx: Pick<WalletFixture, 'wallet' | 'as' | 'keys'>, proposalId: string, position: number): Promise<string> {
  const r = await fx.as.admin.get(`/v1/proposals/${proposalId}/psbt`);
  expect(r.status).toBe(200);
  return fx.keys[position]!.sign(r.body.psbt, fx.wallet.descriptor, 'test');
}

/** A proposal by `by` carrying both signers' signatures (2-of-3: `ready`); returns its id and version. */
export async function readyProposal(fx: Pick<WalletFixture, 'wallet' | 'as' | 'keys' | 'gateway'>, by: Who = 'proposer'): Promise<{ id: string; version: number }> {
  const p = await propose(fx, by);
  let version = p.version;
  for (const [who, position] of [
    ['signer', 0],
    ['signer2', 1],
  ] as const) {
    const r = await fx.as[who].post(`/v1/proposals/${p.id}/signatures`, { psbt: await signedCopy(fx, p.id, position) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    version = r.body.proposal.version;
  }
  return { id: p.id, version };
}

/** A new user with a token, made directly in the store (not through the API under test). */
export async function freshUser(store: Store, name: string): Promise<{ id: string; token: string; tokenId: string }> {
  const ctx = createContext(store);
  const u = await createUser(ctx, { name });
  const t = await createToken(ctx, u.id, 'fresh');
  return { id: u.id, token: t.token, tokenId: t.id };
}

/** A new token of an existing user, made directly in the store. */
export async function freshToken(store: Store, userId: string): Promise<string> {
  return (await createToken(createContext(store), userId, 'fresh')).id;
}

/** What one cell of an authorization matrix sends (the method comes from the route). */
export interface MatrixRequest {
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One row of an authorization matrix: a route (and variant) with the expected status per column. */
export interface MatrixRow<F, C extends string> {
  /** `METHOD /v1/path/:param` exactly as the app registers it. */
  readonly route: string;
  /** What distinguishes this row from another row of the same route. */
  readonly variant?: string;
  /** One status per column. */
  readonly expect: readonly number[];
  /** Builds the request of one cell; fresh resources here keep allowed cells independent. */
  readonly request: (fx: F, who: C, n: number) => Promise<MatrixRequest> | MatrixRequest;
  /** The error code of the 403 cells (default `auth.forbidden`), per column when it differs. */
  readonly forbidden?: string | Partial<Record<C, string>>;
}

/**
 * Sends one matrix row, a cell per column: a refused cell must answer its status with the expected
 * error code and leave the store unchanged; an allowed cell must answer its status. Fails with every
 * column's actual status beside the expected ones.
 */
export async function checkMatrixRow<F, C extends string>(params: {
  readonly store: Store;
  readonly fx: F;
  readonly cols: readonly C[];
  readonly as: Readonly<Record<C, Client>>;
  readonly row: MatrixRow<F, C>;
  readonly expectedCode: (row: MatrixRow<F, C>, who: C, status: number) => string;
}): Promise<void> {
  const { row, cols } = params;
  const method = row.route.split(' ')[0]!;
  const actual: number[] = [];
  const problems: string[] = [];
  for (const [i, who] of cols.entries()) {
    const want = row.expect[i]!;
    try {
      const req = await row.request(params.fx, who, i);
      const send = () => params.as[who].call(method, req.path, method === 'POST' ? (req.body ?? {}) : req.body, req.headers ?? {});
      if (want >= 400) {
        const res = await expectStoreUnchanged(params.store, send, [], `${who} ${row.route}`);
        actual.push(res.status);
        if (res.status === want) expectErrorBody(res, params.expectedCode(row, who, want), `${who} ${row.route}`);
      } else {
        const res = await send();
        actual.push(res.status);
        if (res.status !== want) problems.push(`${who}: ${String(res.status)} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
    } catch (e) {
      problems.push(`${who}: ${(e as Error).message.split('\n')[0]!}`);
      if (actual.length === i) actual.push(-1);
    }
  }
  expect({ actual, problems }, `columns: ${cols.join(' ')}`).toEqual({ actual: row.expect, problems: [] });
}
