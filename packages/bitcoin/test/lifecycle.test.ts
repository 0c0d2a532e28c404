/**
 * End to end, for every script type: wallet from HD seeds, synthetic funding, create, sign in
 * separate copies by M cosigners (each through serialize/parse, as over the wire), combine,
 * finalize, extract; bitcore-lib's interpreter (independent of mofn) must accept every input, and
 * must reject the transaction once one signature byte is changed (negative control).
 */
import { describe, expect, it } from 'vitest';
import { scriptToAddress } from '../src/address.ts';
import {
  combinePsbts,
  createPsbt,
  extractTransaction,
  finalizePsbt,
  inspectPsbt,
  parsePsbt,
  psbtToBase64,
  serializePsbt,
  signPsbt,
  type Psbt,
} from '../src/psbt/index.ts';
import { serializeTransaction, type Transaction } from '../src/tx/transaction.ts';
import type { ScriptType } from '../src/types.ts';
import { verifyWithBitcore, type BitcorePrevout } from '../../../test/support/bitcore.ts';
import { externalScript, fundWallet, makeWallet, RUN_SEED, type Funding, type TestWallet } from './lifecycle.fixtures.ts';

const FEE_RATE = 3.7;

interface Spend {
  readonly wallet: TestWallet;
  readonly funding: Funding;
  readonly unsigned: string;
  readonly psbt: Psbt;
  readonly prevouts: BitcorePrevout[];
}

function makeSpend(type: ScriptType, m: number, n: number, sorted = true): Spend {
  const wallet = makeWallet(type, m, n, { sorted });
  const funding = fundWallet(wallet, [
    { branch: 0, index: 0, amount: 150_000n },
    { branch: 0, index: 7, amount: 90_000n },
    { branch: 1, index: 2, amount: 60_000n },
  ]);
  const { psbt, selected } = createPsbt(wallet.deriver, {
    // Spend everything so every input type is exercised; change to /1/5.
    utxos: funding.utxos,
    payments: [{ address: scriptToAddress(externalScript(), 'test'), amount: 200_000n }],
    feeRate: FEE_RATE,
    changeIndex: 5,
    coinSelection: 'all',
  });
  const prevouts = selected.map((u) => ({ scriptPubKey: funding.outputs[u.vout]!.script, amount: u.amount }));
  return { wallet, funding, psbt, unsigned: psbtToBase64(psbt), prevouts };
}

/** Each signer works on its own copy of the unsigned PSBT and returns base64, as a device would. */
function signCopies(spend: Spend, signers: readonly number[]): string[] {
  return signers.map((k) => {
    const { psbt, signedInputs } = signPsbt(parsePsbt(spend.unsigned), spend.wallet.deriver, { root: spend.wallet.masters[k]! });
    expect(signedInputs).toEqual(psbt.inputs.map((_, i) => i));
    return psbtToBase64(psbt);
  });
}

/** Changes one byte inside the first signature of input 0 (r of the DER signature, or of the Schnorr signature). */
function tamperFirstSignature(tx: Transaction, type: ScriptType): Transaction {
  const input = tx.inputs[0]!;
  if (type === 'sh') {
    // scriptSig: OP_0 <push sig1> ... ; byte 2 starts the DER signature, +10 is inside r.
    const scriptSig = input.scriptSig.slice();
    scriptSig[12] = scriptSig[12]! ^ 0x01;
    return { ...tx, inputs: [{ ...input, scriptSig }, ...tx.inputs.slice(1)] };
  }
  const witness = input.witness.map((w) => w.slice());
  const at = type === 'tr' ? witness.findIndex((w) => w.length === 64) : 1;
  witness[at]![10] = witness[at]![10]! ^ 0x01;
  return { ...tx, inputs: [{ ...input, witness }, ...tx.inputs.slice(1)] };
}

const MATRIX: readonly (readonly [ScriptType, number, number])[] = [
  ['sh', 2, 3],
  ['sh', 3, 5],
  ['sh', 15, 15],
  ['wsh', 2, 3],
  ['wsh', 3, 5],
  ['wsh', 20, 20],
  ['sh-wsh', 2, 3],
  ['sh-wsh', 3, 5],
  ['sh-wsh', 20, 20],
  ['tr', 2, 3],
  ['tr', 3, 5],
  ['tr', 30, 30],
];

