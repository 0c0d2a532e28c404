/**
 * PSBT roles on mofn wallets: creation (coin selection, change, UTXO checks), review (inspect),
 * combining, finalizing and extracting, and the codec's input forms.
 */
import { InsufficientFundsError, InvalidInputError, InvalidPsbtError, NotReadyError } from '@mofn/core';
import { base64 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { scriptToAddress } from '../src/address.ts';
import {
  combinePsbts,
  createPsbt,
  createPsbtFromOutputs,
  extractTransaction,
  finalizePsbt,
  inspectPsbt,
  decodePsbtBytes,
  parsePsbt,
  psbtToBase64,
  psbtToHex,
  serializePsbt,
  signPsbt,
  type Psbt,
} from '../src/psbt/index.ts';
import { parseTransaction, serializeTransaction, transactionId } from '../src/tx/transaction.ts';
import { estimateMultisigVsize, feeForVsize } from '../src/tx/vsize.ts';
import { spendShapeOf } from '../src/psbt/wallet.ts';
import { externalScript, fundWallet, makeWallet, type TestWallet } from './lifecycle.fixtures.ts';

const payee = (): string => scriptToAddress(externalScript(), 'test');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  throw new Error('expected an error');
}

function signed(w: TestWallet, psbt: Psbt, signers: readonly number[]): Psbt {
  return combinePsbts(signers.map((k) => signPsbt(psbt, w.deriver, { root: w.masters[k]! }).psbt));
}

