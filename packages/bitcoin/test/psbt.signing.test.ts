/**
 * The signer's refusals (each one), what it signs and with which key, and that it never trusts the
 * PSBT's own scripts.
 */
import { SigningRefusedError } from '@mofn/core';
import { describe, expect, it } from 'vitest';
import { scriptToAddress } from '../src/address.ts';
import { defaultAccountPath, derivePrivatePath, hdNodeFromSeed, masterFingerprint } from '../src/keys/index.ts';
import { createPsbt, finalizePsbt, parsePsbt, serializePsbt, signPsbt, type Psbt, type PsbtInput, type PsbtOutput } from '../src/psbt/index.ts';
import { parseTransaction, transactionId } from '../src/tx/transaction.ts';
import type { ScriptType } from '../src/types.ts';
import { externalScript, fundWallet, makeWallet, testBytes, type TestWallet } from './lifecycle.fixtures.ts';

function setup(type: ScriptType = 'wsh', payment = 200_000n, feeRate = 2) {
  const wallet = makeWallet(type, 2, 3);
  const funding = fundWallet(wallet, [
    { branch: 0, index: 0, amount: 150_000n },
    { branch: 0, index: 1, amount: 100_000n },
  ]);
  const created = createPsbt(wallet.deriver, {
    utxos: funding.utxos,
    payments: [{ address: scriptToAddress(externalScript(), 'test'), amount: payment }],
    feeRate,
    changeIndex: 0,
    coinSelection: 'all',
  });
  return { wallet, funding, created, psbt: created.psbt };
}

function withInput(psbt: Psbt, i: number, change: (input: PsbtInput) => PsbtInput): Psbt {
  return { ...psbt, inputs: psbt.inputs.map((x, k) => (k === i ? change(x) : x)) };
}

function withOutput(psbt: Psbt, i: number, change: (output: PsbtOutput) => PsbtOutput): Psbt {
  return { ...psbt, outputs: psbt.outputs.map((x, k) => (k === i ? change(x) : x)) };
}

/** A copy without the given optional fields. */
function omit<T extends object>(o: T, ...keys: (keyof T)[]): T {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k as keyof T))) as T;
}

function refusal(fn: () => unknown): SigningRefusedError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SigningRefusedError);
    return e as SigningRefusedError;
  }
  throw new Error('expected a SigningRefusedError');
}

const sign = (w: TestWallet, psbt: Psbt, k = 0, options = {}) => signPsbt(psbt, w.deriver, { root: w.masters[k]! }, options);

