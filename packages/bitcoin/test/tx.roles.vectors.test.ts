/**
 * Transactions, scripts, signature hashes and the size model. Signature hashes are checked
 * against bitcoinjs-lib (an independent implementation) on random transactions for every hash
 * type of the legacy, BIP-143 and BIP-341 algorithms.
 */
import { InvalidPsbtError } from '@mofn/core';
import { Transaction as BjsTransaction } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.ts';
import { multiAScript, multisigScript } from '../src/wallet/index.ts';
import { fromHex, toHex } from '../src/tx/bytes.ts';
import {
  classifyOutputScript,
  parseMultiAScript,
  parseMultisigScript,
  pushData,
  pushNumber,
  tapLeafHash,
} from '../src/tx/script.ts';
import { isTaprootSighashType, SighashContext } from '../src/tx/sighash.ts';
import { parseTransaction, serializeTransaction, transactionId, transactionVsize, transactionWeight, type Transaction } from '../src/tx/transaction.ts';
import { defaultSpendShape, multiAScriptLength, multisigInputWeight, multisigScriptLength } from '../src/tx/vsize.ts';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  throw new Error('expected an error');
}

const bip174 = readVectorJson<{ role_workflow: { steps: any[] } }>('BIP-174/bip174_test_vectors.json');
const knownTxs: string[] = [
  ...bip174.role_workflow.steps.find((s) => s.step === 'updater').given.previous_transactions,
  bip174.role_workflow.steps.find((s) => s.step === 'extractor').expected_tx_hex,
];

describe('transaction codec', () => {
  it.each(knownTxs.map((h) => [h.slice(0, 24), h] as const))('round-trips %s... and agrees with bitcoinjs-lib on ids and sizes', (_p, hex) => {
    const tx = parseTransaction(hex);
    expect(toHex(serializeTransaction(tx))).toBe(hex);
    const bjs = BjsTransaction.fromHex(hex);
    expect(transactionId(tx)).toBe(bjs.getId());
    expect(transactionWeight(tx)).toBe(bjs.weight());
    expect(transactionVsize(tx)).toBe(bjs.virtualSize());
  });

  it('rejects malformed transactions with typed errors', () => {
    const hex = knownTxs[knownTxs.length - 1]!;
    expect(code(() => parseTransaction(hex.slice(0, -2)))).toBe('tx.truncated');
    expect(code(() => parseTransaction(`${hex}00`))).toBe('tx.trailing_data');
    expect(code(() => parseTransaction('0x1234'))).toBe('tx.invalid_hex');
    // Witness flag 0x02 is undefined (BIP-144).
    expect(code(() => parseTransaction(`${hex.slice(0, 10)}02${hex.slice(12)}`))).toBe('tx.invalid_witness');
    // A witness marker whose witnesses are all empty is not canonical (Bitcoin Core: superfluous witness record).
    const legacy = parseTransaction(knownTxs[1]!);
    const bytes = serializeTransaction({ ...legacy, inputs: legacy.inputs.map((i) => ({ ...i, witness: [new Uint8Array(0)] })) });
    const emptied = toHex(bytes).replace(/0100(?=[0-9a-f]{8}$)/, '0000');
    expect(code(() => parseTransaction(emptied))).toBe('tx.invalid_witness');
    // Absurd counts fail fast instead of allocating.
    expect(code(() => parseTransaction('02000000fdffff'))).toBe('tx.truncated');
    expect(code(() => parseTransaction('02000000fe00ffffff'))).toBe('tx.too_large');
  });
});

// Scripts that bitcoinjs-lib's legacy sighash re-compiles unchanged: opcodes and pushes of 2..75
// bytes (its compile turns a 1-byte push of 1..16 into OP_N), with OP_CODESEPARATOR sometimes.
const scriptArb = fc
  .array(fc.oneof(fc.constantFrom(0xac, 0xae, 0x87, 0x76, 0xa9, 0x88, 0x51, 0x60, 0xab), fc.uint8Array({ minLength: 2, maxLength: 75 })), { maxLength: 6 })
  .map((parts) => new Uint8Array(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...pushData(p)]))));