describe('createPsbt', () => {
  const wallet = makeWallet('wsh', 2, 3);
  const funding = fundWallet(wallet, [
    { branch: 0, index: 0, amount: 40_000n },
    { branch: 0, index: 1, amount: 75_000n },
    { branch: 1, index: 0, amount: 120_000n },
    { branch: 0, index: 4, amount: 9_000n },
  ]);

  it('selects coins, pays, adds change with its derivation, signals RBF, version 2', () => {
    const r = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 100_000n }], feeRate: 1.5, changeIndex: 3 });
    const { psbt } = r;
    expect(psbt.tx.version).toBe(2);
    expect(psbt.tx.locktime).toBe(0);
    expect(psbt.tx.inputs.every((i) => i.sequence === 0xfffffffd)).toBe(true);
    const totalIn = r.selected.reduce((s, u) => s + u.amount, 0n);
    expect(totalIn).toBe(100_000n + r.fee + (r.change?.amount ?? 0n));
    expect(r.change?.index).toBe(3);
    expect(psbt.tx.outputs[1]!.script).toEqual(wallet.deriver.derive(1, 3).scriptPubKey);
    expect(psbt.outputs[1]!.witnessScript).toEqual(wallet.deriver.derive(1, 3).witnessScript);
    expect(psbt.outputs[1]!.bip32Derivation).toHaveLength(3);
    expect(psbt.inputs[0]!.bip32Derivation.map((d) => d.fingerprint).sort()).toEqual([...wallet.fingerprints].sort());
    expect(psbt.global.xpubs).toHaveLength(3);
    // Fee covers the worst-case size at the requested (fractional) rate.
    expect(Number(r.fee)).toBeGreaterThanOrEqual(1.5 * r.vsize);
    expect(Number(r.fee)).toBeLessThan(1.5 * r.vsize + 1);
  });

  const p2wpkhLength = 22;
  const shape = spendShapeOf(wallet.deriver.derive(0, 0), wallet.policy);

  it('finds a changeless selection when one fits (branch and bound)', () => {
    // 40,000 + 9,000 pays the payment and the fee at 1 sat/vB with 50 sats left: no change needed.
    const fee = feeForVsize(estimateMultisigVsize([shape, shape], [p2wpkhLength]), 1);
    const payment = 49_000n - fee - 50n;
    const r = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: payment }], feeRate: 1, changeIndex: 0 });
    expect(r.change).toBeUndefined();
    expect(r.selected.map((u) => u.amount)).toEqual([40_000n, 9_000n]);
    expect(r.psbt.tx.outputs).toHaveLength(1);
    expect(r.fee).toBe(fee + 50n);
  });

  it('drops change below the dust limit into the fee', () => {
    const all = funding.utxos.reduce((s, u) => s + u.amount, 0n);
    const fee = feeForVsize(estimateMultisigVsize([shape, shape, shape, shape], [p2wpkhLength]), 1);
    // 200 sats left before paying for a change output: less than the 330-sat P2WSH dust limit.
    const r = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: all - fee - 200n }], feeRate: 1, changeIndex: 0, coinSelection: 'all' });
    expect(r.change).toBeUndefined();
    expect(r.fee).toBe(fee + 200n);
    const withChange = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: all - fee - 2_000n }], feeRate: 1, changeIndex: 0, coinSelection: 'all' });
    expect(withChange.change!.amount).toBeGreaterThanOrEqual(330n);
  });

  it('consolidates every UTXO into change when there is no payment', () => {
    const r = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [], feeRate: 1, changeIndex: 9, coinSelection: 'all' });
    expect(r.psbt.tx.outputs).toHaveLength(1);
    expect(r.change!.amount + r.fee).toBe(funding.utxos.reduce((s, u) => s + u.amount, 0n));
    const dust = fundWallet(wallet, [{ branch: 0, index: 0, amount: 600n }]);
    expect(code(() => createPsbt(wallet.deriver, { utxos: dust.utxos, payments: [], feeRate: 2, changeIndex: 9, coinSelection: 'all' }))).toBe('coinselect.insufficient_funds');
  });

  it('rbf: false uses final sequences, or 0xfffffffe with a locktime', () => {
    const base = { utxos: funding.utxos, payments: [{ address: payee(), amount: 10_000n }], feeRate: 1, changeIndex: 0 } as const;
    expect(createPsbt(wallet.deriver, { ...base, rbf: false }).psbt.tx.inputs[0]!.sequence).toBe(0xffffffff);
    const locked = createPsbt(wallet.deriver, { ...base, rbf: false, locktime: 800_000 }).psbt.tx;
    expect(locked.locktime).toBe(800_000);
    expect(locked.inputs[0]!.sequence).toBe(0xfffffffe);
  });

  it('rejects what cannot or must not be built', () => {
    const base = { utxos: funding.utxos, feeRate: 1, changeIndex: 0 } as const;
    const err = (() => {
      try {
        createPsbt(wallet.deriver, { ...base, payments: [{ address: payee(), amount: 10_000_000n }] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InsufficientFundsError);
    expect((err as InsufficientFundsError).code).toBe('coinselect.insufficient_funds');
    expect(code(() => createPsbt(wallet.deriver, { ...base, payments: [{ address: payee(), amount: 293n }] }))).toBe('payment.dust');
    expect(code(() => createPsbt(wallet.deriver, { ...base, payments: [{ address: payee(), amount: 0n }] }))).toBe('payment.invalid_amount');
    expect(code(() => createPsbt(wallet.deriver, { ...base, feeRate: 0, payments: [{ address: payee(), amount: 1000n }] }))).toBe('fee.invalid_rate');
    expect(code(() => createPsbt(wallet.deriver, { ...base, utxos: [funding.utxos[0]!, funding.utxos[0]!], payments: [{ address: payee(), amount: 1000n }] }))).toBe('utxo.duplicate');
    expect(code(() => createPsbt(wallet.deriver, { ...base, payments: [] }))).toBe('psbt.no_payments');
    expect(code(() => createPsbt(wallet.deriver, { ...base, payments: [{ address: 'bc1qnotatestnetaddress', amount: 1000n }] }))).toMatch(/^address\./);
    expect(code(() => createPsbt(wallet.deriver, { ...base, payments: [{ address: payee(), amount: 1000n }], maxWeight: 500 }))).toBe('coinselect.too_large');
  });

  it('checks every previous transaction against its UTXO (psbt.prev_tx_mismatch)', () => {
    const [u] = funding.utxos;
    const pay = { payments: [{ address: payee(), amount: 10_000n }], feeRate: 1, changeIndex: 0 } as const;
    expect(code(() => createPsbt(wallet.deriver, { ...pay, utxos: [{ ...u!, amount: u!.amount + 1n }] }))).toBe('psbt.prev_tx_mismatch');
    expect(code(() => createPsbt(wallet.deriver, { ...pay, utxos: [{ ...u!, vout: 1 }] }))).toBe('psbt.prev_tx_mismatch');
    expect(code(() => createPsbt(wallet.deriver, { ...pay, utxos: [{ ...u!, index: 5 }] }))).toBe('psbt.prev_tx_mismatch');
    expect(code(() => createPsbt(wallet.deriver, { ...pay, utxos: [{ ...u!, txid: 'aa'.repeat(32) }] }))).toBe('psbt.prev_tx_mismatch');
    const sh = makeWallet('sh', 2, 3);
    const shFunding = fundWallet(sh, [{ branch: 0, index: 0, amount: 50_000n }], { withPrevTx: false });
    expect(code(() => createPsbt(sh.deriver, { ...pay, utxos: shFunding.utxos }))).toBe('psbt.missing_prev_tx');
  });

  it('never modifies the caller\'s UTXOs or their previous transactions', () => {
    const copy = funding.utxos.map((u) => ({ ...u, prevTx: u.prevTx!.slice() }));
    const r = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 10_000n }], feeRate: 1, changeIndex: 0 });
    r.psbt.inputs[0]!.nonWitnessUtxo!.fill(0);
    expect(funding.utxos).toEqual(copy);
  });
});

