/**
 * The chain commands end to end, in process, against loopback Esplora, Electrum and Bitcoin Core
 * servers over a chain model of real transactions: backend set/show, sync, balance, utxos, history
 * (text and --json), spend from the synced coins, sign (in the service), combine and finalize with
 * the CLI, broadcast with --wait, labels import/export, and an RPC password kept out of output.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hdNodeFromSeed, parsePsbt, psbtToBase64, parseTransaction } from '@mofn/bitcoin';
import { createContext, openStore, signSpend, loadWallet } from '@mofn/service';
import { ok, run } from './run.ts';
import { verifyWithBitcore } from '../../../test/support/bitcore.ts';
import { ChainModel } from '../../../test/support/chain/model.ts';
import { startEsploraServer, type EsploraServer } from '../../../test/support/chain/esploraServer.ts';
import { startElectrumServer, type ElectrumServer } from '../../../test/support/chain/electrumServer.ts';
import { startCoreServer, type CoreServer } from '../../../test/support/chain/coreServer.ts';
import { testCosigner } from '../../../test/support/cosigners.ts';
import { fundingTransaction } from '../../../test/support/funding.ts';

const PAY = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
const RPC = { user: 'mofn', password: 'cli rpc secret 7' };
const cos = ['a', 'b', 'c'].map((l) => testCosigner(`cli-chain-${l}`));
const saved = { home: process.env['MOFN_HOME'], rpc: process.env['MOFN_RPC_PASSWORD'] };
let dir: string;
let model: ChainModel;
let esplora: EsploraServer;
let electrum: ElectrumServer;
let core: CoreServer;


beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-cli-chain-'));
  process.env['MOFN_HOME'] = join(dir, 'home');
  delete process.env['MOFN_RPC_PASSWORD'];
  model = new ChainModel();
  esplora = await startEsploraServer(model);
  electrum = await startElectrumServer(model);
  core = await startCoreServer(model, RPC);
});

afterAll(async () => {
  await esplora.close();
  await electrum.close();
  await core.close();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [
    ['MOFN_HOME', saved.home],
    ['MOFN_RPC_PASSWORD', saved.rpc],
  ] as const) {
    if (v === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = v;
  }
});

describe('mofn chain commands', () => {
  it('backend set, sync, balance, utxos, history, spend, finalize, broadcast --wait, labels', async () => {
    await ok('wallet', 'create', 'fam', '--threshold', '2', '--network', 'test', ...cos.flatMap((c) => ['--key', c.key]));
    const receive = JSON.parse(await ok('address', 'fam', '--count', '3', '--json')) as { address: string }[];
    const fundTx = (outs: [string, bigint][]) => model.fund(fundingTransaction(outs.map(([address, amount]) => ({ address, amount, network: 'test' as const }))).raw);
    fundTx([
      [receive[0]!.address, 80_000n],
      [receive[2]!.address, 40_000n],
    ]);
    model.mine();
    fundTx([[receive[2]!.address, 5_000n]]);

    // Settings: bad input refused with a code, then a wallet backend.
    const bad = await run('backend', 'set', 'gopher', 'x');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('[backend.bad_kind]');
    await ok('backend', 'set', '--wallet', 'fam', 'esplora', esplora.url);
    expect(JSON.parse(await ok('backend', 'show', '--json'))).toEqual([expect.objectContaining({ kind: 'esplora', url: esplora.url })]);

    const synced = JSON.parse(await ok('sync', 'fam', '--json')) as { balance: { confirmed: string; unconfirmed: string }; reusedAddresses: string[]; nextReceiveIndex: number };
    expect(synced.balance).toEqual({ confirmed: '120000', unconfirmed: '5000' });
    expect(synced.reusedAddresses).toEqual([receive[2]!.address]);
    expect(synced.nextReceiveIndex).toBe(3);
    expect(await ok('sync', 'fam')).toContain('address reuse');

    expect(JSON.parse(await ok('balance', 'fam', '--json'))).toMatchObject({ confirmed: '120000', unconfirmed: '5000', total: '125000' });
    expect(await ok('balance', 'fam')).toContain('125000 sats');
    const utxos = JSON.parse(await ok('utxos', 'fam', '--json')) as { txid: string; vout: number; amount: string; confirmations: number; addressReused: boolean }[];
    expect(utxos.map((u) => [u.amount, u.confirmations, u.addressReused])).toEqual([
      ['80000', 1, false],
      ['40000', 1, true],
      ['5000', 0, true],
    ]);
    expect(await ok('utxos', 'fam')).toContain('REUSED');
    const history = JSON.parse(await ok('history', 'fam', '--json')) as { net: string; confirmations: number; addressReuse: boolean }[];
    expect(history.map((t) => [t.net, t.confirmations, t.addressReuse])).toEqual([
      ['120000', 1, true],
      ['5000', 0, true],
    ]);

    // Spend from the synced coins, coin control excluding the unconfirmed one.
    const unconfirmed = utxos[2]!;
    const spendFile = join(dir, 'spend.json');
    await ok('spend', 'fam', '--to', `${PAY}:60000`, '--fee-rate', '4', '--exclude', `${unconfirmed.txid}:${unconfirmed.vout}`, '--json', '--out', spendFile);
    const spend = JSON.parse(readFileSync(spendFile, 'utf8')) as { psbt: string; fee: string; inputs: { txid: string; vout: number }[]; change: { index: number } };
    expect(spend.inputs.some((i) => i.txid === unconfirmed.txid)).toBe(false);
    expect(spend.change.index).toBe(0);
    expect((await run('spend', 'fam', '--to', `${PAY}:60000`, '--include', 'nope')).err).toContain('[utxo.bad_outpoint]');
    // `psbt create` without --utxo selects from the same synced coins (coin control included).
    const created = JSON.parse(await ok('psbt', 'create', 'fam', '--to', `${PAY}:60000`, '--fee-rate', '4', '--exclude', `${unconfirmed.txid}:${unconfirmed.vout}`, '--json')) as { psbt: string; fee: string };
    const createdTx = parsePsbt(created.psbt).tx;
    expect(createdTx.inputs.some((i) => i.txid === unconfirmed.txid && i.vout === unconfirmed.vout)).toBe(false);
    expect(createdTx.outputs.some((o) => o.amount === 60_000n)).toBe(true);
    expect((await run('psbt', 'create', 'fam', '--to', `${PAY}:60000`, '--utxo', `${unconfirmed.txid}:${String(unconfirmed.vout)}:5000`)).err).toContain('[option.fee_rate_required]');

    // Two cosigners sign (in the service, with the cosigners' seeds), the CLI combines and finalizes.
    const store = await openStore({ home: join(dir, 'home') });
    const files: string[] = [];
    try {
      const ctx = createContext(store);
      await loadWallet(ctx, 'fam');
      for (const c of [0, 1]) {
        const f = join(dir, `signed-${c}.psbt`);
        writeFileSync(f, psbtToBase64((await signSpend(ctx, spend.psbt, hdNodeFromSeed(cos[c]!.seed))).psbt));
        files.push(f);
      }
    } finally {
      await store.close();
    }
    await ok('psbt', 'combine', ...files, '--out', join(dir, 'both.psbt'));
    const finalFile = join(dir, 'final.psbt');
    const hex = await ok('psbt', 'finalize', join(dir, 'both.psbt'), '--out', finalFile);
    const tx = parseTransaction(hex);
    const prevouts = tx.inputs.map((i) => {
      const o = model.tx(i.txid)!.outputs[i.vout]!;
      return { scriptPubKey: o.script, amount: o.amount };
    });
    expect(verifyWithBitcore(hex, prevouts).every((v) => v.ok)).toBe(true);

    // Broadcast through Bitcoin Core (test-accept first), waiting for 2 confirmations while blocks come.
    await ok('backend', 'set', '--network', 'test', 'core', core.url, '--rpc-user', RPC.user);
    await ok('backend', 'unset', '--wallet', 'fam');
    const noPassword = await run('broadcast', 'fam', finalFile);
    expect(noPassword.code).toBe(1);
    expect(noPassword.err).toContain('[backend.unauthorized]');
    process.env['MOFN_RPC_PASSWORD'] = 'wrong password';
    const wrong = await run('sync', 'fam');
    expect(wrong.err).toContain('[backend.unauthorized]');
    expect(wrong.err + wrong.out).not.toContain('wrong password');
    process.env['MOFN_RPC_PASSWORD'] = RPC.password;
    const miner = setInterval(() => model.mine(), 40);
    let broadcast;
    try {
      broadcast = await run('broadcast', 'fam', finalFile, '--wait', '2', '--poll', '0.02', '--timeout', '10');
    } finally {
      clearInterval(miner);
    }
    expect(broadcast.code).toBe(0);
    expect(broadcast.out.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(broadcast.err).toContain('test-accepted first');
    expect(broadcast.err).toMatch(/confirmed in block \d+/);
    const txid = broadcast.out.trim();
    expect(model.state(txid).state).toBe('confirmed');
    // The raw hex broadcast again is refused before sending (already in the chain).
    const again = await run('broadcast', 'fam', (writeFileSync(join(dir, 'raw.hex'), hex), join(dir, 'raw.hex')));
    expect(again.code).toBe(1);
    expect(again.err).toContain('[backend.rejected]');

    // Synced through Electrum now: the spend shows with its fee.
    await ok('backend', 'set', '--wallet', 'fam', 'electrum', electrum.url);
    await ok('sync', 'fam');
    const after = JSON.parse(await ok('history', 'fam', '--json')) as { txid: string; net: string; fee?: string }[];
    expect(after.find((t) => t.txid === txid)).toMatchObject({ net: String(-(60_000 + Number(spend.fee))), fee: spend.fee });

    // Labels: import BIP-329 lines, export them back, see them on history.
    const labels = [
      { type: 'tx', ref: txid, label: 'paid the builder' },
      { type: 'addr', ref: receive[0]!.address, label: 'from exchange' },
      { type: 'output', ref: `${unconfirmed.txid}:${unconfirmed.vout}`, label: 'tip', spendable: false },
      { type: 'frobnicate', ref: 'x', label: 'unknown type' },
    ];
    const labelFile = join(dir, 'labels.jsonl');
    writeFileSync(labelFile, labels.map((l) => JSON.stringify(l)).join('\n'));
    const imported = await run('labels', 'import', 'fam', labelFile);
    expect(imported.err).toContain('imported 3 label(s), ignored 1');
    const exported = (await ok('labels', 'export', 'fam')).split('\n').map((l) => JSON.parse(l) as unknown);
    expect(exported).toEqual(expect.arrayContaining(labels.slice(0, 3)));
    expect(exported).toHaveLength(3);
    expect(await ok('history', 'fam')).toContain('paid the builder');
    expect(await ok('utxos', 'fam')).toContain('FROZEN');
    const badLabels = join(dir, 'bad.jsonl');
    writeFileSync(badLabels, '{"type":"tx","ref":"nothex","label":"x"}\n');
    expect((await run('labels', 'import', 'fam', badLabels)).err).toContain('[labels.bad_record]');
  });
});
