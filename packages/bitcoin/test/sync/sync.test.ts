/**
 * Wallet sync over the chain-backend port, against the loopback Electrum server (and Esplora for
 * portability): a 2,000-address wallet across both chains, gap-limit edges, speculation never
 * changing the result, a connection dropped mid-scan, progress.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createElectrumBackend, type ElectrumBackend } from '../../src/backend/electrum/backend.ts';
import { createEsploraBackend } from '../../src/backend/esplora.ts';
import type { ChainBackend } from '../../src/backend/port.ts';
import { syncWallet, type SyncProgress } from '../../src/sync/index.ts';
import { scriptToAddress } from '../../src/address.ts';
import { toHex } from '../../src/tx/bytes.ts';
import type { Branch } from '../../src/types.ts';
import { ChainModel } from '../../../../test/support/chain/model.ts';
import { startElectrumServer, type ElectrumServer } from '../../../../test/support/chain/electrumServer.ts';
import { startEsploraServer } from '../../../../test/support/chain/esploraServer.ts';
import { codeOf } from '../../../../test/support/errors.ts';
import { fundAddresses, makeWallet, signedSpend, type TestWallet } from '../backend/fixtures.ts';
import { fundingTransaction } from '../../../../test/support/funding.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function electrum(model: ChainModel): Promise<{ server: ElectrumServer; backend: ElectrumBackend }> {
  const server = await startElectrumServer(model);
  cleanup.push(() => server.close());
  const backend = createElectrumBackend({ url: server.url, timeoutMs: 5_000, retries: 2, backoffMs: 10 });
  cleanup.push(() => backend.close());
  return { server, backend };
}

/** Funds the given indexes (one output each, amount = 10,000 + index, 10 outputs per transaction), mined. */
function fundIndexes(model: ChainModel, wallet: TestWallet, branch: Branch, indexes: readonly number[]): void {
  const raws: Uint8Array[] = [];
  for (let i = 0; i < indexes.length; i += 10) {
    const chunk = indexes.slice(i, i + 10);
    raws.push(fundingTransaction(chunk.map((index) => ({ address: wallet.deriver.derive(branch, index).address, amount: 10_000n + BigInt(index), network: 'test' as const }))).raw);
  }
  model.fundMany(raws);
}

/** What a sequential gap-limit scan finds: the last used index reached (-1 for none). */
function sequentialLastUsed(used: ReadonlySet<number>, gap: number): number {
  let last = -1;
  for (let i = 0; i <= last + gap; i++) if (used.has(i)) last = i;
  return last;
}

