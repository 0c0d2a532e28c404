/**
 * Crash safety, defined once and run against SQLite (crash.test.ts: WAL, synchronous=FULL) and
 * PostgreSQL (crash.pg.test.ts): the server runs as a real child process, a stream of signature
 * submissions flows into it, it is killed with SIGKILL mid-stream and restarted on the same store.
 * Every submission that got a 2xx must be there, each change must be whole (signatures, version,
 * state and audit event together or not at all), and the audit chain must verify.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePsbt } from '@mofn/bitcoin';
import { createContext, createToken, createUser } from '@mofn/service';
import { buildSpend, keystoreCosigner } from '../../../test/support/coordinator.ts';
import { newStoreLocation, type StoreLocation } from '../../../test/support/storeLocation.ts';
import { client } from '../../../test/support/server.ts';
import { spawnServerProcess, type ServerProcess } from '../../../test/support/serverProcess.ts';
import type { StoreKind } from '../../../test/support/server.ts';

const PAY_TO = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
const COSIGNERS = 5;
const THRESHOLD = 3;
const PROPOSALS = 40;
const WORKERS = 6;

const newLocation = (kind: StoreKind) => newStoreLocation(kind, 'crash');

/** One planned submission. */
interface Submission {
  readonly proposalId: string;
  readonly cosignerId: string;
  readonly token: string;
  readonly psbt: string;
  /** `input:pubkeyhex:sighex` of each signature the PSBT carries. */
  readonly signatures: readonly string[];
}

type Outcome = 'acked' | 'refused' | 'lost' | 'unsent';

function signaturesIn(psbt: string): string[] {
  return parsePsbt(psbt).inputs.flatMap((inp, i) => inp.partialSigs.map((s) => `${String(i)}:${Buffer.from(s.pubkey).toString('hex')}:${Buffer.from(s.signature).toString('hex')}`));
}

