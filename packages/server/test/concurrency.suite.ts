/**
 * Concurrent signature submissions over real HTTP, defined once and run against SQLite
 * (concurrency.test.ts) and PostgreSQL (concurrency.pg.test.ts): 50 signer clients hit 10 proposals
 * at once, with duplicate submissions, and every valid signature must be recorded exactly once, each
 * proposal must turn `ready` exactly when its M-th cosigner signs, versions must move by one per
 * change, and the audit chain must verify. On PostgreSQL the same runs again with the clients split
 * across two server instances on one database, with a webhook whose every event must arrive once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePsbt } from '@mofn/bitcoin';
import { buildSpend, keystoreCosigner, type KeystoreCosigner } from '../../../test/support/coordinator.ts';
import { client, startTestServer, type StoreKind, type TestServer } from '../../../test/support/server.ts';

const PAY_TO = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
const INPUTS = 2;

interface WalletSetup {
  readonly id: string;
  readonly descriptor: string;
  readonly threshold: number;
  readonly adminToken: string;
  /** Per cosigner position: the signer user's token and its keystore. */
  readonly signers: { readonly token: string; readonly cosigner: KeystoreCosigner; readonly cosignerId: string }[];
}

/** A wallet of `n` keystore cosigners, threshold `m`, one signer user per cosigner. */
async function setupWallet(server: TestServer, name: string, m: number, n: number): Promise<WalletSetup> {
  const cosigners = await Promise.all(Array.from({ length: n }, (_, i) => keystoreCosigner(`${name}-${String(i)}`)));
  const admin = await server.user(`${name}-admin`);
  const api = client(server.url, admin.token);
  const created = await api.post('/v1/wallets', { name, threshold: m, keys: cosigners.map((c) => c.key), network: 'test' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const wallet = created.body as { id: string; descriptor: string; cosigners: { id: string; position: number; fingerprint: string }[] };
  const signers = [];
  for (const [i, cosigner] of cosigners.entries()) {
    const user = await server.user(`${name}-s${String(i)}`);
    const c = wallet.cosigners.find((x) => x.fingerprint === cosigner.unlocked.fingerprint)!;
    const g = await api.post(`/v1/wallets/${wallet.id}/roles`, { user: user.id, role: 'signer', cosigner: c.position });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    signers.push({ token: user.token, cosigner, cosignerId: c.id });
  }
  return { id: wallet.id, descriptor: wallet.descriptor, threshold: m, adminToken: admin.token, signers };
}

/** `count` proposals on the wallet, each spending its own fresh coins. */
async function propose(server: TestServer, w: WalletSetup, count: number, firstIndex: number): Promise<{ id: string; psbt: string }[]> {
  const api = client(server.url, w.adminToken);
  const out = [];
  for (let k = 0; k < count; k++) {
    const spend = buildSpend(w.descriptor, 'test', { inputs: INPUTS, to: PAY_TO, firstIndex: firstIndex + k * INPUTS });
    const r = await api.post(`/v1/wallets/${w.id}/proposals`, { psbt: spend.psbt });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    out.push({ id: r.body.id as string, psbt: spend.psbt });
  }
  return out;
}

/** One planned submission: a signer's signed copy of one proposal. */
interface Submission {
  readonly proposalId: string;
  readonly walletId: string;
  readonly cosignerId: string;
  readonly token: string;
  readonly psbt: string;
  /** The signatures the PSBT carries, as `input:pubkeyhex:sighex`. */
  readonly signatures: readonly string[];
}

interface Outcome {
  readonly sub: Submission;
  readonly status: number;
  readonly body: any;
  readonly server: string;
}

function signaturesIn(psbt: string): string[] {
  const p = parsePsbt(psbt);
  return p.inputs.flatMap((inp, i) => inp.partialSigs.map((s) => `${String(i)}:${Buffer.from(s.pubkey).toString('hex')}:${Buffer.from(s.signature).toString('hex')}`));
}

/** Signs every proposal of every wallet with every signer (before the burst, so the burst is only HTTP). */
async function planSubmissions(wallets: readonly { w: WalletSetup; proposals: { id: string; psbt: string }[] }[]): Promise<Submission[][]> {
  const perClient: Submission[][] = [];
  for (const { w, proposals } of wallets) {
    for (const s of w.signers) {
      const mine: Submission[] = [];
      for (const p of proposals) {
        const signed = await s.cosigner.sign(p.psbt, w.descriptor, 'test');
        mine.push({ proposalId: p.id, walletId: w.id, cosignerId: s.cosignerId, token: s.token, psbt: signed, signatures: signaturesIn(signed) });
      }
      perClient.push(mine);
    }
  }
  return perClient;
}

/**
 * Runs every client at once. Each client walks its proposals in its own order; every third client
 * sends each submission twice at the same moment, and every client repeats its first one at the end.
 */
async function burst(perClient: readonly Submission[][], urls: readonly string[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const send = async (sub: Submission, url: string): Promise<void> => {
    const r = await client(url, sub.token).post(`/v1/proposals/${sub.proposalId}/signatures`, { psbt: sub.psbt });
    outcomes.push({ sub, status: r.status, body: r.body, server: url });
  };
  await Promise.all(
    perClient.map(async (subs, c) => {
      const url = urls[c % urls.length]!;
      const order = subs.map((_, i) => (i * 7 + c) % subs.length);
      for (const i of order) {
        const sub = subs[i]!;
        if (c % 3 === 0) await Promise.all([send(sub, url), send(sub, urls[(c + 1) % urls.length]!)]);
        else await send(sub, url);
      }
      await send(subs[0]!, url);
    }),
  );
  return outcomes;
}

/** What the store and the API must show after a burst. */
async function checkAfterBurst(server: TestServer, wallets: readonly { w: WalletSetup; proposals: { id: string }[] }[], outcomes: readonly Outcome[]): Promise<{ torn: string[] }> {
  const torn: string[] = [];
  // Every submission succeeded; exactly one per (proposal, cosigner) added its signatures.
  const failed = outcomes.filter((o) => o.status !== 200);
  expect(failed.map((o) => `${String(o.status)} ${JSON.stringify(o.body)}`)).toEqual([]);
  const addedBy = new Map<string, number>();
  for (const o of outcomes) {
    const key = `${o.sub.proposalId}/${o.sub.cosignerId}`;
    expect([0, INPUTS]).toContain(o.body.added);
    if (o.body.added > 0) addedBy.set(key, (addedBy.get(key) ?? 0) + 1);
    // A response never shows a proposal ready before M cosigners signed every input.
    const p = o.body.proposal;
    if (p.state === 'ready') expect(p.cosigners.filter((c: { signed: boolean }) => c.signed).length).toBeGreaterThanOrEqual(p.threshold);
  }
  const expectedKeys = new Set(outcomes.map((o) => `${o.sub.proposalId}/${o.sub.cosignerId}`));
  expect(addedBy.size).toBe(expectedKeys.size);
  expect([...addedBy.values()].every((n) => n === 1)).toBe(true);

  for (const { w, proposals } of wallets) {
    const admin = client(server.url, w.adminToken);
    const audit = await admin.get(`/v1/wallets/${w.id}/audit?limit=1000`);
    expect(audit.status).toBe(200);
    const events = audit.body.items as { seq: number; type: string; data: Record<string, any> }[];
    expect(events.length).toBeLessThan(1000);
    for (const p of proposals) {
      const sent = outcomes.filter((o) => o.sub.proposalId === p.id);
      const want = new Set(sent.flatMap((o) => o.sub.signatures));
      expect(want.size).toBe(w.signers.length * INPUTS);

      // The API lists each signature once, exactly those sent.
      const sigs = await admin.get(`/v1/proposals/${p.id}/signatures`);
      expect(sigs.status).toBe(200);
      const listed = (sigs.body.items as { input: number; publicKey: string; signature: string; cosigner: string }[]).map((s) => `${String(s.input)}:${s.publicKey}:${s.signature}`);
      expect(listed).toHaveLength(want.size);
      expect(new Set(listed)).toEqual(want);

      // So does the database, row for row.
      const rows = await server.store.db.selectFrom('proposal_signatures').select(['input_index', 'public_key', 'signature']).where('proposal_id', '=', p.id).execute();
      expect(new Set(rows.map((r) => `${String(r.input_index)}:${r.public_key}:${r.signature}`))).toEqual(want);
      expect(rows).toHaveLength(want.size);

      // Ready exactly when the M-th cosigner's signatures were merged, and only once.
      const mine = events.filter((e) => e.data['proposal'] === p.id);
      const signedEvents = mine.filter((e) => e.type === 'signature.added');
      expect(signedEvents).toHaveLength(w.signers.length);
      expect(new Set(signedEvents.map((e) => e.data['cosigner']))).toEqual(new Set(w.signers.map((s) => s.cosignerId)));
      const transitions = mine.filter((e) => e.type === 'proposal.transition');
      expect(transitions.map((e) => e.data['to'])).toEqual(['ready']);
      const readyAt = mine.indexOf(transitions[0]!);
      expect(mine.slice(0, readyAt).filter((e) => e.type === 'signature.added')).toHaveLength(w.threshold);

      // Versions: each change exactly one step, in log order, ending at the proposal's version.
      const versions = mine.filter((e) => typeof e.data['version'] === 'number').map((e) => e.data['version'] as number);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
      const now = await admin.get(`/v1/proposals/${p.id}`);
      expect(now.body).toMatchObject({ state: 'ready', version: versions.length, signatureCount: want.size, missing: [] });
      expect(now.headers.get('etag')).toBe(`"${String(versions.length)}"`);
      // Each response should show one consistent snapshot: its version counts exactly the changes its body
      // shows (asserted by the caller last, so that every other guarantee is checked first).
      for (const o of sent) {
        const v = o.body.proposal as { version: number; state: string; signatureCount: number };
        if (v.version !== v.signatureCount / INPUTS + (v.state === 'ready' ? 1 : 0)) torn.push(`${p.id}: ETag v${String(v.version)} ${v.state} with ${String(v.signatureCount)} signatures`);
      }
    }
    const verified = await admin.get(`/v1/wallets/${w.id}/audit/verify`);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true, length: events.length });
  }
  return { torn };
}

/** A loopback receiver that records each webhook delivery and checks its signature. */
interface Receiver {
  readonly url: string;
  readonly deliveries: { eventId: string; type: string; signatureOk: boolean; body: any }[];
  close(): Promise<void>;
}

/** `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>` checked with the secret the API showed once. */
function verifySignature(header: string | undefined, body: string, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (m === null) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const mac = createHmac('sha256', secret).update(`${m[1]!}.${body}`).digest();
  return timingSafeEqual(mac, Buffer.from(m[2]!, 'hex'));
}

async function startReceiver(secretFor: (path: string) => string | undefined): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      const header = req.headers['x-mofn-signature'];
      const secret = secretFor(req.url ?? '');
      const signatureOk = secret !== undefined && verifySignature(typeof header === 'string' ? header : undefined, body, secret);
      deliveries.push({ eventId: String(req.headers['x-mofn-event-id']), type: parsed.type, signatureOk, body: parsed });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/hook`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Defines the suite for one store. */
export function defineConcurrencySuite(kind: StoreKind): void {
  describe(`concurrent signature submissions (${kind})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ kind });
    });
    afterAll(async () => {
      await server.close();
    });

    it('50 clients on 10 proposals at once, with duplicates: each signature recorded once, ready exactly at M, versions step by one, audit verifies', async () => {
      // 20 + 20 + 10 signer users = 50 clients; 4 + 4 + 2 proposals.
      const shapes = [
        { name: `cc-a-${kind}`, m: 11, n: 20, proposals: 4 },
        { name: `cc-b-${kind}`, m: 7, n: 20, proposals: 4 },
        { name: `cc-c-${kind}`, m: 6, n: 10, proposals: 2 },
      ];
      const wallets = [];
      for (const s of shapes) {
        const w = await setupWallet(server, s.name, s.m, s.n);
        wallets.push({ w, proposals: await propose(server, w, s.proposals, 0) });
      }
      const perClient = await planSubmissions(wallets);
      expect(perClient).toHaveLength(50);
      const outcomes = await burst(perClient, [server.url]);
      expect(outcomes.length).toBeGreaterThan(200);
      const { torn } = await checkAfterBurst(server, wallets, outcomes);
      expect(torn, 'responses whose ETag and body disagree').toEqual([]);
    });

    if (kind === 'postgres') {
      it('two instances on one PostgreSQL: same guarantees, and each webhook event delivered exactly once, signed', async () => {
        const second = await startTestServer({ kind: 'postgres', shareWith: server });
        let receiver: Receiver | undefined;
        try {
          const shapes = [
            { name: 'cc2-a', m: 11, n: 20, proposals: 4 },
            { name: 'cc2-b', m: 7, n: 20, proposals: 4 },
            { name: 'cc2-c', m: 6, n: 10, proposals: 2 },
          ];
          const secrets = new Map<string, string>();
          receiver = await startReceiver((path) => secrets.get(path.split('/').pop()!));
          const wallets = [];
          for (const s of shapes) {
            const w = await setupWallet(server, s.name, s.m, s.n);
            // One receiver path per wallet, so each delivery is checked against its own webhook's secret.
            const hook = await client(server.url, w.adminToken).post(`/v1/wallets/${w.id}/webhooks`, { url: `${receiver.url}/${w.id}`, events: ['signature.added', 'proposal.ready'] });
            expect(hook.status, JSON.stringify(hook.body)).toBe(201);
            expect(hook.body.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
            secrets.set(w.id, hook.body.secret as string);
            wallets.push({ w, proposals: await propose(server, w, s.proposals, 0) });
          }
          const deliveries = receiver.deliveries;

          const perClient = await planSubmissions(wallets);
          const outcomes = await burst(perClient, [server.url, second.url]);
          expect(new Set(outcomes.map((o) => o.server)).size).toBe(2);
          const { torn } = await checkAfterBurst(server, wallets, outcomes);

          // Expected events: one signature.added per (proposal, cosigner), one proposal.ready per proposal.
          const expected = wallets.reduce((n, { w, proposals }) => n + proposals.length * (w.signers.length + 1), 0);
          await until(`${String(expected)} webhook deliveries`, () => new Set(deliveries.map((d) => d.eventId)).size >= expected);
          // Give both instances' delivery loops time to send any duplicate, then drain them both.
          await new Promise((r) => setTimeout(r, 500));
          await Promise.all([server.jobs.runOnce(), second.jobs.runOnce()]);
          const byEvent = new Map<string, number>();
          for (const d of deliveries) byEvent.set(d.eventId, (byEvent.get(d.eventId) ?? 0) + 1);
          expect(byEvent.size).toBe(expected);
          expect([...byEvent.entries()].filter(([, n]) => n !== 1)).toEqual([]);
          const outbox = await server.store.db.selectFrom('outbox').select(['id', 'type']).where('type', 'in', ['signature.added', 'proposal.ready']).where('wallet_id', 'in', wallets.map((x) => x.w.id)).execute();
          expect(new Set(outbox.map((o) => o.id))).toEqual(new Set(byEvent.keys()));
          expect(deliveries.filter((d) => d.type === 'proposal.ready')).toHaveLength(10);
          for (const d of deliveries) expect(d.body.id).toBe(d.eventId);
          expect(deliveries.filter((d) => !d.signatureOk).map((d) => d.eventId)).toEqual([]);
          expect(torn, 'responses whose ETag and body disagree').toEqual([]);
        } finally {
          await receiver?.close();
          await second.close();
        }
      });
    }
  });
}