describe('signPsbt', () => {
  it('signs every wallet input with the cosigner key, deterministically (RFC 6979), and leaves the input untouched', () => {
    const { wallet, psbt } = setup();
    const before = serializePsbt(psbt);
    const a = sign(wallet, psbt, 1);
    const b = sign(wallet, psbt, 1);
    expect(serializePsbt(psbt)).toEqual(before);
    expect(a.signedInputs).toEqual([0, 1]);
    expect(serializePsbt(a.psbt)).toEqual(serializePsbt(b.psbt));
    const addr = wallet.deriver.derive(0, 0);
    const mine = addr.keys.find((k) => k.cosigner === 1)!;
    expect(a.psbt.inputs[0]!.partialSigs.map((s) => Buffer.from(s.pubkey).toString('hex'))).toEqual([Buffer.from(mine.publicKey).toString('hex')]);
    // Signing again replaces, never duplicates.
    expect(sign(wallet, a.psbt, 1).psbt.inputs[0]!.partialSigs).toHaveLength(1);
  });

  it('accepts account-level keys with their origin instead of the master key, with the same result', () => {
    const { wallet, psbt } = setup('tr');
    const master = wallet.masters[2]!;
    const path = defaultAccountPath('tr', 'test');
    const byAccount = signPsbt(psbt, wallet.deriver, { keys: [{ node: derivePrivatePath(master, path), origin: { fingerprint: masterFingerprint(master), path } }] });
    expect(serializePsbt(byAccount.psbt)).toEqual(serializePsbt(sign(wallet, psbt, 2).psbt));
    expect(byAccount.psbt.inputs[0]!.tapScriptSigs[0]!.signature).toHaveLength(64);
  });

  it('refuses a key that is not a cosigner (signing.not_a_cosigner)', () => {
    const { wallet, psbt } = setup();
    const stranger = hdNodeFromSeed(testBytes(32));
    expect(refusal(() => signPsbt(psbt, wallet.deriver, { root: stranger })).code).toBe('signing.not_a_cosigner');
    // Right fingerprint, wrong account key (a fingerprint is only a label).
    const path = defaultAccountPath('wsh', 'test');
    const wrongAccount = { node: derivePrivatePath(stranger, path), origin: { fingerprint: wallet.fingerprints[0]!, path } };
    expect(refusal(() => signPsbt(psbt, wallet.deriver, { keys: [wrongAccount] })).code).toBe('signing.not_a_cosigner');
  });

  it('refuses fees above each cap (signing.fee_too_high)', () => {
    // 150 sat/vB on a 20,000-sat payment: about 40,000 sats of fee, far above 10% of what is sent.
    const small = setup('wsh', 20_000n, 150);
    const e1 = refusal(() => sign(small.wallet, small.psbt));
    expect(e1.code).toBe('signing.fee_too_high');
    expect(e1.details?.['cap']).toBe('percentOfSent');
    const { wallet, psbt, created } = setup('wsh', 200_000n, 5);
    const e2 = refusal(() => sign(wallet, psbt, 0, { feeCap: { absolute: created.fee - 1n } }));
    expect(e2.details?.['cap']).toBe('absolute');
    const e3 = refusal(() => sign(wallet, psbt, 0, { feeCap: { feeRate: 4 } }));
    expect(e3.details?.['cap']).toBe('feeRate');
    // Exactly at the caps is fine.
    expect(sign(wallet, psbt, 0, { feeCap: { absolute: created.fee, feeRate: 5 } }).signedInputs).toEqual([0, 1]);
  });

  it('refuses a change output that does not derive from the wallet (signing.bad_change)', () => {
    const { wallet, psbt } = setup();
    const other = makeWallet('wsh', 2, 3);
    // The output claims our derivation paths but pays another wallet's script.
    const swapped: Psbt = { ...psbt, tx: { ...psbt.tx, outputs: psbt.tx.outputs.map((o, i) => (i === 1 ? { ...o, script: other.deriver.derive(1, 0).scriptPubKey } : o)) } };
    expect(refusal(() => sign(wallet, swapped)).code).toBe('signing.bad_change');
    // The derivation claims a different index than the script's.
    const wrongIndex = withOutput(psbt, 1, (o) => ({ ...o, bip32Derivation: o.bip32Derivation.map((d) => ({ ...d, path: [...d.path.slice(0, -1), 9] })) }));
    expect(refusal(() => sign(wallet, wrongIndex)).code).toBe('signing.bad_change');
    // A changed witnessScript on the change output.
    const wrongScript = withOutput(psbt, 1, (o) => ({ ...o, witnessScript: other.deriver.derive(1, 0).witnessScript! }));
    expect(refusal(() => sign(wallet, wrongScript)).code).toBe('signing.bad_change');
  });

  it('refuses any sighash but ALL (and DEFAULT for taproot) (signing.sighash)', () => {
    const { wallet, psbt } = setup();
    for (const t of [0x02, 0x03, 0x81, 0x82, 0x83, 0x00]) {
      expect(refusal(() => sign(wallet, withInput(psbt, 1, (x) => ({ ...x, sighashType: t })))).code).toBe('signing.sighash');
    }
    expect(sign(wallet, withInput(psbt, 1, (x) => ({ ...x, sighashType: 1 }))).signedInputs).toEqual([0, 1]);
    const tr = setup('tr');
    expect(refusal(() => sign(tr.wallet, withInput(tr.psbt, 0, (x) => ({ ...x, sighashType: 0x81 })))).code).toBe('signing.sighash');
    // SIGHASH_ALL spelled out: a 65-byte signature ending in 0x01 that still finalizes.
    const explicit = withInput(tr.psbt, 0, (x) => ({ ...x, sighashType: 1 }));
    const s0 = sign(tr.wallet, explicit, 0).psbt;
    const s1 = sign(tr.wallet, s0, 1).psbt;
    expect(s1.inputs[0]!.tapScriptSigs[0]!.signature).toHaveLength(65);
    expect(finalizePsbt(s1).inputs[0]!.finalScriptWitness).toBeDefined();
  });

  it('refuses a nonWitnessUtxo that is not the spent transaction, or disagrees with witnessUtxo (signing.prev_tx_mismatch)', () => {
    const { wallet, psbt, funding } = setup();
    const otherTx = fundWallet(wallet, [{ branch: 0, index: 0, amount: 150_000n }]).prevTx;
    expect(refusal(() => sign(wallet, withInput(psbt, 0, (x) => ({ ...x, nonWitnessUtxo: otherTx })))).code).toBe('signing.prev_tx_mismatch');
    const lying = withInput(psbt, 0, (x) => ({ ...x, witnessUtxo: { ...x.witnessUtxo!, amount: x.witnessUtxo!.amount + 1n } }));
    expect(refusal(() => sign(wallet, lying)).code).toBe('signing.prev_tx_mismatch');
    expect(transactionId(parseTransaction(funding.prevTx))).toBe(psbt.tx.inputs[0]!.txid);
  });

  it('refuses an input that claims our derivation but whose scripts are not the derived ones (signing.input_mismatch)', () => {
    const { wallet, psbt } = setup();
    const other = makeWallet('wsh', 2, 3);
    const foreignScript = withInput(psbt, 0, (x) => ({ ...x, witnessScript: other.deriver.derive(0, 0).witnessScript! }));
    expect(refusal(() => sign(wallet, foreignScript)).code).toBe('signing.input_mismatch');
    const wrongPath = withInput(psbt, 1, (x) => ({ ...x, bip32Derivation: x.bip32Derivation.map((d) => ({ ...d, path: [...d.path.slice(0, -1), 0] })) }));
    expect(refusal(() => sign(wallet, wrongPath)).code).toBe('signing.input_mismatch');
  });

  it('refuses when an amount is unknown (signing.missing_utxo) or the outputs exceed the inputs (signing.negative_fee)', () => {
    const { wallet, psbt } = setup();
    const blind = withInput(psbt, 1, (x) => omit(x, 'witnessUtxo', 'nonWitnessUtxo'));
    expect(refusal(() => sign(wallet, blind)).code).toBe('signing.missing_utxo');
    const greedy: Psbt = { ...psbt, tx: { ...psbt.tx, outputs: psbt.tx.outputs.map((o, i) => (i === 0 ? { ...o, amount: o.amount + 1_000_000n } : o)) } };
    expect(refusal(() => sign(wallet, greedy)).code).toBe('signing.negative_fee');
    // A legacy P2SH input must come with its previous transaction (its sighash does not sign the amount).
    const sh = setup('sh');
    const noPrevTx = withInput(sh.psbt, 0, (x) => omit(x, 'nonWitnessUtxo'));
    expect(refusal(() => sign(sh.wallet, noPrevTx)).code).toBe('signing.missing_utxo');
  });

  it('signs an input only when the PSBT names the signer\'s own key path for it', () => {
    const { wallet, psbt } = setup();
    const fp = wallet.fingerprints[0]!;
    const withoutMine = withInput(psbt, 1, (x) => ({ ...x, bip32Derivation: x.bip32Derivation.filter((d) => d.fingerprint !== fp) }));
    expect(sign(wallet, withoutMine, 0).signedInputs).toEqual([0]);
    expect(sign(wallet, withoutMine, 1).signedInputs).toEqual([0, 1]);
  });

  it('leaves inputs that are not the wallet\'s unsigned', () => {
    const { wallet, psbt } = setup();
    const clean: PsbtInput = { ...omit(psbt.inputs[0]!, 'witnessScript', 'nonWitnessUtxo'), bip32Derivation: [], witnessUtxo: { amount: 1_000n, script: externalScript() } };
    const mixed: Psbt = {
      ...psbt,
      tx: { ...psbt.tx, inputs: [...psbt.tx.inputs, { txid: 'ab'.repeat(32), vout: 3, sequence: 0xfffffffd }] },
      inputs: [...psbt.inputs, clean],
    };
    const { psbt: signed, signedInputs } = sign(wallet, parsePsbt(serializePsbt(mixed)));
    expect(signedInputs).toEqual([0, 1]);
    expect(signed.inputs[2]!.partialSigs).toHaveLength(0);
  });
});

