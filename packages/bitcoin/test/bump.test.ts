/**
 * RBF and CPFP for a broadcast wallet transaction: the bumps are signed again by M cosigners,
 * finalized, checked input by input by bitcore-lib's interpreter (with a tampered-signature
 * negative control), judged against the BIP-125 inequalities with vsizes measured by bitcoinjs-lib,
 * and submitted to the chain model, where the replacement evicts the original.
 */
import { describe, expect, it } from 'vitest';
import { createRbfPsbt, createCpfpPsbt, INCREMENTAL_RELAY_FEE_RATE } from '../src/psbt/bump.ts';
import { combinePsbts, createPsbt, extractTransaction, finalizePsbt, signPsbt, type ExtractedTransaction, type Psbt } from '../src/psbt/index.ts';
import { serializeTransaction, type Transaction } from '../src/tx/transaction.ts';
import { toHex } from '../src/tx/bytes.ts';
import type { WalletUtxo } from '../src/types.ts';
import { verifyWithBitcore } from '../../../test/support/bitcore.ts';
import { ChainModel, parseModelTx, type ModelTx } from '../../../test/support/chain/model.ts';
import { codeOf } from '../../../test/support/errors.ts';
import { externalAddress, fundAddresses, makeWallet, type TestWallet } from './backend/fixtures.ts';

function signWith(wallet: TestWallet, psbt: Psbt, cosigners: readonly number[]): ExtractedTransaction {
  const copies = cosigners.map((c) => signPsbt(psbt, wallet.deriver, { root: wallet.masters[c]! }).psbt);
  return extractTransaction(finalizePsbt(combinePsbts(copies), wallet.deriver));
}

/** bitcore's verdicts for a signed transaction whose inputs spend outputs the model knows. */
function bitcoreVerdicts(model: ChainModel, tx: ExtractedTransaction): boolean[] {
  const prevouts = tx.transaction.inputs.map((i) => {
    const o = model.tx(i.txid)!.outputs[i.vout]!;
    return { scriptPubKey: o.script, amount: o.amount };
  });
  return verifyWithBitcore(tx.hex, prevouts).map((v) => v.ok);
}

/** The same transaction with one byte of the first signature of input 0 flipped. */
function tampered(tx: Transaction): string {
  const input = tx.inputs[0]!;
  const sig = input.witness[1]!.slice();
  sig[10]! ^= 0x01;
  const witness = [input.witness[0]!, sig, ...input.witness.slice(2)];
  return toHex(serializeTransaction({ ...tx, inputs: [{ ...input, witness }, ...tx.inputs.slice(1)] }));
}

/** Fee of a model transaction from its parents' outputs (computed outside mofn). */
function modelFee(model: ChainModel, tx: ModelTx): bigint {
  const inputs = tx.inputs.reduce((s, i) => s + model.tx(i.txid)!.outputs[i.vout]!.amount, 0n);
  return inputs - tx.outputs.reduce((s, o) => s + o.amount, 0n);
}

function setup(type: 'wsh' | 'sh-wsh' = 'wsh') {
  const wallet = makeWallet(type, 2, 3);
  const model = new ChainModel();
  const funding = fundAddresses(wallet, [
    { branch: 0, index: 0, amount: 100_000n },
    { branch: 0, index: 1, amount: 50_000n },
  ]);
  model.fund(funding.raw);
  model.mine();
  const to = externalAddress();
  const { psbt } = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: to, amount: 60_000n }], feeRate: 2, changeIndex: 0, coinSelection: 'all' });
  const original = signWith(wallet, psbt, [0, 1]);
  expect(model.submit(original.bytes).allowed).toBe(true);
  return { wallet, model, funding, original };
}

