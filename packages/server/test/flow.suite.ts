/**
 * End-to-end flows over real HTTP, defined once and run against SQLite (flow.test.ts) and
 * PostgreSQL (flow.pg.test.ts): wallets from keystore xpubs, proposals, signatures by each
 * cosigner's keystore, finalize, broadcast through a gateway that runs bitcore-lib's interpreter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTransaction, finalizePsbt, parsePsbt, psbtToBase64 } from '@mofn/bitcoin';
import { createEsploraBackend } from '@mofn/bitcoin/backend';
import { createBackendGateway, createWalletBackendGateway, expireDueProposals, refreshConfirmations, setBackend, supersedeConflicted } from '@mofn/service';
import { ChainModel } from '../../../test/support/chain/model.ts';
import { startEsploraServer } from '../../../test/support/chain/esploraServer.ts';
import { verifyWithBitcore } from '../../../test/support/bitcore.ts';
import { BitcoreGateway, buildSpend, keystoreCosigner, type KeystoreCosigner } from '../../../test/support/coordinator.ts';
import { client, startTestServer, type StoreKind, type TestServer } from '../../../test/support/server.ts';

const PAY_TO = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

async function setupWallet(server: TestServer, m: number, n: number, name: string) {
  const cosigners: KeystoreCosigner[] = [];
  for (let i = 0; i < n; i++) cosigners.push(await keystoreCosigner(`${name}-${String(i)}`));
  const admin = await server.user(`${name}-admin`);
  const users = [];
  for (let i = 0; i < n; i++) users.push(await server.user(`${name}-u${String(i)}`));
  const api = client(server.url, admin.token);
  const created = await api.post('/v1/wallets', { name, threshold: m, keys: cosigners.map((c) => c.key), network: 'test' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const wallet = created.body as { id: string; descriptor: string; cosigners: { id: string; position: number; fingerprint: string }[] };
  // Each user signs for the cosigner whose keystore they hold (matched by fingerprint from the API).
  for (let i = 0; i < n; i++) {
    const position = wallet.cosigners.find((c) => c.fingerprint === cosigners[i]!.unlocked.fingerprint)!.position;
    const g = await api.post(`/v1/wallets/${wallet.id}/roles`, { user: users[i]!.id, role: 'signer', cosigner: position });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
  }
  return { admin, api, wallet, cosigners, users };
}

/** Defines the suite for one store. */
export function defineFlowSuite(kind: StoreKind): void {
  describe(`coordinator flows over HTTP (${kind})`, () => {
    let server: TestServer;
    const gateway = new BitcoreGateway();
    beforeAll(async () => {
      server = await startTestServer({ kind, gateway });
    });
    afterAll(async () => {
      await server.close();
    });

    it.each([
      [2, 3],
      [3, 5],
    ])('%i-of-%i: propose, each cosigner signs with its keystore, finalize, broadcast, confirm; bitcore accepts; audit verifies', async (m, n) => {
      const name = `w${String(m)}of${String(n)}-${kind}`;
      const { admin, api, wallet, cosigners, users } = await setupWallet(server, m, n, name);
      const spend = buildSpend(wallet.descriptor, 'test', { inputs: 2, to: PAY_TO });
      gateway.expect(spend.fundingTxid, spend.prevouts);

      const created = await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt, memo: 'rent' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const proposal = created.body;
      expect(proposal).toMatchObject({ state: 'collecting', threshold: m, inputCount: 2, signatureCount: 0, memo: 'rent' });
      expect(proposal.review.outputs.map((o: { kind: string }) => o.kind)).toEqual(['external', 'change']);
      expect(proposal.review.outputs[1].change).toBe(true);
      expect(Number(proposal.review.fee)).toBeGreaterThan(0);
      expect(proposal.missing).toHaveLength(n);
      expect(created.headers.get('etag')).toBe(`"${String(proposal.version)}"`);

      // The last M cosigners sign, each with their own token and keystore, from the server's PSBT.
      const signers = Array.from({ length: m }, (_, k) => n - m + k);
      let last: any;
      for (const [k, i] of signers.entries()) {
        const me = client(server.url, users[i]!.token);
        const psbt = await me.get(`/v1/proposals/${String(proposal.id)}/psbt`);
        expect(psbt.status).toBe(200);
        const signed = await cosigners[i]!.sign(psbt.body.psbt, wallet.descriptor, 'test');
        const r = await me.post(`/v1/proposals/${String(proposal.id)}/signatures`, { psbt: signed });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.added).toBe(2);
        expect(r.body.proposal.state).toBe(k === m - 1 ? 'ready' : 'collecting');
        // The same submission again is a no-op: nothing added, version unchanged.
        const again = await me.post(`/v1/proposals/${String(proposal.id)}/signatures`, { psbt: signed });
        expect(again.status).toBe(200);
        expect(again.body.added).toBe(0);
        expect(again.body.proposal.version).toBe(r.body.proposal.version);
        last = r.body.proposal;
      }
      expect(last.missing).toHaveLength(n - m);

      // Transitions need If-Match: missing is 428, stale is 412.
      const noMatch = await api.post(`/v1/proposals/${String(proposal.id)}/finalize`);
      expect(noMatch.status).toBe(428);
      expect(noMatch.body.error.code).toBe('precondition.required');
      const stale = await api.post(`/v1/proposals/${String(proposal.id)}/finalize`, {}, { 'if-match': '"0"' });
      expect(stale.status).toBe(412);

      const fin = await api.post(`/v1/proposals/${String(proposal.id)}/finalize`, {}, { 'if-match': `"${String(last.version)}"` });
      expect(fin.status, JSON.stringify(fin.body)).toBe(200);
      const verdicts = verifyWithBitcore(fin.body.hex, spend.prevouts);
      expect(verdicts.every((v) => v.ok), JSON.stringify(verdicts)).toBe(true);

      const sent = await api.post(`/v1/proposals/${String(proposal.id)}/broadcast`, {}, { 'if-match': fin.headers.get('etag')! });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body).toMatchObject({ state: 'broadcast', txid: fin.body.txid });
      expect(gateway.accepted.get(fin.body.txid)).toBe(fin.body.hex);

      gateway.confirmed.set(fin.body.txid, 1);
      await server.jobs.runOnce();
      await refreshConfirmations(server.app.mofn.ctx, gateway);
      const done = await api.get(`/v1/proposals/${String(proposal.id)}`);
      expect(done.body.state).toBe('confirmed');

      const audit = await api.get(`/v1/wallets/${wallet.id}/audit?limit=1000`);
      expect(audit.status).toBe(200);
      const types = audit.body.items.map((e: { type: string }) => e.type);
      expect(types[0]).toBe('wallet.created');
      expect(types.filter((t: string) => t === 'signature.added')).toHaveLength(m);
      expect(audit.body.items.filter((e: { type: string; data: { to?: string } }) => e.type === 'proposal.transition').map((e: { data: { to?: string } }) => e.data.to)).toEqual([
        'ready',
        'broadcast',
        'confirmed',
      ]);
      const verified = await api.get(`/v1/wallets/${wallet.id}/audit/verify`);
      expect(verified.body).toMatchObject({ ok: true, length: audit.body.items.length });
      expect(admin.id).toBeTruthy();
    });

    it('refuses a PSBT that changes anything but signatures (409) and a tampered signature (422), changing nothing', async () => {
      const { api, wallet, cosigners, users } = await setupWallet(server, 2, 3, `tamper-${kind}`);
      const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO });
      const p = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt })).body;
      const me = client(server.url, users[0]!.token);
      const signed = await cosigners[0]!.sign(spend.psbt, wallet.descriptor, 'test');

      const changed = parsePsbt(signed);
      const out0 = changed.tx.outputs[0]!;
      const moved = { ...changed, tx: { ...changed.tx, outputs: [{ ...out0, amount: out0.amount - 1000n }, ...changed.tx.outputs.slice(1)] } };
      const r1 = await me.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: psbtToBase64(moved) });
      expect(r1.status).toBe(409);
      expect(r1.body.error.code).toBe('proposal.payload_mismatch');

      const bad = parsePsbt(signed);
      const sig = bad.inputs[0]!.partialSigs[0]!;
      const flipped = sig.signature.slice();
      flipped[10] = flipped[10]! ^ 1;
      const tampered = { ...bad, inputs: [{ ...bad.inputs[0]!, partialSigs: [{ ...sig, signature: flipped }] }] };
      const r2 = await me.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: psbtToBase64(tampered) });
      expect(r2.status).toBe(422);
      expect(r2.body.error.code).toBe('signature.invalid');

      // Another cosigner's signature submitted by this user is refused (403).
      const other = await cosigners[1]!.sign(spend.psbt, wallet.descriptor, 'test');
      const r3 = await me.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: other });
      expect(r3.status).toBe(403);
      expect(r3.body.error.code).toBe('signature.not_your_key');

      const after = await api.get(`/v1/proposals/${String(p.id)}`);
      expect(after.body).toMatchObject({ state: 'collecting', version: p.version, signatureCount: 0 });
    });

    it('declines reject a proposal once M is unreachable; cancel is for the proposer or an admin', async () => {
      const { api, wallet, users } = await setupWallet(server, 2, 3, `decline-${kind}`);
      const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO });
      const p = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt })).body;
      const d1 = await client(server.url, users[0]!.token).post(`/v1/proposals/${String(p.id)}/decline`, { reason: 'too much' });
      expect(d1.status).toBe(200);
      expect(d1.body.state).toBe('collecting');
      const d2 = await client(server.url, users[1]!.token).post(`/v1/proposals/${String(p.id)}/decline`, {});
      expect(d2.body.state).toBe('rejected');

      const q = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO }).psbt })).body;
      const byStranger = await client(server.url, users[2]!.token).post(`/v1/proposals/${String(q.id)}/cancel`, {}, { 'if-match': `"${String(q.version)}"` });
      expect(byStranger.status).toBe(403);
      const byAdmin = await api.post(`/v1/proposals/${String(q.id)}/cancel`, {}, { 'if-match': `"${String(q.version)}"` });
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body.state).toBe('cancelled');
    });

    it('broadcasts through a real Esplora client to a loopback node (which checks every input with bitcore), then confirms from its block', async () => {
      const model = new ChainModel();
      const esplora = await startEsploraServer(model);
      const chained = await startTestServer({ kind, gateway: createBackendGateway({ 'bitcoin:test': createEsploraBackend({ network: 'test', url: esplora.url }) }), shareWith: server });
      try {
        const { api, wallet, cosigners, users } = await setupWallet(chained, 2, 3, `esplora-${kind}`);
        const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO });
        model.fund(spend.fundingRaw);
        model.mine();
        let p = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt })).body;
        for (const i of [0, 1]) {
          const me = client(chained.url, users[i]!.token);
          const psbt = (await me.get(`/v1/proposals/${String(p.id)}/psbt`)).body.psbt as string;
          p = (await me.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: await cosigners[i]!.sign(psbt, wallet.descriptor, 'test') })).body.proposal;
        }
        expect(p.state).toBe('ready');
        const sent = await api.post(`/v1/proposals/${String(p.id)}/broadcast`, {}, { 'if-match': `"${String(p.version)}"` });
        expect(sent.status, JSON.stringify(sent.body)).toBe(200);
        expect(model.state(sent.body.txid)).toEqual({ state: 'mempool' });
        // A second broadcast of the same transaction (a retry after a lost answer) is success, not a rejection.
        const tx = chained.app.mofn.ctx;
        const row = await tx.db.selectFrom('proposals').select('final_tx').where('id', '=', String(p.id)).executeTakeFirstOrThrow();
        expect(await chained.app.mofn.gateway!.broadcast('bitcoin:test', row.final_tx!)).toEqual({ txid: sent.body.txid });
        const gw = chained.app.mofn.gateway!;
        expect(await refreshConfirmations(chained.app.mofn.ctx, gw)).toBe(0);
        model.mine();
        expect(await refreshConfirmations(chained.app.mofn.ctx, gw)).toBe(1);
        expect((await api.get(`/v1/proposals/${String(p.id)}`)).body).toMatchObject({ state: 'confirmed', confirmations: 1 });
        expect(await expireDueProposals(chained.app.mofn.ctx)).toBe(0);
      } finally {
        await chained.close();
        await esplora.close();
      }
    });

    it('RBF: a broadcast proposal is replaced at a higher fee by a new proposal signed again; once it is broadcast the original is superseded', async () => {
      const { api, wallet, cosigners, users } = await setupWallet(server, 2, 3, `rbf-${kind}`);
      const spend = buildSpend(wallet.descriptor, 'test', { inputs: 2, to: PAY_TO });
      gateway.expect(spend.fundingTxid, spend.prevouts);
      const signAll = async (id: string, who: readonly number[]) => {
        let view: any;
        for (const i of who) {
          const me = client(server.url, users[i]!.token);
          const psbt = (await me.get(`/v1/proposals/${id}/psbt`)).body.psbt as string;
          view = (await me.post(`/v1/proposals/${id}/signatures`, { psbt: await cosigners[i]!.sign(psbt, wallet.descriptor, 'test') })).body.proposal;
        }
        return view;
      };
      const original = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt })).body;
      const ready = await signAll(String(original.id), [0, 1]);
      const sent = await api.post(`/v1/proposals/${String(original.id)}/broadcast`, {}, { 'if-match': `"${String(ready.version)}"` });
      expect(sent.body.state).toBe('broadcast');

      const tooLow = await api.post(`/v1/proposals/${String(original.id)}/replace`, { feeRate: 1 });
      expect(tooLow.status).toBe(422);
      const replaced = await api.post(`/v1/proposals/${String(original.id)}/replace`, { feeRate: 12 });
      expect(replaced.status, JSON.stringify(replaced.body)).toBe(201);
      const bump = replaced.body;
      expect(bump).toMatchObject({ state: 'collecting', signatureCount: 0 });
      expect(BigInt(bump.review.fee)).toBeGreaterThan(BigInt(original.review.fee));
      expect(bump.review.inputs.map((i: { txid: string; vout: number }) => `${i.txid}:${String(i.vout)}`).sort()).toEqual(
        original.review.inputs.map((i: { txid: string; vout: number }) => `${i.txid}:${String(i.vout)}`).sort(),
      );
      expect(bump.review.outputs.find((o: { kind: string }) => o.kind === 'external')).toMatchObject({ address: PAY_TO, amount: '50000' });

      const bumpReady = await signAll(String(bump.id), [1, 2]);
      expect(bumpReady.state).toBe('ready');
      const bumpSent = await api.post(`/v1/proposals/${String(bump.id)}/broadcast`, {}, { 'if-match': `"${String(bumpReady.version)}"` });
      expect(bumpSent.status, JSON.stringify(bumpSent.body)).toBe(200);
      expect(gateway.accepted.has(bumpSent.body.txid)).toBe(true);
      expect((await api.get(`/v1/proposals/${String(original.id)}`)).body.state).toBe('superseded');
      expect((await api.get(`/v1/wallets/${wallet.id}/audit/verify`)).body.ok).toBe(true);
    });

    it('a proposal whose input another transaction spent (seen through the backend) becomes superseded; its own transaction broadcast elsewhere does not count', async () => {
      const model = new ChainModel();
      const esplora = await startEsploraServer(model);
      const chained = await startTestServer({ kind, gateway: createBackendGateway({ 'bitcoin:test': createEsploraBackend({ network: 'test', url: esplora.url }) }), shareWith: server });
      try {
        const { api, wallet, cosigners } = await setupWallet(chained, 2, 3, `conflict-${kind}`);
        const gw = chained.app.mofn.gateway!;
        const signTwice = async (psbt: string) => cosigners[1]!.sign(await cosigners[0]!.sign(psbt, wallet.descriptor, 'test'), wallet.descriptor, 'test');

        // Proposal A's own transaction, finalized and broadcast outside mofn: not a conflict.
        const a = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO });
        model.fund(a.fundingRaw);
        const pa = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: a.psbt })).body;
        expect(model.submit(extractTransaction(finalizePsbt(parsePsbt(await signTwice(a.psbt)))).bytes).allowed).toBe(true);

        // Proposal B's coin spent by a different transaction (another amount): B is superseded.
        const b = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO, firstIndex: 5 });
        model.fund(b.fundingRaw);
        model.mine();
        const pb = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: b.psbt })).body;
        const other = parsePsbt(b.psbt);
        const moved = { ...other, tx: { ...other.tx, outputs: other.tx.outputs.map((o, i) => (i === 0 ? { ...o, amount: o.amount - 1000n } : o)) } };
        const conflicting = extractTransaction(finalizePsbt(parsePsbt(await signTwice(psbtToBase64(moved)))));
        expect(model.submit(conflicting.bytes).allowed).toBe(true);

        expect(await supersedeConflicted(chained.app.mofn.ctx, gw)).toBe(1);
        expect((await api.get(`/v1/proposals/${String(pb.id)}`)).body.state).toBe('superseded');
        expect((await api.get(`/v1/proposals/${String(pa.id)}`)).body.state).toBe('collecting');
        const audit = (await api.get(`/v1/wallets/${wallet.id}/audit?limit=1000`)).body.items as { type: string; data: { to?: string; spentBy?: string } }[];
        expect(audit.find((e) => e.data.to === 'superseded')?.data.spentBy).toBe(conflicting.txid);
        expect(await supersedeConflicted(chained.app.mofn.ctx, gw)).toBe(0);
      } finally {
        await chained.close();
        await esplora.close();
      }
    });

    it("broadcasts through the wallet's own configured backend (mofn backend set --wallet), opened on first use", async () => {
      const model = new ChainModel();
      const esplora = await startEsploraServer(model);
      const ctx = server.app.mofn.ctx;
      const gateway = createWalletBackendGateway(ctx, { env: {} });
      const chained = await startTestServer({ kind, gateway, shareWith: server });
      try {
        const { api, wallet, cosigners, users } = await setupWallet(chained, 2, 3, `own-backend-${kind}`);
        // Without a setting the regtest-less default is the public Esplora of the network: configure this wallet's own.
        await setBackend(ctx, { wallet: wallet.id, kind: 'esplora', url: esplora.url });
        const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: PAY_TO });
        model.fund(spend.fundingRaw);
        let p = (await api.post(`/v1/wallets/${wallet.id}/proposals`, { psbt: spend.psbt })).body;
        for (const i of [0, 2]) {
          const me = client(chained.url, users[i]!.token);
          const psbt = (await me.get(`/v1/proposals/${String(p.id)}/psbt`)).body.psbt as string;
          p = (await me.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: await cosigners[i]!.sign(psbt, wallet.descriptor, 'test') })).body.proposal;
        }
        const sent = await api.post(`/v1/proposals/${String(p.id)}/broadcast`, {}, { 'if-match': `"${String(p.version)}"` });
        expect(sent.status, JSON.stringify(sent.body)).toBe(200);
        expect(model.state(sent.body.txid)).toEqual({ state: 'mempool' });
        expect(esplora.stats.messages).toBeGreaterThan(0);
      } finally {
        await chained.close();
        await gateway.close?.();
        await esplora.close();
      }
    });
  });
}
