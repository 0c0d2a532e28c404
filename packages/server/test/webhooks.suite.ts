/**
 * Webhook delivery over real HTTP to a loopback receiver, defined once and run against SQLite
 * (webhooks.test.ts) and PostgreSQL (webhooks.pg.test.ts): each delivery carries an HMAC-SHA256
 * signature the receiver checks with the secret shown once at subscription; a receiver answering 500
 * gets the same event again after the backoff; the delivery log shows attempts and statuses; a
 * disabled webhook (or an unsubscribed event) gets nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSpend, keystoreCosigner } from '../../../test/support/coordinator.ts';
import { client, startTestServer, type StoreKind, type TestServer } from '../../../test/support/server.ts';

const PAY_TO = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

/** One request the receiver got. */
interface Received {
  readonly path: string;
  readonly at: number;
  readonly eventId: string;
  readonly deliveryId: string;
  readonly signature: string;
  readonly raw: string;
  readonly body: any;
}

/** A loopback HTTP receiver answering each request with the next status of its path's script (then 200). */
interface Receiver {
  readonly base: string;
  readonly got: Received[];
  script(path: string, statuses: number[]): void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const got: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const path = req.url ?? '';
      got.push({
        path,
        at: Date.now(),
        eventId: String(req.headers['x-mofn-event-id']),
        deliveryId: String(req.headers['x-mofn-delivery']),
        signature: String(req.headers['x-mofn-signature']),
        raw,
        body: JSON.parse(raw),
      });
      const status = scripts.get(path)?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    got,
    script: (path, statuses) => scripts.set(path, [...statuses]),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Checks `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>` as a receiver would. */
function signatureVerifies(header: string, raw: string, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (m === null) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  return timingSafeEqual(createHmac('sha256', secret).update(`${m[1]!}.${raw}`).digest(), Buffer.from(m[2]!, 'hex'));
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Defines the suite for one store. */
export function defineWebhooksSuite(kind: StoreKind): void {
  describe(`webhooks (${kind})`, () => {
    let server: TestServer;
    let receiver: Receiver;
    let n = 0;
    let wallet: { id: string; descriptor: string; api: ReturnType<typeof client>; signer: ReturnType<typeof client>; sign: (psbt: string) => Promise<string> };

    beforeAll(async () => {
      server = await startTestServer({ kind });
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
      await server.close();
    });
    // A fresh 2-of-2 wallet per test: webhooks are per wallet, so tests cannot see each other's events.
    beforeEach(async () => {
      const name = `wh${String(++n)}-${kind}`;
      const cosigners = [await keystoreCosigner(`${name}-0`), await keystoreCosigner(`${name}-1`)];
      const admin = await server.user(`${name}-admin`);
      const signerUser = await server.user(`${name}-signer`);
      const api = client(server.url, admin.token);
      const created = await api.post('/v1/wallets', { name, threshold: 2, keys: cosigners.map((c) => c.key), network: 'test' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const w = created.body as { id: string; descriptor: string; cosigners: { position: number; fingerprint: string }[] };
      const position = w.cosigners.find((c) => c.fingerprint === cosigners[0]!.unlocked.fingerprint)!.position;
      expect((await api.post(`/v1/wallets/${w.id}/roles`, { user: signerUser.id, role: 'signer', cosigner: position })).status).toBe(201);
      wallet = { id: w.id, descriptor: w.descriptor, api, signer: client(server.url, signerUser.token), sign: (psbt) => cosigners[0]!.sign(psbt, w.descriptor, 'test') };
    });

    const subscribe = async (path: string, events: string[]) => {
      const r = await wallet.api.post(`/v1/wallets/${wallet.id}/webhooks`, { url: receiver.base + path, events });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.body.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
      return r.body as { id: string; secret: string };
    };
    const propose = async () => {
      const r = await wallet.api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO }).psbt });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body as { id: string; version: number; psbt?: string };
    };
    const deliveries = async (hookId: string) => {
      const r = await wallet.api.get(`/v1/wallets/${wallet.id}/webhooks/${hookId}/deliveries`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.items as { id: string; eventId: string; type: string; status: string; attempts: number; nextAttemptAt: string; lastStatus: number | null; lastError: string | null; deliveredAt: string | null }[];
    };
    const at = (path: string) => receiver.got.filter((g) => g.path === path);

    it('delivers each subscribed event once, signed with the secret shown at subscription; the secret is never listed again', async () => {
      const path = `/signed-${kind}-${String(n)}`;
      const hook = await subscribe(path, ['proposal.created', 'signature.added']);
      const listed = await wallet.api.get(`/v1/wallets/${wallet.id}/webhooks`);
      expect(listed.body.items).toHaveLength(1);
      expect(JSON.stringify(listed.body)).not.toContain(hook.secret);

      const p = await propose();
      const psbt = (await wallet.signer.get(`/v1/proposals/${p.id}/psbt`)).body.psbt as string;
      const signed = await wallet.signer.post(`/v1/proposals/${p.id}/signatures`, { psbt: await wallet.sign(psbt) });
      expect(signed.status, JSON.stringify(signed.body)).toBe(200);
      await server.jobs.runOnce();
      await until('two deliveries', () => at(path).length >= 2);
      await sleep(150);
      const got = at(path);
      expect(got.map((g) => g.body.type).sort()).toEqual(['proposal.created', 'signature.added']);
      for (const g of got) {
        expect(signatureVerifies(g.signature, g.raw, hook.secret), g.signature).toBe(true);
        // Negative controls: another secret, or a body changed by one byte, does not verify.
        expect(signatureVerifies(g.signature, g.raw, 'whsec_' + '0'.repeat(64))).toBe(false);
        expect(signatureVerifies(g.signature, g.raw.replace(p.id, p.id.slice(0, -1) + (p.id.endsWith('0') ? '1' : '0')), hook.secret)).toBe(false);
        expect(g.body).toMatchObject({ id: g.eventId, walletId: wallet.id, data: { proposalId: p.id } });
      }
      const log = await deliveries(hook.id);
      expect(log).toHaveLength(2);
      for (const d of log) expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200, lastError: null });
      expect(new Set(log.map((d) => d.eventId))).toEqual(new Set(got.map((g) => g.eventId)));
      expect(new Set(log.map((d) => d.id))).toEqual(new Set(got.map((g) => g.deliveryId)));
    });

    it('retries with backoff after a 500 and records every attempt in the delivery log', async () => {
      const path = `/flaky-${kind}-${String(n)}`;
      receiver.script(path, [500, 500]);
      const hook = await subscribe(path, ['proposal.created']);
      const p = await propose();

      await until('the first attempt', () => at(path).length >= 1);
      await until('the failure recorded', async () => (await deliveries(hook.id))[0]?.attempts === 1);
      const first = (await deliveries(hook.id))[0]!;
      expect(first).toMatchObject({ type: 'proposal.created', status: 'pending', attempts: 1, lastStatus: 500, lastError: 'HTTP 500', deliveredAt: null });
      // The next try waits for the backoff (1 s after the first failure), it does not spin.
      expect(Date.parse(first.nextAttemptAt) - at(path)[0]!.at).toBeGreaterThanOrEqual(800);
      await server.jobs.runOnce();
      expect(at(path)).toHaveLength(1);

      await until('the third attempt', () => at(path).length >= 3, 20_000);
      await until('success recorded', async () => (await deliveries(hook.id))[0]?.status === 'delivered');
      const got = at(path);
      expect(got).toHaveLength(3);
      // Backoff doubles: about 1 s, then about 2 s between attempts (50 ms job ticks add jitter).
      expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(900);
      expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(1900);
      // The same event and delivery each time, each attempt freshly signed with the same secret.
      expect(new Set(got.map((g) => g.eventId)).size).toBe(1);
      expect(new Set(got.map((g) => g.deliveryId)).size).toBe(1);
      expect(got.map((g) => g.raw)).toEqual([got[0]!.raw, got[0]!.raw, got[0]!.raw]);
      for (const g of got) expect(signatureVerifies(g.signature, g.raw, hook.secret)).toBe(true);
      expect(got[0]!.body.data.proposalId).toBe(p.id);
      const log = await deliveries(hook.id);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, lastError: null });
      expect(log[0]!.deliveredAt).not.toBeNull();
      await sleep(300);
      expect(at(path)).toHaveLength(3);
    });

    it('a disabled webhook gets nothing, not even the retry of a failed delivery; an unsubscribed event is not sent', async () => {
      const offPath = `/off-${kind}-${String(n)}`;
      const onPath = `/on-${kind}-${String(n)}`;
      const readyOnlyPath = `/ready-only-${kind}-${String(n)}`;
      receiver.script(offPath, [500]);
      const off = await subscribe(offPath, ['proposal.created']);
      const on = await subscribe(onPath, ['proposal.created']);
      const readyOnly = await subscribe(readyOnlyPath, ['proposal.ready']);

      await propose();
      await until('the failed first attempt and the live hook', () => at(offPath).length === 1 && at(onPath).length === 1);
      await until('the failure recorded', async () => (await deliveries(off.id))[0]?.attempts === 1);
      const del = await wallet.api.delete(`/v1/wallets/${wallet.id}/webhooks/${off.id}`);
      expect(del.status).toBe(204);
      const again = await wallet.api.delete(`/v1/wallets/${wallet.id}/webhooks/${off.id}`);
      expect(again.status).toBe(404);
      expect(again.body.error.code).toBe('webhook.not_found');

      // A second proposal after disabling: only the live hook hears of it.
      await propose();
      await until('the live hook gets the second event', () => at(onPath).length === 2);
      // Wait past the failed delivery's backoff (1 s), draining the jobs too.
      await sleep(1500);
      await server.jobs.runOnce();
      expect(at(offPath)).toHaveLength(1);
      expect(at(readyOnlyPath)).toHaveLength(0);
      expect(await deliveries(readyOnly.id)).toEqual([]);
      const offLog = await deliveries(off.id);
      expect(offLog).toHaveLength(1);
      expect(offLog[0]).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500 });
      expect((await deliveries(on.id)).map((d) => d.status)).toEqual(['delivered', 'delivered']);
      const listed = (await wallet.api.get(`/v1/wallets/${wallet.id}/webhooks`)).body.items as { id: string; disabledAt: string | null }[];
      expect(listed.find((h) => h.id === off.id)!.disabledAt).not.toBeNull();
      expect(listed.find((h) => h.id === on.id)!.disabledAt).toBeNull();
      const verified = await wallet.api.get(`/v1/wallets/${wallet.id}/audit/verify`);
      expect(verified.body.ok).toBe(true);
    });
  });
}
