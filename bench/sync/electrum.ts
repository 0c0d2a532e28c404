/**
 * Sync benchmark (issue 4, "Performance"): a gap-limit sync of a wallet with 2,000 used addresses
 * (1,200 receive, 800 change) against the loopback Electrum server with 20 ms injected latency per
 * round trip. Prints the round trips and wall time beside the minimum possible round trips
 * (addresses to check / batch size). Targets: within 1.5x of that minimum, under 5 s.
 *
 *   node --import tsx bench/sync/electrum.ts [--latency MS] [--batch N]
 *
 * Exports {@link runElectrumSyncBench} for bench/run.ts.
 */
import { pathToFileURL } from 'node:url';
import { createElectrumBackend } from '../../packages/bitcoin/src/backend/electrum/backend.ts';
import { syncWallet } from '../../packages/bitcoin/src/sync/index.ts';
import { createAddressDeriver, createPolicy } from '../../packages/bitcoin/src/wallet/index.ts';
import { startElectrumServer } from '../../test/support/chain/electrumServer.ts';
import { ChainModel } from '../../test/support/chain/model.ts';
import { testCosigner } from '../../test/support/cosigners.ts';
import { fundingTransaction } from '../../test/support/funding.ts';

export interface SyncBenchOptions {
  readonly receive?: number;
  readonly change?: number;
  readonly latencyMs?: number;
  readonly batchSize?: number;
  readonly gap?: number;
}

export interface SyncBenchResult {
  readonly usedAddresses: number;
  readonly addressesToCheck: number;
  readonly batchSize: number;
  readonly latencyMs: number;
  /** ceil(addresses to check / batch size). */
  readonly minimumRoundTrips: number;
  /** Messages the server received during the sync (the connection handshake included). */
  readonly roundTrips: number;
  readonly roundTripRatio: number;
  readonly wallMs: number;
  readonly scriptsChecked: number;
  readonly transactionsFetched: number;
  readonly pass: { readonly roundTrips: boolean; readonly wallTime: boolean };
}

/** Builds the chain, starts the server, syncs once (cold connection), returns the measurements. */
export async function runElectrumSyncBench(options: SyncBenchOptions = {}): Promise<SyncBenchResult> {
  const receive = options.receive ?? 1200;
  const change = options.change ?? 800;
  const latencyMs = options.latencyMs ?? 20;
  const batchSize = options.batchSize ?? 100;
  const gap = options.gap ?? 20;
  const policy = createPolicy({ type: 'wsh', threshold: 2, keys: ['a', 'b', 'c'].map((l) => testCosigner(`bench-sync-${l}`).key), network: 'test', sorted: true });
  const model = new ChainModel();
  // The chain is built with its own deriver so the synced one starts cold, as a fresh process would.
  const setup = createAddressDeriver(policy);
  const raws: Uint8Array[] = [];
  for (const [branch, count] of [
    [0, receive],
    [1, change],
  ] as const) {
    for (let i = 0; i < count; i += 4) {
      const outputs = [];
      for (let k = i; k < Math.min(count, i + 4); k++) outputs.push({ address: setup.derive(branch, k).address, amount: 10_000n + BigInt(k), network: 'test' as const });
      raws.push(fundingTransaction(outputs, `bench-sync-${branch}-${i}`).raw);
    }
  }
  model.fundMany(raws);
  model.mine();
  const server = await startElectrumServer(model);
  server.faults.latencyMs = latencyMs;
  const backend = createElectrumBackend({ url: server.url, timeoutMs: 30_000 });
  try {
    const deriver = createAddressDeriver(policy);
    const started = performance.now();
    const result = await syncWallet(backend, deriver, { gap, batchSize });
    const wallMs = performance.now() - started;
    if (result.addresses.length !== receive + change) throw new Error(`sync found ${result.addresses.length} used addresses, expected ${receive + change}`);
    const addressesToCheck = receive + gap + change + gap;
    const minimumRoundTrips = Math.ceil(addressesToCheck / batchSize);
    const roundTrips = server.stats.messages;
    return {
      usedAddresses: result.addresses.length,
      addressesToCheck,
      batchSize,
      latencyMs,
      minimumRoundTrips,
      roundTrips,
      roundTripRatio: roundTrips / minimumRoundTrips,
      wallMs,
      scriptsChecked: result.stats.scriptsChecked,
      transactionsFetched: result.stats.transactionsFetched,
      pass: { roundTrips: roundTrips <= minimumRoundTrips * 1.5, wallTime: wallMs < 5_000 },
    };
  } finally {
    await backend.close();
    await server.close();
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const latencyMs = arg('--latency');
  const batchSize = arg('--batch');
  const r = await runElectrumSyncBench({ ...(latencyMs === undefined ? {} : { latencyMs }), ...(batchSize === undefined ? {} : { batchSize }) });
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
  console.log(`sync of ${r.usedAddresses} used addresses over loopback Electrum, ${r.latencyMs} ms per round trip, batch ${r.batchSize}`);
  console.log(`  round trips  ${r.roundTrips}  (minimum ${r.minimumRoundTrips} = ceil(${r.addressesToCheck} addresses / ${r.batchSize}); ratio ${r.roundTripRatio.toFixed(2)}, target <= 1.5: ${verdict(r.pass.roundTrips)})`);
  console.log(`  wall time    ${r.wallMs.toFixed(0)} ms  (target < 5000 ms: ${verdict(r.pass.wallTime)}; latency floor ${r.minimumRoundTrips * r.latencyMs} ms)`);
  console.log(`  scripts checked ${r.scriptsChecked}, transactions fetched ${r.transactionsFetched}`);
  process.exitCode = r.pass.roundTrips && r.pass.wallTime ? 0 : 1;
}
