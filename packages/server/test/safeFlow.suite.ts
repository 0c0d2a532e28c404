/**
 * Safes through the coordinator over real HTTP, on anvil with the real Safe v1.4.1 contracts, against
 * SQLite (safeFlow.test.ts) and PostgreSQL (safeFlow.pg.test.ts): register a 3-of-5 Safe, grant
 * roles, propose, three users sign through the API (EIP-712 typed data signed by viem itself, and the
 * eth_sign form), execute from an account that is no owner, report it, reach `confirmed`; the other
 * proposal at that nonce becomes `superseded`; an execution made outside the server is picked up by
 * the job; an owner swap takes effect; hostile submissions are refused by code with nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTypedData, parseEther, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { SAFE_V141_CANONICAL, approveSafeTxHash, createNestedSafeSignature, createSafe, encodeApprovedHashSignature, readSafe, signSafeTxForOwnerSafe, signSafeTxEthSign, signSafeTxEip712, createSafeTx, SAFE_TX_TYPES, type SafeTx } from '@mofn/ethereum';
import { applyEvmRpcUrls, followCoordinatedSafes, safeTxFromFields } from '@mofn/service';
import { client, startTestServer, type StoreKind, type TestServer } from '../../../test/support/server.ts';
import { expectStoreUnchanged } from '../../../test/support/serverFixtures.ts';
import { freshAddress, rawOwners, send, startTestChain, type RawOwner, type TestChain } from '../../service/test/safe/support.ts';

type Api = ReturnType<typeof client>;

/** The SafeTx a proposal view carries (decimal strings). */
const txOf = (view: { tx: Record<string, string | number> }): SafeTx => safeTxFromFields(view.tx);

/** Signs the typed data the server exports, as a wallet would: viem's own EIP-712, no mofn code. */
async function signExportedTypedData(owner: RawOwner, exported: { typedData: { domain: { chainId: number; verifyingContract: Address }; message: Record<string, string | number> } }): Promise<Hex> {
  const m = exported.typedData.message;
  const uint = (k: string) => BigInt(m[k]!);
  return privateKeyToAccount(owner.key).signTypedData({
    domain: exported.typedData.domain,
    types: SAFE_TX_TYPES,
    primaryType: 'SafeTx',
    message: {
      to: m['to'] as Address,
      value: uint('value'),
      data: m['data'] as Hex,
      operation: Number(m['operation']),
      safeTxGas: uint('safeTxGas'),
      baseGas: uint('baseGas'),
      gasPrice: uint('gasPrice'),
      gasToken: m['gasToken'] as Address,
      refundReceiver: m['refundReceiver'] as Address,
      nonce: uint('nonce'),
    },
  });
}

