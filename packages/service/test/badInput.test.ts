/**
 * The bad-input catalogue: each hostile or mistaken input gets its own specific error code,
 * and the store is byte-for-byte unchanged afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hdNodeFromSeed, parsePsbt, serializePsbt, psbtToBase64, type Psbt, type PsbtInput } from '@mofn/bitcoin';
import { base64 } from '@scure/base';
import {
  combineSpends,
  createContext,
  createSpend,
  createWallet,
  finalizeSpend,
  importWallet,
  inspectSpend,
  listAddresses,
  loadWallet,
  openStore,
  parsePaymentSpec,
  parseUtxoSpec,
  signSpend,
  verifyAddress,
  type ServiceContext,
  type Store,
} from '../src/index.ts';
import { testCosigner } from '../../../test/support/cosigners.ts';
import { fundingTransaction } from '../../../test/support/funding.ts';

const cos = Array.from({ length: 22 }, (_, i) => testCosigner(`bad-${i}`));
const keys = cos.map((c) => c.key);
const outsider = testCosigner('outsider');
const PAY = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

let store: Store;
let ctx: ServiceContext;
let base: Psbt;
let baseText: string;
let funding: ReturnType<typeof fundingTransaction>;
let fundedAddress: string;

beforeAll(async () => {
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store, () => new Date('2026-01-01T00:00:00Z'));
  await createWallet(ctx, { name: 'w', threshold: 2, keys: keys.slice(0, 3), network: 'test' });
  const [addr] = await listAddresses(ctx, 'w', { index: 0 });
  fundedAddress = addr!.address;
  funding = fundingTransaction([{ address: addr!.address, amount: 200_000n, network: 'test' }], 'bad-input-funding');
  const spend = await createSpend(ctx, 'w', { utxos: [{ txid: funding.txid, vout: 0, amount: 200_000n, prevTx: funding.raw }], payments: [{ address: PAY, amount: 50_000n }], feeRate: 2 });
  base = spend.psbt;
  baseText = psbtToBase64(base);
});
afterAll(async () => {
  await store.close();
});

async function snapshot(): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of ['wallets', 'cosigners', 'addresses', 'outpoints', 'labels'] as const) out[t] = await store.db.selectFrom(t).selectAll().execute();
  return JSON.stringify(out);
}

type MutablePsbt = { -readonly [K in keyof Psbt]: Psbt[K] } & { inputs: PsbtInput[] };
function mutate(fn: (p: MutablePsbt) => void): string {
  const copy: MutablePsbt = { ...base, inputs: base.inputs.map((i) => ({ ...i })), outputs: base.outputs.map((o) => ({ ...o })), tx: { ...base.tx, inputs: [...base.tx.inputs], outputs: [...base.tx.outputs] } };
  fn(copy);
  return psbtToBase64(copy);
}

/** A PSBT whose first input map repeats its first key-value pair. */
function duplicateKeyPsbt(): string {
  const bytes = serializePsbt(base);
  // magic(5) + global map; find the first input map start by re-parsing sizes is overkill:
  // duplicate the whole global unsigned-tx pair instead, which BIP-174 forbids just the same.
  const keyLen = bytes[5]!;
  const valLenPos = 5 + 1 + keyLen;
  const valLen = bytes[valLenPos] === 0xfd ? bytes[valLenPos + 1]! | (bytes[valLenPos + 2]! << 8) : bytes[valLenPos]!;
  const valLenSize = bytes[valLenPos] === 0xfd ? 3 : 1;
  const pairEnd = valLenPos + valLenSize + valLen;
  const pair = bytes.subarray(5, pairEnd);
  return base64.encode(Uint8Array.from([...bytes.subarray(0, pairEnd), ...pair, ...bytes.subarray(pairEnd)]));
}

const signer = (i: number) => hdNodeFromSeed(cos[i]!.seed);

type Case = readonly [name: string, run: () => Promise<unknown>, code: string];