describe('createPsbtFromOutputs', () => {
  it('builds exactly the inputs and outputs given; the fee is what the inputs leave', () => {
    const wallet = makeWallet('tr', 2, 3);
    const f = fundWallet(wallet, [{ branch: 0, index: 2, amount: 80_000n }], { withPrevTx: false });
    const r = createPsbtFromOutputs(wallet.deriver, { utxos: f.utxos, outputs: [{ address: payee(), amount: 50_000n }, { changeIndex: 4, amount: 29_000n }] });
    expect(r.fee).toBe(1_000n);
    expect(r.psbt.outputs[1]!.tapTree).toHaveLength(1);
    expect(r.psbt.outputs[1]!.tapBip32Derivation).toHaveLength(3);
    expect(code(() => createPsbtFromOutputs(wallet.deriver, { utxos: f.utxos, outputs: [{ address: payee(), amount: 90_000n }] }))).toBe('psbt.negative_fee');
    expect(code(() => createPsbtFromOutputs(wallet.deriver, { utxos: f.utxos, outputs: [] }))).toBe('psbt.no_outputs');
  });
});

describe('inspectPsbt', () => {
  const wallet = makeWallet('wsh', 2, 3);
  const other = makeWallet('wsh', 2, 3);
  const funding = fundWallet(wallet, [{ branch: 0, index: 0, amount: 321_000n }]);
  const external = payee();
  const outputs = [
    { address: external, amount: 100_000n },
    { changeIndex: 2, amount: 100_000n },
    { address: wallet.deriver.derive(0, 9).address, amount: 50_000n },
    { address: wallet.deriver.derive(1, 1500).address, amount: 40_000n },
    { address: other.deriver.derive(1, 0).address, amount: 30_000n },
  ] as const;
  const { psbt } = createPsbtFromOutputs(wallet.deriver, { utxos: funding.utxos, outputs });

  it('classifies outputs by derivation, never by the PSBT\'s word', () => {
    const s = inspectPsbt(psbt, wallet.deriver, { changeGap: 1000 });
    expect(s.outputs.map((o) => o.kind)).toEqual(['external', 'change', 'internal receive', 'external', 'external']);
    expect(s.outputs.map((o) => o.change)).toEqual([false, true, false, false, false]);
    expect(s.outputs[1]!.wallet).toEqual({ branch: 1, index: 2 });
    expect(s.outputs[2]!.wallet).toEqual({ branch: 0, index: 9 });
    expect(s.outputs[0]!.address).toBe(external);
    expect(s.change).toBe(100_000n);
    expect(s.sent).toBe(220_000n);
    expect(s.fee).toBe(1_000n);
    // Change beyond the gap is not change, even when the PSBT says where it derives from.
    const far = createPsbtFromOutputs(wallet.deriver, { utxos: funding.utxos, outputs: [{ address: external, amount: 100_000n }, { changeIndex: 1500, amount: 220_000n }] }).psbt;
    const fs = inspectPsbt(far, wallet.deriver, { changeGap: 1000 });
    expect(fs.outputs[1]!.kind).toBe('external');
    expect(fs.outputs[1]!.wallet).toEqual({ branch: 1, index: 1500 });
    expect(fs.warnings.some((w) => w.includes('beyond the gap'))).toBe(true);
    expect(inspectPsbt(far, wallet.deriver, { changeGap: 2000 }).outputs[1]!.kind).toBe('change');
    // Change found by scanning when the PSBT carries no derivation for it.
    const stripped: Psbt = { ...psbt, outputs: psbt.outputs.map((o) => ({ bip32Derivation: [], tapBip32Derivation: [], unknown: o.unknown })) };
    expect(inspectPsbt(stripped, wallet.deriver).outputs[1]!.kind).toBe('change');
    // A derivation claim that does not match the script is external, with a warning.
    const lying: Psbt = { ...psbt, outputs: psbt.outputs.map((o, i) => (i === 4 ? psbt.outputs[1]! : o)) };
    const ls = inspectPsbt(lying, wallet.deriver);
    expect(ls.outputs[4]!.kind).toBe('external');
    expect(ls.outputs[4]!.mismatch).toBeDefined();
  });

  it('reports who signed which input, what is missing, and when it is ready', () => {
    const s0 = inspectPsbt(psbt, wallet.deriver);
    expect(s0.readyToFinalize).toBe(false);
    expect(s0.inputs[0]!.missing).toEqual([0, 1, 2]);
    expect(s0.vsizeIsEstimate).toBe(true);
    const one = signed(wallet, psbt, [1]);
    const s1 = inspectPsbt(one, wallet.deriver);
    expect(s1.inputs[0]!.signedBy).toEqual([1]);
    expect(s1.cosigners.map((c) => c.signed)).toEqual([[], [0], []]);
    expect(s1.readyToFinalize).toBe(false);
    const two = signed(wallet, psbt, [0, 2]);
    const s2 = inspectPsbt(two, wallet.deriver);
    expect(s2.readyToFinalize).toBe(true);
    expect(s2.inputs[0]!.signatures).toBe(2);
    // A broken signature is shown, not counted.
    const bad: Psbt = { ...two, inputs: two.inputs.map((i) => ({ ...i, partialSigs: i.partialSigs.map((p, k) => (k === 0 ? { ...p, signature: flip(p.signature, 8) } : p)) })) };
    const s3 = inspectPsbt(bad, wallet.deriver);
    expect(s3.inputs[0]!.invalidSignatures).toHaveLength(1);
    expect(s3.readyToFinalize).toBe(false);
    const done = inspectPsbt(finalizePsbt(two, wallet.deriver), wallet.deriver);
    expect(done.finalized).toBe(true);
    expect(done.vsizeIsEstimate).toBe(false);
    expect(done.vsize).toBe(extractTransaction(finalizePsbt(two)).vsize);
    // JSON-able once bigints are stringified.
    expect(() => JSON.stringify(done, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toThrow();
  });
});

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at] = c[at]! ^ 1;
  return c;
}