const txArb: fc.Arbitrary<Transaction> = fc.record({
  version: fc.integer({ min: 0, max: 0x7fffffff }),
  locktime: fc.integer({ min: 0, max: 0xffffffff }),
  inputs: fc.array(
    fc.record({ txid: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex), vout: fc.integer({ min: 0, max: 0xffffffff }), scriptSig: fc.constant(new Uint8Array(0)), sequence: fc.integer({ min: 0, max: 0xffffffff }), witness: fc.constant<Uint8Array[]>([]) }),
    { minLength: 1, maxLength: 4 },
  ),
  outputs: fc.array(fc.record({ amount: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }), script: scriptArb }), { minLength: 1, maxLength: 4 }),
});

const hashTypes = [0x01, 0x02, 0x03, 0x81, 0x82, 0x83];
// bitcoinjs-lib sizes its BIP-341 ANYONECANPAY message for 34-byte (P2TR) spent scripts.
const p2trScript = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((x) => new Uint8Array([0x51, 0x20, ...x]));

describe('signature hashes agree with bitcoinjs-lib', () => {
  it('legacy (pre-segwit), every hash type, OP_CODESEPARATOR removed from the script code', () => {
    fc.assert(
      fc.property(txArb, fc.nat(), fc.constantFrom(...hashTypes), scriptArb, (tx, k, hashType, code) => {
        const index = k % tx.inputs.length;
        const ours = new SighashContext(tx).legacy(index, code, hashType);
        if ((hashType & 0x1f) === 3 && index >= tx.outputs.length) {
          // Consensus quirk: SINGLE without its output signs uint256 1, whose bytes are 01 00 .. 00
          // (Bitcoin Core's uint256::ONE). bitcoinjs-lib returns the bytes in display order instead.
          expect(toHex(ours)).toBe(`01${'00'.repeat(31)}`);
          return;
        }
        const theirs = BjsTransaction.fromBuffer(serializeTransaction(tx)).hashForSignature(index, code, hashType);
        expect(toHex(ours)).toBe(toHex(theirs));
      }),
      { numRuns: 200 },
    );
  });

  it('BIP-143 (segwit v0), every hash type', () => {
    fc.assert(
      fc.property(txArb, fc.nat(), fc.constantFrom(...hashTypes), scriptArb, fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }), (tx, k, hashType, code, amount) => {
        const index = k % tx.inputs.length;
        const ours = new SighashContext(tx).segwitV0(index, code, amount, hashType);
        const theirs = BjsTransaction.fromBuffer(serializeTransaction(tx)).hashForWitnessV0(index, code, amount, hashType);
        expect(toHex(ours)).toBe(toHex(theirs));
      }),
      { numRuns: 200 },
    );
  });

  it('BIP-341 (taproot), key path and script path, every hash type', () => {
    fc.assert(
      fc.property(txArb, fc.nat(), fc.constantFrom(0x00, ...hashTypes), fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }), fc.array(fc.tuple(p2trScript, fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n })), { minLength: 4, maxLength: 4 }), (tx, k, hashType, leafHash, spent) => {
        const index = k % tx.inputs.length;
        const prevouts = tx.inputs.map((_, i) => ({ script: spent[i]![0], amount: spent[i]![1] }));
        const ctx = new SighashContext(tx, prevouts);
        if ((hashType & 3) === 3 && index >= tx.outputs.length) {
          expect(() => ctx.taproot(index, hashType, leafHash)).toThrow(InvalidPsbtError);
          return;
        }
        const ours = ctx.taproot(index, hashType, leafHash);
        const theirs = BjsTransaction.fromBuffer(serializeTransaction(tx)).hashForWitnessV1(index, prevouts.map((p) => p.script), prevouts.map((p) => p.amount), hashType, leafHash);
        expect(toHex(ours)).toBe(toHex(theirs));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects undefined taproot hash types and a missing previous output', () => {
    expect(isTaprootSighashType(0x84)).toBe(false);
    const tx: Transaction = { version: 2, locktime: 0, inputs: [{ txid: '00'.repeat(32), vout: 0, scriptSig: new Uint8Array(0), sequence: 0, witness: [] }], outputs: [] };
    expect(code(() => new SighashContext(tx, []).taproot(0, 0x84))).toBe('psbt.invalid_sighash');
    expect(code(() => new SighashContext(tx, []).taproot(0, 0))).toBe('psbt.missing_utxo');
    expect(code(() => new SighashContext(tx, []).segwitV0(1, new Uint8Array(0), 0n, 1))).toBe('psbt.invalid_input_index');
  });
});

