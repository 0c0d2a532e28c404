/**
 * The chain use cases against loopback backends that speak the real protocols over a chain model
 * of real transactions: backend settings, sync into the store (the same result through Esplora,
 * Electrum and Bitcoin Core), balance/UTXOs/history, spending the synced coins with coin control,
 * previous transactions re-checked (a lying backend and a tampered store are caught), broadcast
 * with test-accept, confirmations followed, and labels freezing a coin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMofnError } from '@mofn/core';
import { hdNodeFromSeed, psbtToBase64, type Branch } from '@mofn/bitcoin';
import type { ChainBackend } from '@mofn/bitcoin/backend';
import { combineSpends, createContext, createWallet, finalizeSpend, loadWallet, openStore, signSpend, type LoadedWallet, type ServiceContext, type Store } from '../../src/index.ts';
import {
  broadcastTransaction,
  bumpChainTransaction,
  createChainSpend,
  getStoredBalance,
  importLabels,
  listBackends,
  listStoredHistory,
  listStoredUtxos,
  openWalletBackend,
  parseOutpoint,
  readSignedTransaction,
  resolveBackendSetting,
  setBackend,
  syncWalletChain,
  unsetBackend,
  waitForConfirmations,
} from '../../src/chain/index.ts';
import { verifyWithBitcore } from '../../../../test/support/bitcore.ts';
import { ChainModel } from '../../../../test/support/chain/model.ts';
import { startEsploraServer, type EsploraServer } from '../../../../test/support/chain/esploraServer.ts';
import { startElectrumServer, type ElectrumServer } from '../../../../test/support/chain/electrumServer.ts';
import { startCoreServer, type CoreServer } from '../../../../test/support/chain/coreServer.ts';
import { testCosigner } from '../../../../test/support/cosigners.ts';
import { fundingTransaction } from '../../../../test/support/funding.ts';

const PAY = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
const RPC = { user: 'mofn', password: 'rpc secret 42' };
const FAST = { timeoutMs: 2_000, retries: 1, backoffMs: 10, coreRange: 30 };
const cos = ['a', 'b', 'c'].map((l) => testCosigner(`chain-${l}`));

async function codeOfAsync(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (isMofnError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

let store: Store;
let ctx: ServiceContext;
let wallet: LoadedWallet;
let model: ChainModel;
let esplora: EsploraServer;
let electrum: ElectrumServer;
let core: CoreServer;
const env = { MOFN_RPC_PASSWORD: RPC.password };

const addr = (branch: Branch, index: number): string => wallet.deriver.derive(branch, index).address;
const fund = (outs: readonly [Branch, number, bigint][]) => model.fund(fundingTransaction(outs.map(([b, i, amount]) => ({ address: addr(b, i), amount, network: 'test' as const }))).raw);

async function withWalletBackend<T>(fn: (backend: ChainBackend) => Promise<T>): Promise<T> {
  const { backend } = await openWalletBackend(ctx, 'w', { ...FAST, env });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

beforeAll(async () => {
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store);
  await createWallet(ctx, { name: 'w', threshold: 2, keys: cos.map((c) => c.key), network: 'test' });
  await createWallet(ctx, { name: 'other', threshold: 1, keys: [cos[0]!.key, cos[1]!.key], network: 'test' });
  wallet = await loadWallet(ctx, 'w');
  model = new ChainModel();
  fund([
    [0, 0, 100_000n],
    [0, 1, 50_000n],
    [1, 0, 30_000n],
  ]);
  model.mine();
  fund([[0, 1, 20_000n]]); // /0/1 paid twice: address reuse
  model.mine();
  model.mineEmpty(2);
  fund([[0, 3, 10_000n]]); // in the mempool
  esplora = await startEsploraServer(model);
  electrum = await startElectrumServer(model);
  core = await startCoreServer(model, RPC);
});

afterAll(async () => {
  await esplora.close();
  await electrum.close();
  await core.close();
  await store.close();
});

describe('backend settings', () => {
  it('validates, stores no password, and resolves wallet > network > global > environment > default', async () => {
    expect(await codeOfAsync(setBackend(ctx, { kind: 'esplora', url: 'https://user:pw@example.com/api' }))).toBe('backend.credentials_in_url');
    expect(await codeOfAsync(setBackend(ctx, { kind: 'core', url: 'http://127.0.0.1:8332' }))).toBe('backend.bad_auth');
    expect(await codeOfAsync(setBackend(ctx, { kind: 'core', url: 'http://127.0.0.1:8332', cookieFile: '/c', rpcUser: 'u' }))).toBe('backend.bad_auth');
    expect(await codeOfAsync(setBackend(ctx, { kind: 'electrum', url: 'http://x' }))).toBe('backend.bad_url');
    expect(await codeOfAsync(setBackend(ctx, { kind: 'esplora', url: 'https://x/api', rpcUser: 'u' }))).toBe('backend.bad_auth');
    expect(await listBackends(ctx)).toEqual([]);

    expect(await resolveBackendSetting(ctx, wallet, {})).toMatchObject({ scope: 'default', kind: 'esplora' });
    expect(await resolveBackendSetting(ctx, wallet, { MOFN_ELECTRUM_URL: electrum.url })).toMatchObject({ scope: 'env:MOFN_ELECTRUM_URL', kind: 'electrum' });
    expect(await codeOfAsync(resolveBackendSetting(ctx, wallet, { MOFN_ELECTRUM_URL: electrum.url, MOFN_ESPLORA_URL: esplora.url }))).toBe('backend.bad_config');
    await setBackend(ctx, { kind: 'esplora', url: esplora.url });
    expect(await resolveBackendSetting(ctx, wallet, {})).toMatchObject({ scope: 'global', kind: 'esplora', url: esplora.url });
    await setBackend(ctx, { kind: 'electrum', url: electrum.url, network: 'test' });
    expect(await resolveBackendSetting(ctx, wallet, {})).toMatchObject({ scope: 'network:test', kind: 'electrum' });
    await setBackend(ctx, { kind: 'core', url: core.url, rpcUser: RPC.user, wallet: 'w' });
    expect(await resolveBackendSetting(ctx, wallet, {})).toMatchObject({ scope: `wallet:${wallet.view.id}`, kind: 'core', rpcUser: 'mofn' });
    // The other wallet of the same network is not affected by w's own setting.
    expect(await resolveBackendSetting(ctx, await loadWallet(ctx, 'other'), {})).toMatchObject({ scope: 'network:test' });

    // The password is read from the environment when the backend opens; it is in no row.
    const rows = await ctx.db.selectFrom('chain_backends').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(RPC.password);
    const missing = await codeOfAsync(openWalletBackend(ctx, 'w', { env: {} }));
    expect(missing).toBe('backend.unauthorized');
    try {
      await openWalletBackend(ctx, 'w', { env: {} });
    } catch (err) {
      expect((err as Error).message).not.toContain(RPC.password);
    }
    await unsetBackend(ctx, { wallet: 'w' });
    expect(await codeOfAsync(unsetBackend(ctx, { wallet: 'w' }))).toBe('backend.not_set');
  });
});

describe('sync, balance, UTXOs, history', () => {
  it('refuses to answer before a sync', async () => {
    expect(await codeOfAsync(getStoredBalance(ctx, 'w'))).toBe('chain.not_synced');
  });

  it('finds the same coins through Esplora, Electrum and Bitcoin Core, and stores them', async () => {
    const results = [];
    for (const [kind, url] of [
      ['esplora', esplora.url],
      ['electrum', electrum.url],
      ['core', core.url],
    ] as const) {
      await setBackend(ctx, { wallet: 'w', kind, url, ...(kind === 'core' ? { rpcUser: RPC.user } : {}) });
      const summary = await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
      expect(summary.backend.startsWith(kind)).toBe(true);
      results.push({ summary: { ...summary, backend: '', stats: undefined }, utxos: await listStoredUtxos(ctx, 'w').then((r) => r.utxos), history: await listStoredHistory(ctx, 'w').then((r) => r.history) });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);

    const { summary, utxos, history } = results[0]!;
    expect(summary.balance).toEqual({ confirmed: 200_000n, unconfirmed: 10_000n });
    expect(summary.reusedAddresses).toEqual([addr(0, 1)]);
    expect(summary.nextReceiveIndex).toBe(4);
    expect(summary.nextChangeIndex).toBe(1);
    expect(utxos.map((u) => [u.amount, u.confirmations, `${u.branch}/${u.index}`, u.addressReused])).toEqual(
      expect.arrayContaining([
        [100_000n, 4, '0/0', false],
        [50_000n, 4, '0/1', true],
        [30_000n, 4, '1/0', false],
        [20_000n, 3, '0/1', true],
        [10_000n, 0, '0/3', false],
      ]),
    );
    expect(utxos).toHaveLength(5);
    expect(history.map((t) => [t.net, t.confirmations, t.addressReuse])).toEqual([
      [180_000n, 4, true],
      [20_000n, 3, true],
      [10_000n, 0, false],
    ]);
    // Funding transactions spend coins outside the wallet: their fee is unknown, not guessed.
    expect(history.every((t) => t.fee === undefined)).toBe(true);
    expect(await getStoredBalance(ctx, 'w')).toMatchObject({ confirmed: 200_000n, unconfirmed: 10_000n, total: 210_000n, utxos: 5, frozen: 0n });
  });
});

describe('spending the synced coins', () => {
  it('selects coins, fetches and checks their previous transactions, and the signed result broadcasts after test-accept and confirms', async () => {
    await setBackend(ctx, { wallet: 'w', kind: 'core', url: core.url, rpcUser: RPC.user });
    const spend = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 120_000n }], feeRate: 3 }));
    expect(spend.selected.reduce((s, u) => s + u.amount, 0n)).toBeGreaterThanOrEqual(120_000n + spend.fee);
    // Change goes past every used change index.
    expect(spend.change?.index).toBe(1);
    // Every input carries its full previous transaction.
    expect(spend.psbt.inputs.every((i) => i.nonWitnessUtxo !== undefined)).toBe(true);

    const text = psbtToBase64(spend.psbt);
    const copies = [];
    for (const c of [0, 2]) copies.push(psbtToBase64((await signSpend(ctx, text, hdNodeFromSeed(cos[c]!.seed))).psbt));
    const { tx, psbt } = await finalizeSpend(ctx, psbtToBase64(combineSpends(copies)));
    const prevouts = tx.transaction.inputs.map((i) => {
      const o = model.tx(i.txid)!.outputs[i.vout]!;
      return { scriptPubKey: o.script, amount: o.amount };
    });
    expect(verifyWithBitcore(tx.hex, prevouts).every((v) => v.ok)).toBe(true);

    const calls = core.calls.get('testmempoolaccept') ?? 0;
    const result = await withWalletBackend((b) => broadcastTransaction(b, readSignedTransaction(psbtToBase64(psbt))));
    expect(result).toEqual({ txid: tx.txid, testAccepted: true });
    expect(core.calls.get('testmempoolaccept')).toBeGreaterThan(calls);
    expect(model.state(tx.txid).state).toBe('mempool');

    // A second broadcast of a conflicting spend is refused at test-accept: nothing is sent.
    const sends = core.calls.get('sendrawtransaction') ?? 0;
    expect(await codeOfAsync(withWalletBackend((b) => broadcastTransaction(b, readSignedTransaction(tx.hex))))).toBe('backend.rejected');
    expect(core.calls.get('sendrawtransaction')).toBe(sends);

    // Followed until 2 confirmations (blocks mined while waiting).
    const miner = setInterval(() => model.mine(), 30);
    try {
      const seen: string[] = [];
      const status = await withWalletBackend((b) => waitForConfirmations(b, tx.txid, 2, { pollMs: 20, timeoutMs: 5_000, onStatus: (s) => seen.push(s.state) }));
      expect(status).toMatchObject({ state: 'confirmed' });
      expect(status.state === 'confirmed' && status.confirmations >= 2).toBe(true);
    } finally {
      clearInterval(miner);
    }

    // The next sync sees the spend: negative net, its fee, change as a new coin.
    await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
    const { history } = await listStoredHistory(ctx, 'w');
    const out = history.find((t) => t.txid === tx.txid)!;
    expect(out.fee).toBe(spend.fee);
    expect(out.net).toBe(-(120_000n + spend.fee));
    expect(out.confirmations).toBeGreaterThanOrEqual(2);
    const { utxos } = await listStoredUtxos(ctx, 'w');
    expect(utxos.some((u) => u.txid === tx.txid && u.branch === 1 && u.index === 1)).toBe(true);
  });

  it('coin control: --include spends exactly those coins, --exclude and frozen labels keep coins out', async () => {
    await setBackend(ctx, { wallet: 'w', kind: 'electrum', url: electrum.url });
    await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
    const { utxos } = await listStoredUtxos(ctx, 'w');
    const [a, b2] = [...utxos].sort((x, y) => (x.amount > y.amount ? -1 : 1));
    const include = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, include: [a!, b2!] }));
    expect(include.selected.map((u) => `${u.txid}:${u.vout}`).sort()).toEqual([`${a!.txid}:${a!.vout}`, `${b2!.txid}:${b2!.vout}`].sort());

    const excluded = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, exclude: [a!] }));
    expect(excluded.selected.some((u) => u.txid === a!.txid && u.vout === a!.vout)).toBe(false);

    await importLabels(ctx, 'w', utxos.map((u) => JSON.stringify({ type: 'output', ref: `${u.txid}:${u.vout}`, label: 'cold', spendable: u.txid === a!.txid && u.vout === a!.vout })).join('\n'));
    const frozen = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2 }));
    expect(frozen.selected.map((u) => `${u.txid}:${u.vout}`)).toEqual([`${a!.txid}:${a!.vout}`]);
    expect((await getStoredBalance(ctx, 'w')).frozen).toBe(utxos.reduce((s, u) => s + u.amount, 0n) - a!.amount);
    expect((await listStoredUtxos(ctx, 'w')).utxos.every((u) => u.label === 'cold')).toBe(true);
    await importLabels(ctx, 'w', utxos.map((u) => JSON.stringify({ type: 'output', ref: `${u.txid}:${u.vout}`, spendable: true })).join('\n'));

    const unknown = parseOutpoint(`${'ab'.repeat(32)}:0`);
    expect(await codeOfAsync(withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, include: [unknown] })))).toBe('spend.unknown_utxo');
    expect(await codeOfAsync(withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, include: [a!], exclude: [a!] })))).toBe('spend.include_excluded');
    expect(await codeOfAsync(withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, targetBlocks: 3 })))).toBe('spend.fee_conflict');
    // --target-blocks asks the backend's estimate (the model's 3-block rate is 15 sat/vB).
    const estimated = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], targetBlocks: 3 }));
    expect(estimated.feeRate).toBe(15);
  });

  it('never trusts an amount: a backend serving an altered previous transaction, or a tampered store, is caught', async () => {
    await setBackend(ctx, { wallet: 'w', kind: 'esplora', url: esplora.url });
    await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
    const { utxos } = await listStoredUtxos(ctx, 'w');
    const coin = utxos[0]!;
    esplora.faults.lies.push({ txid: coin.txid, vout: coin.vout, amount: coin.amount * 10n, where: 'rawtx' });
    try {
      expect(await codeOfAsync(withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, include: [coin] })))).toBe('backend.input_amount_mismatch');
    } finally {
      esplora.faults.lies.length = 0;
    }
    await ctx.db.updateTable('chain_utxos').set({ amount: String(coin.amount + 1000n) }).where('txid', '=', coin.txid).where('vout', '=', coin.vout).execute();
    expect(await codeOfAsync(withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2, include: [coin] })))).toBe('backend.input_amount_mismatch');
    await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
  });
});

describe('fee bumping a broadcast spend', () => {
  async function signAndFinalize(psbt: string, signers: readonly number[]) {
    const copies = [];
    for (const c of signers) copies.push(psbtToBase64((await signSpend(ctx, psbt, hdNodeFromSeed(cos[c]!.seed))).psbt));
    return (await finalizeSpend(ctx, psbtToBase64(combineSpends(copies)))).tx;
  }

  it('RBF replaces it in the mempool (signed again by M), then CPFP lifts the replacement', async () => {
    await setBackend(ctx, { wallet: 'w', kind: 'esplora', url: esplora.url });
    model.mine();
    await withWalletBackend((b) => syncWalletChain(ctx, 'w', b));
    const spend = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 30_000n }], feeRate: 2, minConfirmations: 1 }));
    const original = await signAndFinalize(psbtToBase64(spend.psbt), [0, 1]);
    await withWalletBackend((b) => broadcastTransaction(b, readSignedTransaction(original.hex)));
    expect(await codeOfAsync(withWalletBackend((b) => bumpChainTransaction(ctx, 'w', b, { txid: original.txid, feeRate: 1, method: 'rbf' })))).toBe('bump.fee_rate_too_low');

    const rbf = await withWalletBackend((b) => bumpChainTransaction(ctx, 'w', b, { txid: original.txid, feeRate: 5, method: 'rbf' }));
    expect(rbf.fee).toBeGreaterThan(rbf.originalFee);
    const replacement = await signAndFinalize(psbtToBase64(rbf.psbt), [1, 2]);
    expect(replacement.transaction.inputs.map((i) => `${i.txid}:${i.vout}`)).toEqual(original.transaction.inputs.map((i) => `${i.txid}:${i.vout}`));
    expect(rbf.fee - rbf.originalFee).toBeGreaterThanOrEqual(BigInt(replacement.vsize));
    expect(model.testAccept(replacement.bytes)).toMatchObject({ allowed: false, reason: 'txn-mempool-conflict' });
    await withWalletBackend((b) => broadcastTransaction(b, readSignedTransaction(replacement.hex)));
    expect(model.state(original.txid).state).toBe('unknown');
    expect(model.state(replacement.txid).state).toBe('mempool');

    const cpfp = await withWalletBackend((b) => bumpChainTransaction(ctx, 'w', b, { txid: replacement.txid, feeRate: 7, method: 'cpfp' }));
    const child = await signAndFinalize(psbtToBase64(cpfp.psbt), [0, 2]);
    expect(child.transaction.inputs[0]!.txid).toBe(replacement.txid);
    await withWalletBackend((b) => broadcastTransaction(b, readSignedTransaction(child.hex)));
    expect(Number(rbf.fee + cpfp.fee) / (replacement.vsize + child.vsize)).toBeGreaterThanOrEqual(7);
    model.mine();
    expect(await codeOfAsync(withWalletBackend((b) => bumpChainTransaction(ctx, 'w', b, { txid: child.txid, feeRate: 20, method: 'rbf' })))).toBe('bump.confirmed');
  });
});

describe('broadcast input and waiting', () => {
  it('rejects what is not a signed transaction, and reports a transaction dropped from the network', async () => {
    expect(await codeOfAsync(Promise.resolve().then(() => readSignedTransaction('zz')))).toBe('broadcast.bad_input');
    expect(await codeOfAsync(Promise.resolve().then(() => readSignedTransaction('0200000000')))).toBe('broadcast.bad_input');
    const spend = await withWalletBackend((b) => createChainSpend(ctx, 'w', b, { payments: [{ address: PAY, amount: 5_000n }], feeRate: 2 }));
    expect(await codeOfAsync(Promise.resolve().then(() => readSignedTransaction(psbtToBase64(spend.psbt))))).toBe('psbt.not_finalized');
    expect(await codeOfAsync(withWalletBackend((b) => waitForConfirmations(b, 'cd'.repeat(32), 1, { pollMs: 5, unknownPolls: 2 })))).toBe('broadcast.dropped');
  });
});