describe('combine, finalize, extract', () => {
  const wallet = makeWallet('sh-wsh', 2, 3);
  const funding = fundWallet(wallet, [{ branch: 0, index: 0, amount: 90_000n }, { branch: 1, index: 3, amount: 20_000n }]);
  const { psbt } = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 95_000n }], feeRate: 2, changeIndex: 0 });

  it('refuses to combine different transactions (psbt.mismatch) or conflicting values (psbt.conflict)', () => {
    const other = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 95_000n }], feeRate: 3, changeIndex: 0 }).psbt;
    expect(code(() => combinePsbts([psbt, other]))).toBe('psbt.mismatch');
    const a = signPsbt(psbt, wallet.deriver, { root: wallet.masters[0]! }).psbt;
    const forged: Psbt = { ...a, inputs: a.inputs.map((i) => ({ ...i, partialSigs: i.partialSigs.map((p) => ({ ...p, signature: flip(p.signature, 12) })) })) };
    expect(code(() => combinePsbts([a, forged]))).toBe('psbt.conflict');
    expect(code(() => combinePsbts([psbt, { ...psbt, inputs: psbt.inputs.map((i) => ({ ...i, sighashType: 1 })) }, { ...psbt, inputs: psbt.inputs.map((i) => ({ ...i, sighashType: 3 })) }]))).toBe('psbt.conflict');
    expect(code(() => combinePsbts([]))).toBe('psbt.nothing_to_combine');
    // Idempotent: a PSBT combined with itself is itself (in canonical order).
    expect(serializePsbt(combinePsbts([a, a, a]))).toEqual(serializePsbt(combinePsbts([a])));
  });

  it('finalize names the cosigners still missing per input (psbt.missing_signatures)', () => {
    const one = signPsbt(psbt, wallet.deriver, { root: wallet.masters[1]! }).psbt;
    let err: unknown;
    try {
      finalizePsbt(one, wallet.deriver);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotReadyError);
    const e = err as NotReadyError;
    expect(e.code).toBe('psbt.missing_signatures');
    const details = e.details!['inputs'] as { input: number; signatures: number; threshold: number; missing: { fingerprint: string; cosigner: number }[] }[];
    expect(details.map((d) => d.input)).toEqual(psbt.inputs.map((_, i) => i));
    for (const d of details) {
      expect(d.signatures).toBe(1);
      expect(d.threshold).toBe(2);
      expect(d.missing.map((m) => m.cosigner).sort()).toEqual([0, 2]);
      expect(d.missing.map((m) => m.fingerprint).sort()).toEqual([wallet.fingerprints[0], wallet.fingerprints[2]].sort());
    }
    expect(e.message).toContain(wallet.fingerprints[0]!);
  });

  it('finalize verifies signatures (psbt.bad_signature) and extract needs a finalized PSBT (psbt.not_finalized)', () => {
    const two = signed(wallet, psbt, [0, 1]);
    const bad: Psbt = { ...two, inputs: two.inputs.map((i, k) => (k === 0 ? { ...i, partialSigs: [{ ...i.partialSigs[0]!, signature: flip(i.partialSigs[0]!.signature, 10) }, ...i.partialSigs.slice(1)] } : i)) };
    expect(code(() => finalizePsbt(bad))).toBe('psbt.bad_signature');
    expect(code(() => extractTransaction(two))).toBe('psbt.not_finalized');
    const final = finalizePsbt(two);
    // BIP-174: a finalized input keeps only its UTXOs and final scripts.
    expect(final.inputs[0]!.partialSigs).toHaveLength(0);
    expect(final.inputs[0]!.bip32Derivation).toHaveLength(0);
    expect(final.inputs[0]!.redeemScript).toBeUndefined();
    const tx = extractTransaction(final);
    expect(transactionId(parseTransaction(tx.bytes))).toBe(tx.txid);
    expect(serializeTransaction(tx.transaction)).toEqual(tx.bytes);
    // Finalizing twice changes nothing.
    expect(serializePsbt(finalizePsbt(final))).toEqual(serializePsbt(final));
  });
});