describe('scripts', () => {
  const keys = Array.from({ length: 20 }, (_, i) => new Uint8Array([2 + (i % 2), ...new Uint8Array(32).fill(i + 1)]));

  it('parses the CHECKMULTISIG scripts the wallet builds, up to 20 keys (n > 16 pushed as data)', () => {
    for (const [m, n] of [[1, 1], [2, 3], [15, 15], [16, 17], [3, 20], [20, 20]] as const) {
      const s = multisigScript(m, keys.slice(0, n));
      expect(s.length).toBe(multisigScriptLength(m, n));
      const parsed = parseMultisigScript(s)!;
      expect(parsed.threshold).toBe(m);
      expect(parsed.pubkeys.map(toHex)).toEqual(keys.slice(0, n).map(toHex));
    }
    expect(parseMultisigScript(fromHex('5121' + toHex(keys[0]!) + '52ae'))).toBeUndefined(); // 1-of-2 with one key
    expect(parseMultisigScript(fromHex('0051ae'))).toBeUndefined();
  });

  it('parses multi_a leaves (BIP-387), thresholds beyond 16 included', () => {
    const xonly = Array.from({ length: 30 }, (_, i) => new Uint8Array(32).fill(i + 1));
    for (const [m, n] of [[1, 1], [2, 3], [17, 30], [30, 30]] as const) {
      const s = multiAScript(m, xonly.slice(0, n));
      expect(s.length).toBe(multiAScriptLength(m, n));
      const parsed = parseMultiAScript(s)!;
      expect(parsed.threshold).toBe(m);
      expect(parsed.pubkeys).toHaveLength(n);
    }
    expect(multiAScriptLength(200, 999)).toBe(34 * 999 + 3 + 1);
  });

  it('pushes numbers minimally and classifies output scripts', () => {
    expect(toHex(pushNumber(0))).toBe('00');
    expect(toHex(pushNumber(16))).toBe('60');
    expect(toHex(pushNumber(17))).toBe('0111');
    expect(toHex(pushNumber(128))).toBe('028000');
    expect(toHex(pushNumber(999))).toBe('02e703');
    expect(classifyOutputScript(fromHex('0014' + '00'.repeat(20)))).toBe('p2wpkh');
    expect(classifyOutputScript(fromHex('0020' + '00'.repeat(32)))).toBe('p2wsh');
    expect(classifyOutputScript(fromHex('5120' + '00'.repeat(32)))).toBe('p2tr');
    expect(classifyOutputScript(fromHex('a914' + '00'.repeat(20) + '87'))).toBe('p2sh');
    expect(classifyOutputScript(fromHex('76a914' + '00'.repeat(20) + '88ac'))).toBe('p2pkh');
    expect(classifyOutputScript(fromHex('6a0100'))).toBe('nulldata');
    expect(classifyOutputScript(fromHex('5220' + '00'.repeat(32)))).toBe('witness_unknown');
    expect(toHex(tapLeafHash(new Uint8Array(300)))).toBe(toHex(tapLeafHash(new Uint8Array(300), 0xc0)));
  });
});

describe('size model', () => {
  it('counts the worst-case spend of each script type exactly', () => {
    // 2-of-3 P2WSH: 41 non-witness bytes; witness = count, dummy, 2 x (1 + 72), script push (1 + 105).
    expect(multisigInputWeight(defaultSpendShape('wsh', 2, 3))).toEqual({ weight: 4 * 41 + 1 + 1 + 2 * 73 + 1 + 105, witness: true });
    // P2SH-P2WSH adds the 35-byte scriptSig (push of the 34-byte program).
    expect(multisigInputWeight(defaultSpendShape('sh-wsh', 2, 3)).weight).toBe(4 * (41 + 35) + 1 + 1 + 2 * 73 + 1 + 105);
    // P2SH 15-of-15: scriptSig = OP_0, 15 signatures, PUSHDATA2 of the 513-byte redeem script; its length needs 3 bytes.
    const sh = 1 + 15 * 73 + 3 + 513;
    expect(multisigInputWeight(defaultSpendShape('sh', 15, 15))).toEqual({ weight: 4 * (36 + 3 + sh + 4), witness: false });
    // Taproot 2-of-3 multi_a: three stack elements (two 64-byte signatures, one empty), leaf, control block.
    expect(multisigInputWeight(defaultSpendShape('tr', 2, 3)).weight).toBe(4 * 41 + 1 + 2 * 65 + 1 + 1 + 104 + 1 + 33);
  });
});