/** Defines the suite for one store. */
export function defineCrashSuite(kind: StoreKind): void {
  describe(`crash safety: SIGKILL mid-stream, restart (${kind})`, () => {
    let location: StoreLocation;
    const children: ServerProcess[] = [];
    const secretKey = randomBytes(32).toString('hex');
    const spawnChild = async () => {
      const child = await spawnServerProcess({ home: location.home, secretKey, ...(location.databaseUrl === undefined ? {} : { databaseUrl: location.databaseUrl }) });
      children.push(child);
      return child;
    };

    beforeAll(async () => {
      location = await newLocation(kind);
    });
    afterAll(async () => {
      for (const c of children) await c.kill('SIGKILL');
      await location.drop();
    });

    it('every submission acknowledged with a 2xx survives the kill; each change is whole; the audit chain verifies', async () => {
      // Users and tokens are bootstrapped in the store directly, as `mofn admin create-user` does.
      const store = await location.open();
      const ctx = createContext(store);
      const mkUser = async (name: string) => {
        const u = await createUser(ctx, { name });
        return { id: u.id, token: (await createToken(ctx, u.id)).token };
      };
      const admin = await mkUser('crash-admin');
      const signerUsers = [];
      for (let i = 0; i < COSIGNERS; i++) signerUsers.push(await mkUser(`crash-s${String(i)}`));
      await store.close();

      let server = await spawnChild();
      const cosigners = await Promise.all(Array.from({ length: COSIGNERS }, (_, i) => keystoreCosigner(`crash-${kind}-${String(i)}`)));
      const api = client(server.url, admin.token);
      const created = await api.post('/v1/wallets', { name: 'crash', threshold: THRESHOLD, keys: cosigners.map((c) => c.key), network: 'test' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const wallet = created.body as { id: string; descriptor: string; cosigners: { id: string; position: number; fingerprint: string }[] };
      const signers: { cosigner: (typeof cosigners)[number]; cosignerId: string; token: string }[] = [];
      for (const [i, cosigner] of cosigners.entries()) {
        const c = wallet.cosigners.find((x) => x.fingerprint === cosigner.unlocked.fingerprint)!;
        expect((await api.post(`/v1/wallets/${wallet.id}/roles`, { user: signerUsers[i]!.id, role: 'signer', cosigner: c.position })).status).toBe(201);
        signers.push({ cosigner, cosignerId: c.id, token: signerUsers[i]!.token });
      }
      const proposals: { id: string; psbt: string }[] = [];
      for (let k = 0; k < PROPOSALS; k++) {
        const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO, firstIndex: k });
        const r = await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        proposals.push({ id: r.body.id as string, psbt: spend.psbt });
      }
      // Signed ahead, interleaved so that proposals fill up in parallel and some cross M mid-stream.
      const queue: Submission[] = [];
      for (const s of signers) {
        for (const p of proposals) {
          const psbt = await s.cosigner.sign(p.psbt, wallet.descriptor, 'test');
          queue.push({ proposalId: p.id, cosignerId: s.cosignerId, token: s.token, psbt, signatures: signaturesIn(psbt) });
        }
      }
      const stream = proposals.flatMap((_, k) => signers.map((_s, i) => queue[i * PROPOSALS + k]!));

      // The stream: WORKERS clients in parallel; SIGKILL once a third of it is acknowledged.
      const outcome = new Map<Submission, Outcome>(stream.map((s) => [s, 'unsent']));
      let acked = 0;
      let killed: Promise<unknown> | undefined;
      let next = 0;
      const killAt = Math.floor(stream.length / 3);
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (killed === undefined && next < stream.length) {
            const sub = stream[next++]!;
            try {
              const r = await client(server.url, sub.token).post(`/v1/proposals/${sub.proposalId}/signatures`, { psbt: sub.psbt });
              outcome.set(sub, r.status >= 200 && r.status < 300 ? 'acked' : 'refused');
              if (r.status >= 200 && r.status < 300 && ++acked >= killAt && killed === undefined) killed = server.kill('SIGKILL');
            } catch {
              outcome.set(sub, 'lost');
            }
          }
        }),
      );
      expect(await killed).toEqual({ code: null, signal: 'SIGKILL' });
      const count = (o: Outcome) => [...outcome.values()].filter((v) => v === o).length;
      expect(count('refused')).toBe(0);
      expect(count('acked')).toBeGreaterThanOrEqual(killAt);
      expect(count('unsent')).toBeGreaterThan(0);

      server = await spawnChild();
      const admin2 = client(server.url, admin.token);
      const audit = await admin2.get(`/v1/wallets/${wallet.id}/audit?limit=1000`);
      expect(audit.status).toBe(200);
      const events = audit.body.items as { type: string; data: Record<string, any> }[];
      const verified = await admin2.get(`/v1/wallets/${wallet.id}/audit/verify`);
      expect(verified.body).toMatchObject({ ok: true, length: events.length });

      for (const p of proposals) {
        const listed = (await admin2.get(`/v1/proposals/${p.id}/signatures`)).body.items as { input: number; publicKey: string; signature: string; cosigner: string }[];
        const have = new Set(listed.map((s) => `${String(s.input)}:${s.publicKey}:${s.signature}`));
        const mine = stream.filter((s) => s.proposalId === p.id);
        // Every acknowledged submission is there, signature for signature.
        for (const s of mine.filter((x) => outcome.get(x) === 'acked')) for (const sig of s.signatures) expect(have.has(sig), `${p.id} ${s.cosignerId}`).toBe(true);
        // Nothing appears that was never sent.
        const sent = new Set(mine.filter((x) => outcome.get(x) !== 'unsent').flatMap((x) => x.signatures));
        for (const sig of have) expect(sent.has(sig)).toBe(true);
        // Each change is whole: the signatures, their audit event, the version and the state agree.
        const signedBy = new Set(listed.map((s) => s.cosigner));
        const evs = events.filter((e) => e.data['proposal'] === p.id);
        expect(new Set(evs.filter((e) => e.type === 'signature.added').map((e) => e.data['cosigner']))).toEqual(signedBy);
        expect(evs.filter((e) => e.type === 'signature.added')).toHaveLength(signedBy.size);
        const ready = signedBy.size >= THRESHOLD;
        expect(evs.filter((e) => e.type === 'proposal.transition').map((e) => e.data['to'])).toEqual(ready ? ['ready'] : []);
        const view = (await admin2.get(`/v1/proposals/${p.id}`)).body;
        expect(view).toMatchObject({ state: ready ? 'ready' : 'collecting', version: signedBy.size + (ready ? 1 : 0), signatureCount: listed.length });
      }

      // The restarted server takes the rest of the stream (and the lost ones again) and ends complete.
      const rest = await Promise.all(stream.map(async (s) => ({ s, r: await client(server.url, s.token).post(`/v1/proposals/${s.proposalId}/signatures`, { psbt: s.psbt }) })));
      expect(rest.filter(({ r }) => r.status !== 200).map(({ r }) => JSON.stringify(r.body))).toEqual([]);
      for (const { s, r } of rest) if (outcome.get(s) === 'acked') expect(r.body.added).toBe(0);
      for (const p of proposals) {
        const view = (await admin2.get(`/v1/proposals/${p.id}`)).body;
        expect(view).toMatchObject({ state: 'ready', signatureCount: COSIGNERS, version: COSIGNERS + 1, missing: [] });
      }
      const again = await admin2.get(`/v1/wallets/${wallet.id}/audit/verify`);
      expect(again.body.ok).toBe(true);
      expect((await server.kill('SIGTERM')).code).toBe(0);
    });
  });
}