describe('parsePsbt input forms', () => {
  const wallet = makeWallet('wsh', 1, 2);
  const funding = fundWallet(wallet, [{ branch: 0, index: 0, amount: 10_000n }]);
  const { psbt } = createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 5_000n }], feeRate: 1, changeIndex: 0 });
  const bytes = serializePsbt(psbt);

  it('accepts bytes, hex, base64 and files holding base64 or hex text', () => {
    const forms = [bytes, psbtToHex(psbt), psbtToBase64(psbt), `  ${psbtToBase64(psbt)}\n`, new TextEncoder().encode(psbtToBase64(psbt)), new TextEncoder().encode(psbtToHex(psbt).toUpperCase())];
    for (const f of forms) expect(serializePsbt(parsePsbt(f))).toEqual(bytes);
  });

  it('rejects other text with typed errors', () => {
    expect(code(() => parsePsbt('not a psbt!'))).toBe('psbt.invalid_encoding');
    expect(code(() => parsePsbt('70736274f'))).toBe('psbt.invalid_encoding');
    expect(code(() => parsePsbt(''))).toBe('psbt.bad_magic');
    expect(code(() => parsePsbt(bytes.subarray(0, bytes.length - 1)))).toBe('psbt.truncated');
    expect(code(() => parsePsbt(new Uint8Array([...bytes, 0])))).toBe('psbt.trailing_data');
    expect(() => parsePsbt('zz')).toThrow(InvalidPsbtError);
  });

  it('decodes base64 exactly as the strict decoder does, whichever path it takes', () => {
    const text = psbtToBase64(psbt);
    const strict = (t: string): Uint8Array | string => {
      try {
        return base64.decode(t.replace(/\s+/g, ''));
      } catch {
        return 'psbt.invalid_encoding';
      }
    };
    const ours = (t: string): Uint8Array | string => {
      try {
        return decodePsbtBytes(t);
      } catch (e) {
        return (e as InvalidPsbtError).code;
      }
    };
    const last = text.length - (text.endsWith('==') ? 3 : text.endsWith('=') ? 2 : 1);
    const cases = [
      text,
      `${text.slice(0, 40)}\n${text.slice(40)}`,
      text.replace(/=+$/, ''), // padding dropped
      `${text.slice(0, last)}${text[last] === 'A' ? 'B' : 'A'}${text.slice(last + 1)}`, // non-zero padding bits or another last byte
      text.replace(/\+/g, '-').replace(/\//g, '_'), // base64url alphabet
      `${text.slice(0, 8)}*${text.slice(8)}`, // a foreign character Buffer.from would skip
      `${text}=`,
      `${text}AAAA`,
    ];
    for (const c of cases) expect(ours(c)).toEqual(strict(c));
    // The decoded bytes are the caller's own, not a view into Node's shared Buffer pool.
    const decoded = decodePsbtBytes(text);
    expect(decoded.byteOffset === 0 && decoded.buffer.byteLength === decoded.length).toBe(true);
  });

  it('keeps its own copy of the bytes', () => {
    const copy = bytes.slice();
    const parsed = parsePsbt(copy);
    copy.fill(0);
    expect(serializePsbt(parsed)).toEqual(bytes);
  });

  it('never edits a Buffer it parses (Buffer#slice is a view): same result twice, bytes unchanged', () => {
    // A pooled Buffer sits at a non-zero offset of a shared ArrayBuffer, as fs.readFile and Buffer.from give.
    const pooled = Buffer.from(psbtToBase64(psbt), 'base64');
    const before = Uint8Array.from(pooled);
    const first = parsePsbt(pooled);
    const second = parsePsbt(pooled);
    expect(Uint8Array.from(pooled)).toEqual(before);
    expect(serializePsbt(first)).toEqual(bytes);
    expect(serializePsbt(second)).toEqual(bytes);
    expect(transactionId(parseTransaction(first.inputs[0]!.nonWitnessUtxo!))).toBe(psbt.tx.inputs[0]!.txid);
    const rawTx = Buffer.from(first.inputs[0]!.nonWitnessUtxo!);
    expect(transactionId(parseTransaction(rawTx))).toBe(transactionId(parseTransaction(rawTx)));
  });

  it('refuses a nonWitnessUtxo that does not hash to the input txid', () => {
    const other = fundWallet(wallet, [{ branch: 0, index: 0, amount: 10_000n }]).prevTx;
    const bad = { ...psbt, inputs: psbt.inputs.map((i) => ({ ...i, nonWitnessUtxo: other })) };
    expect(code(() => parsePsbt(serializePsbt(bad)))).toBe('psbt.prev_tx_mismatch');
    expect(() => createPsbt(wallet.deriver, { utxos: [], payments: [{ address: payee(), amount: 5_000n }], feeRate: 1, changeIndex: 0 })).toThrow(InsufficientFundsError);
    expect(() => createPsbt(wallet.deriver, { utxos: funding.utxos, payments: [{ address: payee(), amount: 5_000n }], feeRate: 1, changeIndex: -1 })).toThrow(InvalidInputError);
  });
});
