/**
 * One scenario every backend must pass against its loopback server: funding, a spend broadcast
 * through the backend, confirmations, a reorganisation that drops the confirming block, a
 * replacement, fee estimates, a rejected broadcast (never retried), the previous-transaction check.
 */
import { expect, it } from 'vitest';
import type { ChainBackend } from '../../src/backend/port.ts';
import { fetchVerifiedPrevouts } from '../../src/backend/verify.ts';
import type { ChainModel } from '../../../../test/support/chain/model.ts';
import type { ServerStats } from '../../../../test/support/chain/faults.ts';
import { fundAddresses, makeWallet, signedSpend, type TestWallet } from './fixtures.ts';

export interface ConformanceTarget {
  readonly model: ChainModel;
  readonly backend: ChainBackend;
  readonly stats: ServerStats;
}

/**
 * Registers the conformance tests; `setup` starts a fresh model, server and backend for a wallet
 * (and must register their cleanup).
 */
export function conformanceSuite(setup: (wallet: TestWallet) => Promise<ConformanceTarget>): void {
  it('funding, spend, confirmations, a reorg that drops the confirmation, a replacement', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { model, backend } = await setup(wallet);
    const s = (b: 0 | 1, i: number): Uint8Array => wallet.deriver.scriptPubKeyAt(b, i);
    const f1 = fundAddresses(wallet, [
      { branch: 0, index: 0, amount: 150_000n },
      { branch: 0, index: 1, amount: 80_000n },
    ]);
    model.fund(f1.raw);
    const h1 = model.mine();
    const f2 = fundAddresses(wallet, [{ branch: 0, index: 3, amount: 50_000n }]);
    model.fund(f2.raw);

    expect(await backend.getTipHeight()).toBe(h1);
    const histories = await backend.getHistories([s(0, 0), s(0, 1), s(0, 2), s(0, 3)]);
    expect(histories).toEqual([[{ txid: f1.txid, height: h1 }], [{ txid: f1.txid, height: h1 }], [], [{ txid: f2.txid, height: 0 }]]);
    const utxos = await backend.getUtxos([s(0, 0), s(0, 3)]);
    expect(utxos).toEqual([[{ txid: f1.txid, vout: 0, amount: 150_000n, height: h1 }], [{ txid: f2.txid, vout: 0, amount: 50_000n, height: 0 }]]);
    expect(await backend.getTransactions([f1.txid, f2.txid])).toEqual([f1.raw, f2.raw]);
    const verified = await fetchVerifiedPrevouts(backend, [
      { txid: f1.txid, vout: 0, amount: 150_000n, scriptPubKey: s(0, 0) },
      { txid: f2.txid, vout: 0, amount: 50_000n },
    ]);
    expect(verified.map((v) => v.prevTx)).toEqual([f1.raw, f2.raw]);

    // A spend built and signed by the engine, broadcast through the backend.
    const spend = signedSpend(wallet, [f1.utxos[0]!], { amount: 60_000n, feeRate: 2, changeIndex: 0 });
    if (backend.testAccept !== undefined) expect(await backend.testAccept(spend.bytes)).toMatchObject({ allowed: true, txid: spend.txid });
    expect(await backend.broadcast(spend.bytes)).toBe(spend.txid);
    expect(await backend.getTransactionStatuses([spend.txid, f1.txid])).toEqual([{ state: 'mempool' }, { state: 'confirmed', blockHeight: h1, confirmations: 1 }]);
    expect((await backend.getHistories([s(0, 0)]))[0]).toEqual([
      { txid: f1.txid, height: h1 },
      { txid: spend.txid, height: 0 },
    ]);
    expect((await backend.getUtxos([s(0, 0), s(1, 0)])).map((u) => u.map((x) => x.txid))).toEqual([[], [spend.txid]]);

    const h2 = model.mine();
    model.mineEmpty(2);
    expect(await backend.getTipHeight()).toBe(h2 + 2);
    expect(await backend.getTransactionStatuses([spend.txid])).toEqual([{ state: 'confirmed', blockHeight: h2, confirmations: 3 }]);

    // The two empty blocks and the confirming block are reorganised away: back to the mempool.
    model.reorg();
    model.reorg();
    model.reorg();
    expect(await backend.getTipHeight()).toBe(h1);
    expect(await backend.getTransactionStatuses([spend.txid])).toEqual([{ state: 'mempool' }]);
    expect((await backend.getHistories([s(1, 0)]))[0]).toEqual([{ txid: spend.txid, height: 0 }]);

    // A replacement: the same input at a higher fee takes the first spend's place.
    const low = signedSpend(wallet, [f1.utxos[1]!], { amount: 30_000n, feeRate: 1, changeIndex: 1 });
    const high = signedSpend(wallet, [f1.utxos[1]!], { amount: 30_000n, feeRate: 5, changeIndex: 1 });
    expect(await backend.broadcast(low.bytes)).toBe(low.txid);
    expect(await backend.broadcast(high.bytes)).toBe(high.txid);
    expect(await backend.getTransactionStatuses([low.txid, high.txid])).toEqual([{ state: 'unknown' }, { state: 'mempool' }]);
    expect((await backend.getHistories([s(0, 1)]))[0]!.map((e) => e.txid)).toEqual([f1.txid, high.txid]);
    const h3 = model.mine();
    expect(await backend.getTransactionStatuses([high.txid, spend.txid])).toEqual([
      { state: 'confirmed', blockHeight: h3, confirmations: 1 },
      { state: 'confirmed', blockHeight: h3, confirmations: 1 },
    ]);
  });

  it('a rejected broadcast fails with backend.rejected and is sent once', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { model, backend, stats } = await setup(wallet);
    const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 100_000n }]);
    model.fund(f.raw);
    model.mine();
    const spend = signedSpend(wallet, f.utxos, { amount: 40_000n, feeRate: 2, changeIndex: 0 });
    // Tamper with one signature byte: bitcore rejects the script.
    const bad = spend.bytes.slice();
    const at = bad.length - 4 - 80;
    bad[at] = bad[at]! ^ 0x01;
    await backend.getTipHeight();
    const before = stats.requests;
    const err = await backend.broadcast(bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.rejected' });
    expect((err as Error).message).toMatch(/rejected transaction [0-9a-f]{64}/);
    expect(stats.requests - before).toBeLessThanOrEqual(2); // the broadcast (+ Core's testmempoolaccept)
    if (backend.testAccept !== undefined) expect(await backend.testAccept(bad)).toMatchObject({ allowed: false });
  });

  it('fee estimates in sat/vB', async () => {
    const { backend } = await setup(makeWallet('wsh', 2, 3));
    expect(await backend.estimateFee(6)).toBeCloseTo(8.4, 5);
    expect(await backend.estimateFee(1)).toBeCloseTo(25.5, 5);
  });

  it('unknown transactions: backend.not_found / status unknown', async () => {
    const { backend } = await setup(makeWallet('wsh', 2, 3));
    const txid = 'ab'.repeat(32);
    expect(await backend.getTransactionStatuses([txid])).toEqual([{ state: 'unknown' }]);
    await expect(backend.getTransactions([txid])).rejects.toMatchObject({ code: 'backend.not_found' });
  });
}