describe('syncWallet', () => {
  it('2,000 used addresses across both chains: UTXOs, history with net and fee, reuse, next index, few round trips', async () => {
    const model = new ChainModel();
    const wallet = makeWallet('wsh', 2, 3);
    const receive = Array.from({ length: 1200 }, (_, i) => i);
    const change = Array.from({ length: 799 }, (_, i) => i);
    fundIndexes(model, wallet, 0, receive);
    fundIndexes(model, wallet, 1, change);
    model.mine();
    // /0/7 is paid a second time (reuse); an engine-built spend of two receive coins sends change to /1/799.
    const again = fundAddresses(wallet, [{ branch: 0, index: 7, amount: 777n }]);
    model.fund(again.raw);
    model.mine();
    model.mineEmpty(4);
    const { server, backend } = await electrum(model);
    const coins = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0), wallet.deriver.scriptPubKeyAt(0, 1)]);
    const spendUtxos = coins.map((c, index) => ({ ...c[0]!, branch: 0 as const, index, prevTx: (model.tx(c[0]!.txid)!.raw) }));
    const spend = signedSpend(wallet, spendUtxos, { amount: 15_000n, feeRate: 3, changeIndex: 799 });
    await backend.broadcast(spend.bytes);

    const before = server.stats.messages;
    const progress: SyncProgress[] = [];
    const result = await syncWallet(backend, wallet.deriver, { onProgress: (p) => progress.push(p) });
    const roundTrips = server.stats.messages - before;

    expect(result.addresses).toHaveLength(2000);
    expect(result.nextReceiveIndex).toBe(1200);
    expect(result.nextChangeIndex).toBe(800);
    expect(result.addresses.filter((a) => a.reused).map((a) => `${a.branch}/${a.index}`)).toEqual(['0/7']);
    expect(result.tipHeight).toBe(model.tipHeight);

    // The UTXO set equals the chain's own, script by script.
    const expected = [...receive.map((i) => [0, i] as const), ...[...change, 799].map((i) => [1, i] as const)].flatMap(([b, i]) =>
      model.utxos(toHex(wallet.deriver.scriptPubKeyAt(b, i))).map((u) => `${u.txid}:${u.vout}:${u.amount}:${b}/${i}`),
    );
    expect(result.utxos.map((u) => `${u.txid}:${u.vout}:${u.amount}:${u.branch}/${u.index}`).sort()).toEqual(expected.sort());
    expect(result.utxos.every((u) => u.prevTx.length > 0 && u.address === scriptToAddress(wallet.deriver.scriptPubKeyAt(u.branch, u.index), 'test'))).toBe(true);
    const changeUtxo = result.utxos.find((u) => u.txid === spend.txid)!;
    expect(changeUtxo).toMatchObject({ height: 0, confirmations: 0, branch: 1, index: 799 });
    expect(result.utxos.find((u) => u.txid === again.txid)).toMatchObject({ confirmations: 5 });
    expect(result.balance.unconfirmed).toBe(changeUtxo.amount);
    expect(result.balance.confirmed + result.balance.unconfirmed).toBe(result.utxos.reduce((s, u) => s + u.amount, 0n));

    // History: the spend's net is minus (payment + fee) and its fee is known; funding fees are not.
    const out = result.history.find((h) => h.txid === spend.txid)!;
    const fee = 10_000n + 10_001n - 15_000n - changeUtxo.amount;
    expect(out).toMatchObject({ height: 0, confirmations: 0, sent: 20_001n, received: changeUtxo.amount, net: -(15_000n + fee), fee });
    expect(result.history.at(-1)!.txid).toBe(spend.txid);
    const incoming = result.history.find((h) => h.txid === again.txid)!;
    expect(incoming.net).toBe(777n);
    expect(incoming.fee).toBeUndefined();

    // Round trips (the connection is already open): within 1.5x of addresses to check / batch size.
    const minimum = Math.ceil((1200 + 20 + 800 + 20) / 100);
    expect(result.stats.rounds).toBeLessThanOrEqual(Math.ceil(minimum * 1.5));
    expect(roundTrips).toBe(result.stats.rounds);
    // Progress only moves forward and ends complete.
    expect(progress.every((p, i) => i === 0 || p.done >= progress[i - 1]!.done)).toBe(true);
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
  });

  it('gap edges on a fresh wallet: a used address at index gap-1 is found, at index gap it is not', async () => {
    const model = new ChainModel();
    const wallet = makeWallet('wsh', 2, 3);
    fundIndexes(model, wallet, 0, [19]);
    fundIndexes(model, wallet, 1, [20]);
    const { backend } = await electrum(model);
    const r = await syncWallet(backend, wallet.deriver);
    expect(r.addresses.map((a) => `${a.branch}/${a.index}`)).toEqual(['0/19']);
    expect(r.nextReceiveIndex).toBe(20);
    expect(r.nextChangeIndex).toBe(0);
    expect(r.utxos).toHaveLength(1);
  });

  it('gap edges after a used address: exactly gap beyond the last used is found, gap+1 is not (custom gap 5)', async () => {
    const model = new ChainModel();
    const wallet = makeWallet('wsh', 2, 3);
    // Receive: 3 used, then 3+5 = 8 (4 unused between: found), then 8+6 = 14 (5 unused between: beyond the gap).
    fundIndexes(model, wallet, 0, [3, 8, 14]);
    fundIndexes(model, wallet, 1, [4, 10]);
    const { backend } = await electrum(model);
    for (const batchSize of [1, 3, 100]) {
      const r = await syncWallet(backend, wallet.deriver, { gap: 5, batchSize });
      expect(r.addresses.map((a) => `${a.branch}/${a.index}`)).toEqual(['0/3', '0/8', '1/4']);
      expect([r.nextReceiveIndex, r.nextChangeIndex]).toEqual([9, 5]);
      // The coins beyond the gap are not the wallet's as far as the scan knows.
      expect(r.utxos.map((u) => u.index).sort()).toEqual([3, 4, 8]);
    }
  });

  it('speculative rounds never change the result (random wallets, batch sizes 1..150)', async () => {
    const model = new ChainModel();
    const { backend } = await electrum(model);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 25 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 30 }),
        async (receive, change, batchSize, gap) => {
          const wallet = makeWallet('wsh', 1, 2);
          fundIndexes(model, wallet, 0, receive);
          fundIndexes(model, wallet, 1, change);
          const r = await syncWallet(backend, wallet.deriver, { gap, batchSize });
          expect(r.nextReceiveIndex).toBe(sequentialLastUsed(new Set(receive), gap) + 1);
          expect(r.nextChangeIndex).toBe(sequentialLastUsed(new Set(change), gap) + 1);
          expect(r.addresses.every((a) => a.index < (a.branch === 0 ? r.nextReceiveIndex : r.nextChangeIndex))).toBe(true);
          expect(r.addresses).toHaveLength(
            receive.filter((i) => i < r.nextReceiveIndex).length + change.filter((i) => i < r.nextChangeIndex).length,
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a connection dropped mid-scan: reconnects and returns the same result', async () => {
    const model = new ChainModel();
    const wallet = makeWallet('wsh', 2, 3);
    fundIndexes(model, wallet, 0, Array.from({ length: 150 }, (_, i) => i));
    fundIndexes(model, wallet, 1, Array.from({ length: 40 }, (_, i) => i * 2));
    model.mine();
    const { server, backend } = await electrum(model);
    const clean = await syncWallet(backend, wallet.deriver, { batchSize: 50 });
    server.faults.disconnect = 2;
    const again = await syncWallet(backend, wallet.deriver, { batchSize: 50 });
    expect(server.stats.connections).toBe(3);
    expect(again.utxos).toEqual(clean.utxos);
    expect(again.history).toEqual(clean.history);
    expect(again.nextChangeIndex).toBe(79);
  });

  it('works over any backend of the port (Esplora)', async () => {
    const model = new ChainModel();
    const wallet = makeWallet('sh-wsh', 2, 3);
    fundIndexes(model, wallet, 0, [0, 1, 2, 30]);
    fundIndexes(model, wallet, 1, [0]);
    model.mine();
    const server = await startEsploraServer(model);
    cleanup.push(() => server.close());
    const backend: ChainBackend = createEsploraBackend({ network: 'test', url: server.url });
    cleanup.push(() => backend.close());
    const r = await syncWallet(backend, wallet.deriver, { batchSize: 20 });
    expect(r.addresses.map((a) => `${a.branch}/${a.index}`)).toEqual(['0/0', '0/1', '0/2', '1/0']);
    expect(r.balance.confirmed).toBe(10_000n * 4n + 3n);
  });

  it('rejects bad options (sync.bad_option)', async () => {
    const wallet = makeWallet('wsh', 1, 1);
    const backend = createEsploraBackend({ network: 'test' });
    for (const options of [{ gap: 0 }, { gap: 1.5 }, { batchSize: 0 }]) {
      const err = await syncWallet(backend, wallet.deriver, options).catch((e: unknown) => e);
      expect(codeOf(() => {
        throw err;
      })).toBe('sync.bad_option');
    }
  });
});