export function defineSafeFlowSuite(kind: StoreKind): void {
  describe(`Safe proposals through the coordinator (${kind})`, () => {
    let tc: TestChain;
    let server: TestServer;
    let owners: RawOwner[];
    let safeAddress: Address;
    let as: Record<'admin' | 'proposer' | 'viewer' | 'stranger' | 's0' | 's1' | 's2' | 's3' | 's4', Api>;
    let safeId: string;
    const NAME = `treasury-${kind}`;

    beforeAll(async () => {
      tc = await startTestChain();
      server = await startTestServer({ kind, evmRpc: { [tc.chain.chainId]: tc.chain.rpcUrl } });
      await server.jobs.stop();
      owners = rawOwners(5, `server-${kind}`);
      const created = await createSafe(tc.clients, { config: { owners: owners.map((o) => o.address), threshold: 3, saltNonce: 7n }, singletons: SAFE_V141_CANONICAL, account: tc.funder });
      safeAddress = created.address;
      await send(tc, safeAddress, parseEther('10'));
      const names = ['admin', 'proposer', 'viewer', 'stranger', 's0', 's1', 's2', 's3', 's4'] as const;
      const entries = [];
      for (const n of names) entries.push([n, client(server.url, (await server.user(`${n}-${kind}`)).token)] as const);
      as = Object.fromEntries(entries) as typeof as;
    }, 120_000);

    afterAll(async () => {
      await server?.close();
      await tc?.chain.stop();
    });

    it('registers the Safe from the chain and binds signer roles to owners', async () => {
      const r = await as.admin.post('/v1/safes', { name: NAME, chainId: tc.chain.chainId, address: safeAddress.toLowerCase() });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ name: NAME, chainId: 31337, address: safeAddress, threshold: 3, version: '1.4.1', myRoles: [{ role: 'admin', owner: null }] });
      expect(r.body.owners).toEqual(owners.map((o) => o.address));
      safeId = r.body.id as string;
      const grant = async (user: string, role: string, cosigner?: number | string) => {
        const me = await as[user as keyof typeof as].get('/v1/users/me');
        const g = await as.admin.post(`/v1/wallets/${safeId}/roles`, { user: me.body.id, role, ...(cosigner === undefined ? {} : { cosigner }) });
        expect(g.status, JSON.stringify(g.body)).toBe(201);
      };
      await grant('proposer', 'proposer');
      await grant('viewer', 'viewer');
      for (let i = 0; i < 5; i++) await grant(`s${i}`, 'signer', i === 4 ? owners[4]!.address : i);
      // The same Safe again, or its name for another: refused.
      expect((await as.proposer.post('/v1/safes', { name: `${NAME}-2`, chainId: 31337, address: safeAddress })).body.error.code).toBe('safe.exists');
      // A chain the server has no RPC for, and an address that is no Safe.
      const noChain = await as.proposer.post('/v1/safes', { name: 'elsewhere', chainId: 5, address: safeAddress });
      expect([noChain.status, noChain.body.error.code]).toEqual([422, 'safe.chain_not_served']);
      const notSafe = await as.proposer.post('/v1/safes', { name: 'eoa', chainId: 31337, address: tc.funder });
      expect([notSafe.status, notSafe.body.error.code]).toEqual([422, 'safe.not_deployed']);
      // Listing shows it to role holders only; a stranger's answer is the same as for a Safe that does not exist.
      expect((await as.viewer.get('/v1/safes')).body.items.map((s: { name: string }) => s.name)).toEqual([NAME]);
      expect((await as.stranger.get('/v1/safes')).body.items).toEqual([]);
      const hidden = await as.stranger.get(`/v1/safes/${NAME}`);
      const missing = await as.stranger.get('/v1/safes/no-such-safe');
      expect([hidden.status, hidden.body.error.code]).toEqual([missing.status, missing.body.error.code]);
      // Its id is not a Bitcoin wallet.
      expect((await as.admin.get(`/v1/wallets/${safeId}`)).status).toBe(404);
      // The view carries the Safe as it is on chain now: nonce, balance, and what could act without the owners.
      const shown = await as.viewer.get(`/v1/safes/${NAME}`);
      expect(shown.body.live).toEqual({
        nonce: '0',
        balance: parseEther('10').toString(),
        version: '1.4.1',
        singleton: { address: SAFE_V141_CANONICAL.safe, name: expect.any(String) as unknown },
        modules: [],
        guard: null,
        fallbackHandler: SAFE_V141_CANONICAL.fallbackHandler,
      });
    });

    it('propose, three users sign through the API, execute, confirmed; the sibling at the nonce is superseded', async () => {
      const recipient = freshAddress(`server-flow-${kind}`);
      const before = await tc.clients.public.getBalance({ address: recipient });
      const made = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'eth', to: recipient, value: parseEther('1.5').toString() });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const p = made.body;
      expect(p).toMatchObject({ state: 'collecting', nonce: '0', threshold: 3, validSignatures: 0, kind: 'eth' });
      // The server's hash is the EIP-712 hash of the SafeTx it shows, computed here by viem alone.
      const tx = txOf(p);
      const independent = hashTypedData({ domain: { chainId: 31337, verifyingContract: safeAddress }, types: SAFE_TX_TYPES, primaryType: 'SafeTx', message: tx });
      expect(p.safeTxHash).toBe(independent);
      expect(p.summary).toContain(recipient);
      expect(p.dangers).toEqual(['safe.new_recipient']);
      // A rejection at the same nonce, proposed alongside.
      const rej = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'reject', nonce: '0' });
      expect(rej.status, JSON.stringify(rej.body)).toBe(201);

      const path = `/v1/safes/${NAME}/proposals/${String(p.id)}`;
      // Owner 0 signs the exported typed data (as a hardware wallet would).
      const td = await as.s0.get(`${path}/typed-data`);
      expect(td.status).toBe(200);
      expect(td.body.safeTxHash).toBe(independent);
      const sig0 = await signExportedTypedData(owners[0]!, td.body);
      const r0 = await as.s0.post(`${path}/signatures`, { signer: owners[0]!.address, data: sig0 });
      expect(r0.status, JSON.stringify(r0.body)).toBe(200);
      expect(r0.body.added).toMatchObject({ owner: owners[0]!.address, kind: 'eip712', count: 1, threshold: 3 });
      // Signer 1 may not hand in owner 2's signature, and a signature is stored once.
      const sig2 = await owners[2]!.signSafeTx({ chainId: 31337, safeAddress }, tx);
      const foreign = await expectStoreUnchanged(server.store, () => as.s1.post(`${path}/signatures`, { signer: sig2.signer, data: sig2.data }), [], 'foreign signature');
      expect([foreign.status, foreign.body.error.code]).toEqual([403, 'signature.not_your_key']);
      const again = await expectStoreUnchanged(server.store, () => as.s0.post(`${path}/signatures`, { signer: owners[0]!.address, data: sig0 }), [], 'duplicate');
      expect([again.status, again.body.error.code]).toEqual([409, 'safe.duplicate_signer']);
      // Two signatures are not enough to execute: a clear error before anything is sent.
      const sig1 = await signSafeTxEthSign(owners[1]!.key, { chainId: 31337, safeAddress }, tx);
      const r1 = await as.s1.post(`${path}/signatures`, { signer: sig1.signer, data: sig1.data });
      expect(r1.body.added).toMatchObject({ kind: 'eth_sign', count: 2 });
      const early = await as.viewer.get(`${path}/execution`);
      expect([early.status, early.body.error.code]).toEqual([409, 'safe.not_enough_signatures']);
      const r2 = await as.s2.post(`${path}/signatures`, { signer: sig2.signer, data: sig2.data });
      expect(r2.status, JSON.stringify(r2.body)).toBe(200);
      expect(r2.body.proposal).toMatchObject({ state: 'ready', validSignatures: 3 });

      // Anyone may send it: here anvil's funder, who is no owner. The server gives the call; the sender checks nothing is off.
      const exec = await as.viewer.get(`${path}/execution`);
      expect(exec.status, JSON.stringify(exec.body)).toBe(200);
      expect(exec.body).toMatchObject({ to: safeAddress, safeTxHash: independent, nonce: '0' });
      const other = await tc.clients.wallet.sendTransaction({ account: tc.funder, chain: tc.clients.chain, to: recipient, value: 1n });
      await tc.clients.public.waitForTransactionReceipt({ hash: other });
      // A viewer may not report an execution; a transaction that is not this execution is refused.
      expect((await as.viewer.post(`${path}/execution`, { txHash: other })).status).toBe(403);
      const wrong = await expectStoreUnchanged(server.store, () => as.s3.post(`${path}/execution`, { txHash: other }), [], 'wrong execution');
      expect([wrong.status, wrong.body.error.code]).toEqual([422, 'safe.not_this_execution']);
      const hash = await tc.clients.wallet.sendTransaction({ account: tc.funder, chain: tc.clients.chain, to: exec.body.to as Address, data: exec.body.data as Hex });
      await tc.clients.public.waitForTransactionReceipt({ hash });
      const reported = await as.s3.post(`${path}/execution`, { txHash: hash });
      expect(reported.status, JSON.stringify(reported.body)).toBe(200);
      expect(reported.body).toMatchObject({ state: 'confirmed', execTxHash: hash });
      expect(BigInt(reported.body.gasUsed as string)).toBeGreaterThan(21_000n);
      expect((await tc.clients.public.getBalance({ address: recipient })) - before).toBe(parseEther('1.5') + 1n);
      expect((await as.viewer.get(`/v1/safes/${NAME}/proposals/${String(rej.body.id)}`)).body.state).toBe('superseded');
      expect((await as.viewer.get(`/v1/safes/${NAME}/proposals?state=confirmed`)).body.items.map((x: { id: number }) => x.id)).toEqual([p.id]);
      // A signature for an executed proposal is refused.
      const late = await signSafeTxEip712(owners[3]!.key, { chainId: 31337, safeAddress }, tx);
      const lateRes = await as.s3.post(`${path}/signatures`, { signer: late.signer, data: late.data });
      expect([lateRes.status, lateRes.body.error.code]).toEqual([409, 'safe.proposal_closed']);
    });

    it('refuses hostile signatures by code and stores nothing', async () => {
      const made = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'eth', to: freshAddress(`hostile-${kind}`), value: '1000' });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const path = `/v1/safes/${NAME}/proposals/${String(made.body.id)}`;
      const tx = txOf(made.body);
      const o = owners[0]!;
      const wrongChain = await signSafeTxEip712(o.key, { chainId: 1, safeAddress }, tx);
      const wrongSafe = await signSafeTxEip712(o.key, { chainId: 31337, safeAddress: freshAddress('other-safe') }, tx);
      const good = await signSafeTxEip712(o.key, { chainId: 31337, safeAddress }, tx);
      const cases: [string, Record<string, unknown>, number, string][] = [
        ['wrong chain id', { signer: o.address, data: wrongChain.data }, 422, 'safe.signer_mismatch'],
        ['declared wrong chain id', { signer: o.address, data: good.data, chainId: 1 }, 422, 'safe.wrong_chain_id'],
        ['wrong Safe', { signer: o.address, data: wrongSafe.data }, 422, 'safe.signer_mismatch'],
        ['declared wrong Safe', { signer: o.address, data: good.data, safeAddress: freshAddress('other-safe') }, 422, 'safe.wrong_safe'],
        ['malformed bytes', { signer: o.address, data: `${good.data.slice(0, 40)}zz` }, 422, 'safe.bad_signature'],
        ['truncated', { signer: o.address, data: good.data.slice(0, 100) }, 422, 'safe.bad_signature'],
        ['not an address', { signer: 'owner-zero', data: good.data }, 422, 'safe.bad_address'],
        ['unknown field', { signer: o.address, data: good.data, extra: 1 }, 400, 'request.invalid'],
      ];
      for (const [what, body, status, code] of cases) {
        const r = await expectStoreUnchanged(server.store, () => as.s0.post(`${path}/signatures`, body), [], what);
        expect([what, r.status, r.body.error?.code]).toEqual([what, status, code]);
      }
      // Bad proposals: a delegatecall is never proposed; missing fields are named.
      const missing = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'eth', to: freshAddress('x') });
      expect([missing.status, missing.body.error.code, missing.body.error.details]).toEqual([422, 'safe.missing_field', { field: 'value' }]);
      const used = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'reject', nonce: '0' });
      expect([used.status, used.body.error.code]).toEqual([409, 'safe.nonce_used']);
      // The proposer withdraws it; then nobody can sign it.
      const cancelled = await as.proposer.post(`${path}/cancel`, {});
      expect([cancelled.status, cancelled.body.state]).toEqual([200, 'cancelled']);
      const afterCancel = await as.s0.post(`${path}/signatures`, { signer: o.address, data: good.data });
      expect([afterCancel.status, afterCancel.body.error.code]).toEqual([409, 'safe.proposal_closed']);
    });

    it('an execution sent outside the server is picked up by the job; an owner swap takes effect', async () => {
      const newOwner = privateKeyToAccount(`0x${'5a'.repeat(32)}`);
      const made = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'swap_owner', oldOwner: owners[4]!.address, newOwner: newOwner.address });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body.dangers).toContain('safe.owner_change');
      const path = `/v1/safes/${NAME}/proposals/${String(made.body.id)}`;
      const tx = txOf(made.body);
      const sigs = [];
      for (const i of [4, 2, 3]) {
        const s = await owners[i]!.signSafeTx({ chainId: 31337, safeAddress }, tx);
        const r = await as[`s${i}` as 's2'].post(`${path}/signatures`, { signer: s.signer, data: s.data });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        sigs.push(s);
      }
      const exec = await as.viewer.get(`${path}/execution`);
      const hash = await tc.clients.wallet.sendTransaction({ account: tc.funder, chain: tc.clients.chain, to: exec.body.to as Address, data: exec.body.data as Hex });
      await tc.clients.public.waitForTransactionReceipt({ hash });
      expect((await as.viewer.get(path)).body.state).toBe('ready');
      // What the chain job runs on every instance (the test server's jobs are stopped so snapshots stay still).
      expect(await followCoordinatedSafes(server.app.mofn.ctx)).toBe(1);
      expect((await as.viewer.get(path)).body.state).toBe('confirmed');
      const onChain = await readSafe(tc.clients, safeAddress);
      expect(onChain.owners).toContain(newOwner.address);
      expect(onChain.owners).not.toContain(owners[4]!.address);
      expect((await as.viewer.get(`/v1/safes/${NAME}`)).body.owners).toEqual(onChain.owners);
      // The removed owner's signer role signs nothing any more.
      const next = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'eth', to: freshAddress(`after-swap-${kind}`), value: '5' });
      const removed = await owners[4]!.signSafeTx({ chainId: 31337, safeAddress }, txOf(next.body));
      const r = await expectStoreUnchanged(server.store, () => as.s4.post(`/v1/safes/${NAME}/proposals/${String(next.body.id)}/signatures`, { signer: removed.signer, data: removed.data }), [], 'removed owner');
      expect([r.status, r.body.error.code]).toEqual([422, 'safe.wrong_owner']);
    });

    it('three owners signing at the same instant all land, and the proposal turns ready exactly once', async () => {
      const made = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'eth', to: freshAddress(`concurrent-${kind}`), value: '77' });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const path = `/v1/safes/${NAME}/proposals/${String(made.body.id)}`;
      const tx = txOf(made.body);
      const results = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const s = await owners[i]!.signSafeTx({ chainId: 31337, safeAddress }, tx);
          return as[`s${i}` as 's0'].post(`${path}/signatures`, { signer: s.signer, data: s.data });
        }),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect((await as.viewer.get(path)).body).toMatchObject({ state: 'ready', validSignatures: 3 });
      const log = await as.viewer.get(`/v1/wallets/${safeId}/audit?limit=1000`);
      const mine = (log.body.items as { type: string; data: { proposal?: number } }[]).filter((e) => e.data.proposal === made.body.id);
      expect(mine.filter((e) => e.type === 'safe.signature_added')).toHaveLength(3);
      expect(mine.filter((e) => e.type === 'safe.proposal_ready')).toHaveLength(1);
    });

    it('takes an approved-hash signature and an EIP-1271 signature of an owner Safe, each checked on chain, and executes with them', async () => {
      // Child Safe 3-of-3: an owner Safe (1-of-1 of a key), an owner who approves on chain, an owner who signs.
      const inner = rawOwners(3, `nested-${kind}`);
      const parent = await createSafe(tc.clients, { config: { owners: [inner[0]!.address], threshold: 1, saltNonce: 11n }, singletons: SAFE_V141_CANONICAL, account: tc.funder });
      const child = await createSafe(tc.clients, { config: { owners: [parent.address, inner[1]!.address, inner[2]!.address], threshold: 3, saltNonce: 12n }, singletons: SAFE_V141_CANONICAL, account: tc.funder });
      await send(tc, child.address, parseEther('1'));
      const name = `nested-${kind}`;
      const reg = await as.admin.post('/v1/safes', { name, chainId: 31337, address: child.address });
      expect(reg.status, JSON.stringify(reg.body)).toBe(201);
      const grant = async (user: 's0' | 's1' | 's2', cosigner: string) => {
        const me = await as[user].get('/v1/users/me');
        expect((await as.admin.post(`/v1/wallets/${String(reg.body.id)}/roles`, { user: me.body.id, role: 'signer', cosigner })).status).toBe(201);
      };
      await grant('s0', parent.address);
      await grant('s1', inner[1]!.address);
      await grant('s2', inner[2]!.address);
      const made = await as.admin.post(`/v1/safes/${name}/proposals`, { kind: 'eth', to: freshAddress(`nested-to-${kind}`), value: parseEther('0.25').toString() });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const path = `/v1/safes/${name}/proposals/${String(made.body.id)}`;
      const tx = txOf(made.body);
      const childDomain = { chainId: 31337, safeAddress: child.address };
      // The approved hash counts only once the owner approved it on chain.
      const approved = { signer: inner[1]!.address, data: encodeApprovedHashSignature(inner[1]!.address) };
      const early = await expectStoreUnchanged(server.store, () => as.s1.post(`${path}/signatures`, approved), [], 'not yet approved');
      expect([early.status, early.body.error.code]).toEqual([422, 'safe.hash_not_approved']);
      await send(tc, inner[1]!.address, parseEther('0.1'));
      await approveSafeTxHash(tc.clients, { safeAddress: child.address, safeTxHash: made.body.safeTxHash as Hex, account: privateKeyToAccount(inner[1]!.key) });
      expect((await as.s1.post(`${path}/signatures`, approved)).body.added).toMatchObject({ kind: 'approved_hash', count: 1 });
      // The owner Safe's contract signature: its owner signs the SafeTx as a Safe message of the owner Safe.
      const forParent = await signSafeTxForOwnerSafe(inner[0]!.key, parent.address, childDomain, tx);
      const contractSig = createNestedSafeSignature({ ownerSafe: { address: parent.address, owners: [inner[0]!.address], threshold: 1 }, childDomain, tx, signatures: [forParent] });
      // A contract signature the owner Safe does not validate (signed for another transaction) is refused on chain.
      const otherTx = createSafeTx({ ...tx, value: tx.value + 1n });
      const wrongInner = await signSafeTxForOwnerSafe(inner[0]!.key, parent.address, childDomain, otherTx);
      const wrong = createNestedSafeSignature({ ownerSafe: { address: parent.address, owners: [inner[0]!.address], threshold: 1 }, childDomain, tx: otherTx, signatures: [wrongInner] });
      const refused = await expectStoreUnchanged(server.store, () => as.s0.post(`${path}/signatures`, { signer: wrong.signer, data: wrong.data }), [], 'bad 1271');
      expect([refused.status, refused.body.error.code]).toEqual([422, 'safe.bad_contract_signature']);
      expect((await as.s0.post(`${path}/signatures`, { signer: contractSig.signer, data: contractSig.data })).body.added).toMatchObject({ kind: 'contract', count: 2 });
      const last = await inner[2]!.signSafeTx(childDomain, tx);
      expect((await as.s2.post(`${path}/signatures`, { signer: last.signer, data: last.data })).body.proposal).toMatchObject({ state: 'ready' });
      const exec = await as.s2.get(`${path}/execution`);
      expect(exec.status, JSON.stringify(exec.body)).toBe(200);
      const hash = await tc.clients.wallet.sendTransaction({ account: tc.funder, chain: tc.clients.chain, to: exec.body.to as Address, data: exec.body.data as Hex });
      await tc.clients.public.waitForTransactionReceipt({ hash });
      const done = await as.s2.post(`${path}/execution`, { txHash: hash });
      expect(done.body).toMatchObject({ state: 'confirmed' });
      expect(await tc.clients.public.getBalance({ address: freshAddress(`nested-to-${kind}`) })).toBe(parseEther('0.25'));
    });

    it('audits every change in one verifiable chain and reports it to webhooks', async () => {
      const log = await as.viewer.get(`/v1/wallets/${safeId}/audit?limit=1000`);
      expect(log.status).toBe(200);
      const types = (log.body.items as { type: string }[]).map((e) => e.type);
      for (const t of ['safe.registered', 'role.granted', 'safe.proposal_created', 'safe.signature_added', 'safe.proposal_ready', 'safe.proposal_broadcast', 'safe.proposal_executed', 'safe.proposal_superseded', 'safe.proposal_cancelled']) {
        expect(types, t).toContain(t);
      }
      expect((await as.viewer.get(`/v1/wallets/${safeId}/audit/verify`)).body).toMatchObject({ ok: true });
      const hook = await as.admin.post(`/v1/wallets/${safeId}/webhooks`, { url: 'https://hooks.example/safe', events: ['proposal.created'] });
      expect(hook.status, JSON.stringify(hook.body)).toBe(201);
      const made = await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'reject', nonce: '2' });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const deliveries = await as.admin.get(`/v1/wallets/${safeId}/webhooks/${String(hook.body.id)}/deliveries`);
      expect(deliveries.body.items.map((d: { type: string }) => d.type)).toEqual(['proposal.created']);
    });

    it('follows the operator to another node for a chain, and answers 502 while that node is down', async () => {
      const ctx = server.app.mofn.ctx;
      expect(await applyEvmRpcUrls(ctx, { [tc.chain.chainId]: tc.chain.rpcUrl })).toBe(0);
      expect(await applyEvmRpcUrls(ctx, { [tc.chain.chainId]: 'http://127.0.0.1:9' })).toBe(2);
      const down = await expectStoreUnchanged(server.store, () => as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'reject', nonce: '9' }), [], 'node down');
      expect([down.status, down.body.error.code]).toEqual([502, 'chain.rpc_failed']);
      // Reading the Safe still answers, from the store, and says why the live state is missing.
      const stale = await as.viewer.get(`/v1/safes/${NAME}`);
      expect([stale.status, stale.body.live, stale.body.liveError?.code, stale.body.name]).toEqual([200, null, 'chain.rpc_failed', NAME]);
      expect(await applyEvmRpcUrls(ctx, { [tc.chain.chainId]: tc.chain.rpcUrl })).toBe(2);
      expect((await as.proposer.post(`/v1/safes/${NAME}/proposals`, { kind: 'reject', nonce: '9' })).status).toBe(201);
    });
  });
}