const cases: Case[] = [
  ['wallet name with spaces', () => createWallet(ctx, { name: 'my wallet', threshold: 1, keys: keys.slice(0, 2), network: 'test' }), 'wallet.bad_name'],
  ['M greater than N', () => createWallet(ctx, { name: 'x', threshold: 3, keys: keys.slice(0, 2), network: 'test' }), 'policy.bad_threshold'],
  ['M = 0', () => createWallet(ctx, { name: 'x', threshold: 0, keys: keys.slice(0, 2), network: 'test' }), 'policy.bad_threshold'],
  ['same key twice under different fingerprints', () => createWallet(ctx, { name: 'x', threshold: 1, keys: [keys[0]!, keys[0]!.replace(/^\[[0-9a-f]{8}/, '[deadbeef')], network: 'test' }), 'policy.duplicate_key'],
  ['testnet key in a mainnet wallet', () => createWallet(ctx, { name: 'x', threshold: 1, keys: keys.slice(0, 2), network: 'main' }), 'key.wrong_network'],
  ['private key given as a cosigner key', () => createWallet(ctx, { name: 'x', threshold: 1, keys: [keys[0]!, cos[1]!.account.privateExtendedKey], network: 'test' }), 'key.private_key'],
  ['xpub with a broken checksum', () => createWallet(ctx, { name: 'x', threshold: 1, keys: [keys[0]!, keys[1]!.slice(0, -1) + (keys[1]!.endsWith('a') ? 'b' : 'a')], network: 'test' }), 'key.bad_checksum'],
  ['16 keys in P2SH', () => createWallet(ctx, { name: 'x', threshold: 2, keys: keys.slice(0, 16), network: 'test', type: 'sh' }), 'policy.too_many_keys'],
  ['21 keys in P2WSH', () => createWallet(ctx, { name: 'x', threshold: 2, keys: keys.slice(0, 21), network: 'test', type: 'wsh' }), 'policy.too_many_keys'],
  ['descriptor with a wrong checksum', () => importWallet(ctx, { text: `wsh(sortedmulti(1,${keys[0]}/<0;1>/*,${keys[1]}/<0;1>/*))#aaaaaaaa`, name: 'x', network: 'test' }), 'walletfile.bad_descriptor'],
  ['descriptor with hardened derivation after the xpub', () => importWallet(ctx, { text: `wsh(sortedmulti(1,${keys[0]}/0h/*,${keys[1]}/0h/*))`, name: 'x', network: 'test' }), 'walletfile.bad_descriptor'],
  ['descriptor mixing networks', () => importWallet(ctx, { text: `wsh(sortedmulti(1,${keys[0]}/<0;1>/*,${testCosigner('main', { network: 'main' }).key}/<0;1>/*))`, name: 'x' }), 'walletfile.bad_descriptor'],
  ['text that is no wallet', () => importWallet(ctx, { text: 'hello world', name: 'x' }), 'walletfile.unknown_format'],
  ['Caravan file with the wrong key count', () => importWallet(ctx, { text: JSON.stringify({ name: 'c', addressType: 'P2WSH', network: 'testnet', quorum: { requiredSigners: 2, totalSigners: 3 }, extendedPublicKeys: [{ name: 'a', bip32Path: "m/48'/1'/0'/2'", xpub: cos[0]!.account.publicExtendedKey, xfp: cos[0]!.fingerprint }] }) }), 'walletfile.key_count'],
  ['Coldcard file with a broken policy line', () => importWallet(ctx, { text: `Name: c\nPolicy: 2 off 3\nFormat: P2WSH\n\n${cos[0]!.fingerprint}: ${cos[0]!.account.publicExtendedKey}\n`, network: 'test' }), 'walletfile.bad_policy_line'],
  ['PSBT that is not base64', async () => inspectSpend(ctx, 'this is not a psbt!'), 'psbt.invalid_encoding'],
  ['PSBT with bad magic', async () => inspectSpend(ctx, base64.encode(Uint8Array.of(0x70, 0x73, 0x62, 0x75, 0xff, 0x00))), 'psbt.bad_magic'],
  ['truncated PSBT', async () => inspectSpend(ctx, base64.encode(serializePsbt(base).subarray(0, 60))), 'psbt.truncated'],
  ['PSBT with a duplicate key in a map', async () => inspectSpend(ctx, duplicateKeyPsbt()), 'psbt.duplicate_key'],
  ['PSBT of a wallet the store does not know', async () => {
    const other = await openStore({ file: ':memory:' });
    try {
      return await inspectSpend(createContext(other), baseText);
    } finally {
      await other.close();
    }
  }, 'psbt.wallet_not_found'],
  ['signing with a key that is not a cosigner', () => signSpend(ctx, baseText, hdNodeFromSeed(outsider.seed)), 'signing.not_a_cosigner'],
  ['signing a PSBT whose global xpubs are of another network', () => signSpend(ctx, mutate((p) => {
    expect(p.global.xpubs.length).toBeGreaterThan(0);
    p.global = { ...p.global, xpubs: p.global.xpubs.map((x) => ({ ...x, extendedKey: Uint8Array.from([0x04, 0x88, 0xb2, 0x1e, ...x.extendedKey.subarray(4)]) })) };
  }), signer(0)), 'psbt.wrong_network'],
  ['signing a PSBT that asks for SIGHASH_NONE', () => signSpend(ctx, mutate((p) => (p.inputs[0] = { ...p.inputs[0]!, sighashType: 2 })), signer(0)), 'signing.sighash'],
  ['signing when the change output is swapped for a foreign script', () => signSpend(ctx, mutate((p) => {
    const i = p.outputs.findIndex((o) => o.bip32Derivation.length > 0);
    const tx = p.tx.outputs.map((o, j) => (j === i ? { ...o, script: Uint8Array.from([0x00, 0x20, ...new Uint8Array(32).fill(7)]) } : o));
    p.tx = { ...p.tx, outputs: tx };
  }), signer(0)), 'signing.bad_change'],
  ['signing a PSBT whose fee is far above the cap', async () => {
    // Build in a scratch store so the catalogue's own store stays untouched by this setup.
    const scratch = await openStore({ file: ':memory:' });
    try {
      const sctx = createContext(scratch);
      await createWallet(sctx, { name: 'w', threshold: 2, keys: keys.slice(0, 3), network: 'test' });
      const [addr] = await listAddresses(sctx, 'w', { index: 5 });
      const f = fundingTransaction([{ address: addr!.address, amount: 5_000_000n, network: 'test' }], 'bad-input-fee');
      const spend = await createSpend(sctx, 'w', { utxos: [{ txid: f.txid, vout: 0, amount: 5_000_000n, prevTx: f.raw }], payments: [{ address: PAY, amount: 100_000n }], feeRate: 5000 });
      return await signSpend(ctx, psbtToBase64(spend.psbt), signer(0));
    } finally {
      await scratch.close();
    }
  }, 'signing.fee_too_high'],
  ['previous transaction that disagrees with the input amount', () => signSpend(ctx, mutate((p) => {
    const w = p.inputs[0]!.witnessUtxo!;
    p.inputs[0] = { ...p.inputs[0]!, witnessUtxo: { ...w, amount: w.amount + 1n } };
  }), signer(0)), 'outpoint.amount_mismatch'],
  ['a known outpoint claimed with another amount', () => createSpend(ctx, 'w', { utxos: [{ txid: funding.txid, vout: 0, amount: 300_000n, address: fundedAddress }], payments: [{ address: PAY, amount: 1000n }], feeRate: 1 }), 'outpoint.amount_mismatch'],
  ['finalizing with M-1 signatures', async () => finalizeSpend(ctx, psbtToBase64((await signSpend(ctx, baseText, signer(1))).psbt)), 'psbt.missing_signatures'],
  ['combining PSBTs of different transactions', () => Promise.resolve().then(() => combineSpends([baseText, mutate((p) => (p.tx = { ...p.tx, locktime: 5 }))])), 'psbt.mismatch'],
  ['a coin spec with a short txid', () => Promise.resolve().then(() => parseUtxoSpec('abcd:0:1000')), 'utxo.bad_spec'],
  ['a coin spec with a fractional amount', () => Promise.resolve().then(() => parseUtxoSpec(`${'a'.repeat(64)}:0:10.5`)), 'amount.invalid'],
  ['a payment without an amount', () => Promise.resolve().then(() => parsePaymentSpec(PAY)), 'payment.bad_spec'],
  ['a raw previous transaction that is not the named txid', () => createSpend(ctx, 'w', { utxos: [{ txid: 'b'.repeat(64), vout: 0, amount: 200_000n, prevTx: funding.raw }], payments: [{ address: PAY, amount: 1000n }], feeRate: 1 }), 'utxo.prev_tx_mismatch'],
  ['a coin not paid to this wallet', () => createSpend(ctx, 'w', { utxos: [{ txid: 'c'.repeat(64), vout: 0, amount: 10_000n, address: PAY }], payments: [{ address: PAY, amount: 1000n }], feeRate: 1 }), 'utxo.not_in_wallet'],
  ['spending more than the coins hold', () => createSpend(ctx, 'w', { utxos: [{ txid: funding.txid, vout: 0, amount: 200_000n, prevTx: funding.raw }], payments: [{ address: PAY, amount: 300_000n }], feeRate: 1 }), 'coinselect.insufficient_funds'],
  ['paying a mainnet address from a testnet wallet', () => createSpend(ctx, 'w', { utxos: [{ txid: funding.txid, vout: 0, amount: 200_000n, prevTx: funding.raw }], payments: [{ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', amount: 1000n }], feeRate: 1 }), 'address.wrong_network'],
  ['verifying a mistyped address', () => verifyAddress(ctx, 'w', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsy'), 'address.bad_checksum'],
  ['an address index beyond BIP-32 range', () => listAddresses(ctx, 'w', { index: 2 ** 31 }), 'address.bad_index'],
  ['an unknown wallet', () => loadWallet(ctx, 'nope'), 'wallet.not_found'],
];

describe('bad-input catalogue', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
  for (const [name, run, code] of cases) {
    it(`${name} -> ${code}, store unchanged`, async () => {
      const before = await snapshot();
      await expect(run()).rejects.toMatchObject({ code });
      expect(await snapshot()).toBe(before);
    });
  }
  it('the untouched PSBT still parses (the mutations above are the only difference)', () => {
    expect(parsePsbt(baseText).inputs).toHaveLength(1);
  });
});