describe(`lifecycle (seed ${RUN_SEED}; MOFN_TEST_SEED reproduces)`, () => {
  it.each(MATRIX)('%s %i-of-%i: create, sign by M copies, combine, finalize, extract; bitcore accepts; tampering is caught', (type, m, n) => {
    const spend = makeSpend(type, m, n);
    // The last M cosigners sign (not always the first ones).
    const signers = Array.from({ length: m }, (_, k) => n - m + k);
    const copies = signCopies(spend, signers);
    const combined = combinePsbts(copies.map((c) => parsePsbt(c)));

    const review = inspectPsbt(combined, spend.wallet.deriver);
    expect(review.readyToFinalize).toBe(true);
    expect(review.inputs.every((i) => i.wallet !== undefined && i.signatures === m)).toBe(true);
    expect(review.inputs[0]!.signedBy).toEqual(signers);
    expect(review.outputs.map((o) => o.kind)).toEqual(['external', 'change']);

    const finalized = finalizePsbt(combined, spend.wallet.deriver);
    const tx = extractTransaction(finalized);
    const verdicts = verifyWithBitcore(tx.hex, spend.prevouts);
    expect(verdicts).toEqual(spend.prevouts.map((_, index) => ({ index, ok: true })));

    // The fee rate paid is at least the one asked for (the size model never under-estimates), and
    // the estimate is tight: exact for Schnorr; for ECDSA a low-S DER signature is 72 bytes with its
    // sighash byte at most, 71 half the time, 70 or less when r or s has leading zero bytes (~1%):
    // allow 3 bytes per signature (a quarter of that in witness data).
    expect(Number(review.fee) / tx.vsize).toBeGreaterThanOrEqual(FEE_RATE);
    expect(review.vsize).toBeGreaterThanOrEqual(tx.vsize);
    const sigs = m * spend.prevouts.length;
    expect(review.vsize - tx.vsize).toBeLessThanOrEqual(type === 'tr' ? 0 : Math.ceil((3 * sigs) / (type === 'sh' ? 1 : 4)) + 1);

    const tampered = verifyWithBitcore(Buffer.from(serializeTransaction(tamperFirstSignature(tx.transaction, type))).toString('hex'), spend.prevouts);
    expect(tampered[0]!.ok).toBe(false);
    expect(tampered[0]!.error).toBeTruthy();
    expect(tampered.slice(1).every((v) => v.ok)).toBe(true);
  });

  it.each([['wsh'], ['sh'], ['sh-wsh'], ['tr']] as const)('%s 2-of-3 with unsorted keys (multi / multi_a in cosigner order)', (type) => {
    const spend = makeSpend(type, 2, 3, false);
    const combined = combinePsbts(signCopies(spend, [2, 0]).map((c) => parsePsbt(c)));
    const tx = extractTransaction(finalizePsbt(combined, spend.wallet.deriver));
    expect(verifyWithBitcore(tx.hex, spend.prevouts).every((v) => v.ok)).toBe(true);
  });

  it('every 3-subset of a 3-of-5 wsh wallet finalizes to a valid transaction', () => {
    const spend = makeSpend('wsh', 3, 5);
    const copies = signCopies(spend, [0, 1, 2, 3, 4]).map((c) => parsePsbt(c));
    const txids = new Set<string>();
    let subsets = 0;
    for (let a = 0; a < 5; a++) {
      for (let b = a + 1; b < 5; b++) {
        for (let c = b + 1; c < 5; c++) {
          const combined = combinePsbts([copies[a]!, copies[b]!, copies[c]!]);
          const tx = extractTransaction(finalizePsbt(combined, spend.wallet.deriver));
          expect(verifyWithBitcore(tx.hex, spend.prevouts).every((v) => v.ok), `cosigners ${String([a, b, c])}`).toBe(true);
          txids.add(tx.txid);
          subsets++;
        }
      }
    }
    expect(subsets).toBe(10);
    // Segwit: the txid does not cover signatures, so every subset yields the same transaction id.
    expect(txids.size).toBe(1);
  });

  it('combining all five signatures still finalizes with exactly M of them, in script order', () => {
    const spend = makeSpend('wsh', 3, 5);
    const combined = combinePsbts(signCopies(spend, [4, 3, 2, 1, 0]).map((c) => parsePsbt(c)));
    const tx = extractTransaction(finalizePsbt(combined, spend.wallet.deriver));
    for (const input of tx.transaction.inputs) expect(input.witness.length).toBe(1 + 3 + 1);
    expect(verifyWithBitcore(tx.hex, spend.prevouts).every((v) => v.ok)).toBe(true);
  });

  it('nonWitnessUtxo is the real previous transaction for segwit v0 and legacy inputs, absent for taproot', () => {
    for (const type of ['sh', 'wsh', 'sh-wsh', 'tr'] as const) {
      const spend = makeSpend(type, 2, 3);
      for (const input of spend.psbt.inputs) {
        if (type === 'tr') expect(input.nonWitnessUtxo).toBeUndefined();
        else expect(Buffer.from(input.nonWitnessUtxo!).equals(Buffer.from(spend.funding.prevTx))).toBe(true);
        if (type === 'sh') expect(input.witnessUtxo).toBeUndefined();
        else expect(input.witnessUtxo).toBeDefined();
      }
      // Round trip through the codec, as a cosigner receives it.
      expect(Buffer.from(serializePsbt(parsePsbt(spend.unsigned))).toString('base64')).toBe(spend.unsigned);
    }
  });
});