describe('RBF (BIP-125)', () => {
  for (const type of ['wsh', 'sh-wsh'] as const) {
    it(`${type}: replacement keeps inputs and payments, reduces change, meets the BIP-125 inequalities, passes bitcore and replaces the original`, () => {
      const { wallet, model, funding, original } = setup(type);
      const bump = createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: 12 });
      const replacement = signWith(wallet, bump.psbt, [1, 2]);

      // Same inputs in the same order; same payment; change reduced by exactly the extra fee.
      expect(replacement.transaction.inputs.map((i) => `${i.txid}:${i.vout}`)).toEqual(original.transaction.inputs.map((i) => `${i.txid}:${i.vout}`));
      expect(replacement.transaction.inputs.every((i) => i.sequence < 0xfffffffe)).toBe(true);
      expect(toHex(replacement.transaction.outputs[0]!.script)).toBe(toHex(original.transaction.outputs[0]!.script));
      expect(replacement.transaction.outputs[0]!.amount).toBe(60_000n);
      const oldChange = original.transaction.outputs[1]!.amount;
      const newChange = replacement.transaction.outputs[1]!.amount;
      expect(toHex(replacement.transaction.outputs[1]!.script)).toBe(toHex(original.transaction.outputs[1]!.script));

      // The inequalities, on sizes and fees measured by bitcoinjs-lib.
      const o = parseModelTx(original.bytes);
      const r = parseModelTx(replacement.bytes);
      const oFee = modelFee(model, o);
      const rFee = modelFee(model, r);
      expect(rFee).toBe(bump.fee);
      expect(oFee).toBe(bump.originalFee);
      expect(oldChange - newChange).toBe(rFee - oFee);
      expect(rFee).toBeGreaterThan(oFee); // rule 3
      expect(Number(rFee) / r.vsize).toBeGreaterThan(Number(oFee) / o.vsize); // higher fee rate
      expect(rFee - oFee).toBeGreaterThanOrEqual(BigInt(Math.ceil(INCREMENTAL_RELAY_FEE_RATE * r.vsize))); // rule 4
      expect(Number(rFee) / r.vsize).toBeGreaterThanOrEqual(12);
      expect(r.vsize).toBeLessThanOrEqual(bump.vsize);

      // bitcore's interpreter accepts every input; a flipped signature byte fails.
      expect(bitcoreVerdicts(model, replacement)).toEqual([true, true]);
      const prevouts = replacement.transaction.inputs.map((i) => ({ scriptPubKey: model.tx(i.txid)!.outputs[i.vout]!.script, amount: model.tx(i.txid)!.outputs[i.vout]!.amount }));
      expect(verifyWithBitcore(tampered(replacement.transaction), prevouts)[0]!.ok).toBe(false);

      // The model: a conflict without replacement, accepted with it, and the original is gone.
      expect(model.testAccept(replacement.bytes)).toMatchObject({ allowed: false, reason: 'txn-mempool-conflict' });
      expect(model.testAccept(replacement.bytes, { allowReplacement: true }).allowed).toBe(true);
      expect(model.submit(replacement.bytes).allowed).toBe(true);
      expect(model.state(original.txid).state).toBe('unknown');
      expect(model.state(replacement.txid).state).toBe('mempool');
    });
  }

  it('refuses a rate not above the original, foreign inputs, missing parents, and an unsigned original', () => {
    const { wallet, funding, original } = setup();
    const rate = Number(createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: 5 }).originalFee) / original.vsize;
    expect(codeOf(() => createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: rate }))).toBe('bump.fee_rate_too_low');
    expect(codeOf(() => createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [], feeRate: 10 }))).toBe('bump.missing_prev_tx');
    const other = makeWallet('wsh', 2, 3);
    expect(codeOf(() => createRbfPsbt(other.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: 10 }))).toBe('bump.foreign_input');
    const unsigned = { ...original.transaction, inputs: original.transaction.inputs.map((i) => ({ ...i, witness: [] })) };
    expect(codeOf(() => createRbfPsbt(wallet.deriver, { tx: serializeTransaction(unsigned), prevTxs: [funding.raw], feeRate: 10 }))).toBe('bump.unsigned');
  });

  it('drops change that would be dust into the fee, and refuses when even all of it is not enough', () => {
    const wallet = makeWallet('wsh', 2, 3);
    const model = new ChainModel();
    const funding = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 62_000n }]);
    model.fund(funding.raw);
    const utxos: WalletUtxo[] = funding.utxos;
    const { psbt } = createPsbt(wallet.deriver, { utxos, payments: [{ address: externalAddress(), amount: 60_000n }], feeRate: 1, changeIndex: 0, coinSelection: 'all' });
    const original = signWith(wallet, psbt, [0, 2]);
    expect(original.transaction.outputs).toHaveLength(2);
    expect(model.submit(original.bytes).allowed).toBe(true);
    const change = original.transaction.outputs[1]!.amount;
    // A rate whose fee eats most of the change: what is left is dust and goes to the fee too.
    const bump = createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: Number(change) / original.vsize });
    expect(bump.change).toBeUndefined();
    const replacement = signWith(wallet, bump.psbt, [0, 1]);
    expect(replacement.transaction.outputs).toHaveLength(1);
    expect(bump.fee).toBe(62_000n - 60_000n);
    expect(bitcoreVerdicts(model, replacement)).toEqual([true]);
    expect(model.submit(replacement.bytes).allowed).toBe(true);
    expect(codeOf(() => createRbfPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], feeRate: 500 }))).toBe('bump.insufficient_funds');
  });
});

describe('CPFP', () => {
  it('a child of the change output lifts the package to the target rate; it passes bitcore and the model accepts it', () => {
    const { wallet, model, funding, original } = setup();
    const cpfp = createCpfpPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], targetFeeRate: 10, changeIndex: 1 });
    const child = signWith(wallet, cpfp.psbt, [0, 2]);
    expect(child.transaction.inputs).toHaveLength(1);
    expect(child.transaction.inputs[0]).toMatchObject({ txid: original.txid, vout: 1 });
    expect(child.transaction.outputs[0]!.script).toEqual(wallet.deriver.derive(1, 1).scriptPubKey);
    expect(bitcoreVerdicts(model, child)).toEqual([true]);
    const prevouts = [{ scriptPubKey: original.transaction.outputs[1]!.script, amount: original.transaction.outputs[1]!.amount }];
    expect(verifyWithBitcore(tampered(child.transaction), prevouts)[0]!.ok).toBe(false);

    const p = parseModelTx(original.bytes);
    const c = parseModelTx(child.bytes);
    const pFee = modelFee(model, p);
    expect(model.submit(child.bytes).allowed).toBe(true);
    const cFee = modelFee(model, c);
    expect(cFee).toBe(cpfp.fee);
    expect(Number(pFee) / p.vsize).toBeLessThan(10);
    expect(Number(pFee + cFee) / (p.vsize + c.vsize)).toBeGreaterThanOrEqual(10);
    expect(Number(cFee) / c.vsize).toBeGreaterThanOrEqual(1);
    expect(model.state(child.txid).state).toBe('mempool');
  });

  it('refuses when the parent already pays the target, or when the output cannot pay the child', () => {
    const { wallet, funding, original } = setup();
    expect(codeOf(() => createCpfpPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], targetFeeRate: 1, changeIndex: 1 }))).toBe('bump.not_needed');
    expect(codeOf(() => createCpfpPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], targetFeeRate: 5000, changeIndex: 1 }))).toBe('bump.insufficient_funds');
    expect(codeOf(() => createCpfpPsbt(wallet.deriver, { tx: original.bytes, prevTxs: [funding.raw], targetFeeRate: 30, changeIndex: 1, vout: 0 }))).toBe('bump.foreign_output');
  });
});
