/**
 * Properties of the PSBT codec and combiner: serialize/parse round trips on arbitrary models,
 * combining independent of order and grouping, and parsers that only ever throw MofnErrors on
 * random or mutated input (never crash, never hang).
 */
import { isMofnError } from '@mofn/core';
import { ripemd160 } from '@noble/hashes/legacy.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.ts';
import { scriptToAddress } from '../src/address.ts';
import { hash160, hash256, sha256 } from '../src/hash.ts';
import {
  combinePsbts,
  createPsbt,
  finalizePsbt,
  inspectPsbt,
  parsePsbt,
  serializePsbt,
  signPsbt,
  type Psbt,
  type PsbtInput,
  type PsbtKeyValue,
  type PsbtOutput,
} from '../src/psbt/index.ts';
import { toHex } from '../src/tx/bytes.ts';
import { parseTransaction, serializeTransaction, transactionId, type Transaction } from '../src/tx/transaction.ts';
import { externalScript, fundWallet, makeWallet } from './lifecycle.fixtures.ts';

const RUNS = 150;

const bytes = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max });
const script = bytes(0, 60);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const amount = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });
const hex = (n: number) => bytes(n).map(toHex);
const pubkey33 = fc.tuple(fc.constantFrom(2, 3), bytes(32)).map(([p, x]) => new Uint8Array([p, ...x]));
const origin = fc.record({ fingerprint: hex(4), path: fc.array(u32, { maxLength: 6 }) });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

function uniqueBy<T>(arb: fc.Arbitrary<T>, key: (t: T) => string, maxLength = 3): fc.Arbitrary<T[]> {
  return fc.uniqueArray(arb, { selector: key, maxLength });
}

const bip32 = uniqueBy(fc.record({ pubkey: pubkey33, fingerprint: hex(4), path: fc.array(u32, { maxLength: 6 }) }), (d) => toHex(d.pubkey));
const unknown = (types: readonly number[]): fc.Arbitrary<PsbtKeyValue[]> =>
  uniqueBy(
    fc.record({ type: fc.constantFrom(...types), data: bytes(0, 8), value: bytes(0, 12) }).map(({ type, data, value }) => ({ key: new Uint8Array([type, ...data]), value })),
    (kv) => toHex(kv.key),
  );
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const inputUnknownTypes = [...range(0x19, 0xfa), 0xfc];
const outputUnknownTypes = [...range(0x08, 0xfa), 0xfc];
const globalUnknownTypes = [...range(0x07, 0xfa), 0xfc];

function preimages(fn: (b: Uint8Array) => Uint8Array) {
  return uniqueBy(bytes(0, 40).map((preimage) => ({ hash: fn(preimage), preimage })), (p) => toHex(p.hash), 2);
}

/** Drops undefined properties (the model never holds `key: undefined`). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const inputArb: fc.Arbitrary<PsbtInput> = fc
  .record({
    witnessUtxo: opt(fc.record({ amount, script })),
    partialSigs: uniqueBy(fc.record({ pubkey: pubkey33, signature: bytes(0, 73) }), (s) => toHex(s.pubkey)),
    sighashType: opt(u32),
    redeemScript: opt(script),
    witnessScript: opt(script),
    bip32Derivation: bip32,
    finalScriptSig: opt(script),
    finalScriptWitness: opt(fc.array(bytes(0, 40), { maxLength: 4 })),
    ripemd160Preimages: preimages(ripemd160),
    sha256Preimages: preimages(sha256),
    hash160Preimages: preimages(hash160),
    hash256Preimages: preimages(hash256),
    tapKeySig: opt(fc.oneof(bytes(64), bytes(65))),
    tapScriptSigs: uniqueBy(fc.record({ pubkey: bytes(32), leafHash: bytes(32), signature: fc.oneof(bytes(64), bytes(65)) }), (s) => toHex(s.pubkey) + toHex(s.leafHash)),
    tapLeafScripts: uniqueBy(
      fc.record({ controlBlock: fc.integer({ min: 0, max: 2 }).chain((k) => bytes(33 + 32 * k)), script, leafVersion: fc.integer({ min: 0, max: 255 }) }),
      (l) => toHex(l.controlBlock),
    ),
    tapBip32Derivation: uniqueBy(fc.record({ pubkey: bytes(32), leafHashes: fc.array(bytes(32), { maxLength: 2 }), fingerprint: hex(4), path: fc.array(u32, { maxLength: 4 }) }), (d) => toHex(d.pubkey)),
    tapInternalKey: opt(bytes(32)),
    tapMerkleRoot: opt(bytes(32)),
    unknown: unknown(inputUnknownTypes),
  })
  .map((r) => defined(r) as PsbtInput);

// A complete taproot tree: one leaf at depth 0, or two at depth 1.
const tapTree = fc.oneof(
  fc.record({ depth: fc.constant(0), leafVersion: fc.constantFrom(0xc0, 0xc2), script }).map((l) => [l]),
  fc.tuple(script, script).map(([a, b]) => [
    { depth: 1, leafVersion: 0xc0, script: a },
    { depth: 1, leafVersion: 0xc0, script: b },
  ]),
);

const outputArb: fc.Arbitrary<PsbtOutput> = fc
  .record({
    redeemScript: opt(script),
    witnessScript: opt(script),
    bip32Derivation: bip32,
    tapInternalKey: opt(bytes(32)),
    tapTree: opt(tapTree),
    tapBip32Derivation: uniqueBy(fc.record({ pubkey: bytes(32), leafHashes: fc.array(bytes(32), { maxLength: 2 }), fingerprint: hex(4), path: fc.array(u32, { maxLength: 4 }) }), (d) => toHex(d.pubkey)),
    unknown: unknown(outputUnknownTypes),
  })
  .map((r) => defined(r) as PsbtOutput);

/** A previous transaction, so that nonWitnessUtxo really hashes to the input's txid. */
const prevTxArb: fc.Arbitrary<Transaction> = fc.record({
  version: u32,
  locktime: u32,
  inputs: fc.array(fc.record({ txid: hex(32), vout: u32, scriptSig: script, sequence: u32, witness: fc.constant<Uint8Array[]>([]) }), { minLength: 1, maxLength: 2 }),
  outputs: fc.array(fc.record({ amount, script }), { minLength: 1, maxLength: 3 }),
});

const psbtArb: fc.Arbitrary<Psbt> = fc
  .record({
    version: u32,
    locktime: u32,
    txInputs: fc.array(fc.record({ txid: hex(32), vout: u32, sequence: u32, prev: opt(prevTxArb) }), { maxLength: 3 }),
    outputs: fc.array(fc.record({ amount, script }), { maxLength: 3 }),
    xpubs: uniqueBy(fc.tuple(bytes(45), pubkey33, origin).map(([head, key, o]) => ({ extendedKey: new Uint8Array([...head, ...key]), ...o })), (x) => toHex(x.extendedKey)),
    psbtVersion: opt(fc.constant(0)),
    globalUnknown: unknown(globalUnknownTypes),
  })
  .chain((g) =>
    fc.record({
      g: fc.constant(g),
      inputs: fc.array(inputArb, { minLength: g.txInputs.length, maxLength: g.txInputs.length }),
      outputMaps: fc.array(outputArb, { minLength: g.outputs.length, maxLength: g.outputs.length }),
    }),
  )
  .map(({ g, inputs, outputMaps }): Psbt => {
    const txInputs = g.txInputs.map((i) => (i.prev === undefined ? { txid: i.txid, vout: i.vout, sequence: i.sequence } : { txid: transactionId(i.prev), vout: i.vout % i.prev.outputs.length, sequence: i.sequence }));
    return {
      tx: { version: g.version, locktime: g.locktime, inputs: txInputs, outputs: g.outputs },
      global: { xpubs: g.xpubs, unknown: g.globalUnknown, ...(g.psbtVersion === undefined ? {} : { version: g.psbtVersion }) },
      inputs: inputs.map((input, k) => {
        const prev = g.txInputs[k]!.prev;
        return prev === undefined ? input : { ...input, nonWitnessUtxo: serializeTransaction(prev) };
      }),
      outputs: outputMaps,
    };
  });

/** Real wallet PSBTs: unsigned and signed by each cosigner (wsh and tr), for combining and mutating. */
function walletCopies(type: 'wsh' | 'tr') {
  const w = makeWallet(type, 2, 3);
  const f = fundWallet(w, [
    { branch: 0, index: 0, amount: 70_000n },
    { branch: 1, index: 1, amount: 40_000n },
  ]);
  const { psbt } = createPsbt(w.deriver, { utxos: f.utxos, payments: [{ address: scriptToAddress(externalScript(), 'test'), amount: 80_000n }], feeRate: 2, changeIndex: 0 });
  const copies = [psbt, ...w.masters.map((root) => signPsbt(psbt, w.deriver, { root }).psbt)];
  return { w, psbt, copies };
}

describe('PSBT properties', () => {
  it('serialize -> parse -> serialize is the identity on arbitrary models', () => {
    fc.assert(
      fc.property(psbtArb, (model) => {
        const bytes1 = serializePsbt(model);
        const parsed = parsePsbt(bytes1);
        expect(serializePsbt(parsed)).toEqual(bytes1);
        expect(parsed).toEqual(model);
      }),
      { numRuns: RUNS },
    );
  });

  it('combine is independent of order, grouping and repetition', () => {
    for (const type of ['wsh', 'tr'] as const) {
      const { copies } = walletCopies(type);
      const all = serializePsbt(combinePsbts(copies));
      fc.assert(
        fc.property(fc.shuffledSubarray(copies, { minLength: copies.length }), fc.array(fc.constantFrom(...copies), { maxLength: 3 }), (order, extra) => {
          expect(serializePsbt(combinePsbts([...order, ...extra]))).toEqual(all);
          // Grouping: combining partial combinations gives the same result.
          const mid = Math.max(1, Math.floor(order.length / 2));
          expect(serializePsbt(combinePsbts([combinePsbts(order.slice(0, mid)), combinePsbts(order.slice(mid))]))).toEqual(all);
        }),
        { numRuns: 30 },
      );
    }
  });

  it('combining the two halves of an arbitrary PSBT\'s multi-key fields restores it, in either order', () => {
    const half = <T>(xs: readonly T[], pick: boolean[], side: boolean): T[] => xs.filter((_, i) => (pick[i % pick.length] ?? true) === side);
    fc.assert(
      fc.property(psbtArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (model, pick) => {
        const split = (side: boolean): Psbt => ({
          ...model,
          inputs: model.inputs.map((i) => ({
            ...i,
            partialSigs: half(i.partialSigs, pick, side),
            bip32Derivation: half(i.bip32Derivation, pick, side),
            tapScriptSigs: half(i.tapScriptSigs, pick, side),
            unknown: half(i.unknown, pick, side),
          })),
          outputs: model.outputs.map((o) => ({ ...o, bip32Derivation: half(o.bip32Derivation, pick, side), unknown: half(o.unknown, pick, side) })),
        });
        const whole = serializePsbt(combinePsbts([model]));
        expect(serializePsbt(combinePsbts([split(true), split(false)]))).toEqual(whole);
        expect(serializePsbt(combinePsbts([split(false), split(true)]))).toEqual(whole);
      }),
      { numRuns: 80 },
    );
  });
});

describe('parsers never crash on hostile input', () => {
  const vectors = ['BIP-174/bip174_test_vectors.json', 'BIP-370/bip370_test_vectors.json', 'BIP-371/bip371_test_vectors.json'].flatMap((f) => {
    const d = readVectorJson<{ valid: { hex: string }[]; invalid: { hex: string }[] }>(f);
    return [...d.valid, ...d.invalid].map((c) => Uint8Array.from(Buffer.from(c.hex, 'hex')));
  });
  const { w, copies } = walletCopies('wsh');
  const seeds = [...vectors, ...copies.map(serializePsbt)];

  /** Runs the parser (and, on success, the other roles) and requires any error to be a MofnError. */
  function survive(input: Uint8Array | string): void {
    const t0 = performance.now();
    let parsed: Psbt | undefined;
    try {
      parsed = parsePsbt(input);
    } catch (e) {
      if (!isMofnError(e)) throw e;
    }
    if (parsed !== undefined) {
      for (const role of [() => serializePsbt(parsed), () => finalizePsbt(parsed), () => combinePsbts([parsed, parsed]), () => inspectPsbt(parsed, w.deriver)]) {
        try {
          role();
        } catch (e) {
          if (!isMofnError(e)) throw e;
        }
      }
    }
    expect(performance.now() - t0).toBeLessThan(2_000);
  }

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), data: bytes(1, 9) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xfd, 0xfe, 0xff, 0x01, 0x7f) }),
  );

  type Mutation = { kind: string; at: number; bit?: number; data?: Uint8Array; value?: number };
  function mutate(b: Uint8Array, ms: readonly Mutation[]): Uint8Array {
    let out = b.slice();
    for (const m of ms) {
      const at = out.length === 0 ? 0 : m.at % out.length;
      if (m.kind === 'flip') out[at] = out[at]! ^ (1 << m.bit!);
      else if (m.kind === 'set') out[at] = m.value!;
      else if (m.kind === 'cut') out = out.subarray(0, at);
      else out = new Uint8Array([...out.subarray(0, at), ...m.data!, ...out.subarray(at)]);
    }
    return out;
  }

  it('random bytes (with and without the magic) and random text', () => {
    fc.assert(
      fc.property(bytes(0, 300), fc.boolean(), (b, magic) => survive(magic ? new Uint8Array([0x70, 0x73, 0x62, 0x74, 0xff, ...b]) : b)),
      { numRuns: 400 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => survive(s)), { numRuns: 200 });
  });

  it('mutated valid PSBTs (vectors and wallet PSBTs)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, ms) => survive(mutate(seed, ms))),
      { numRuns: 600 },
    );
  });

  it('the transaction parser, on random and mutated transactions', () => {
    const txs = copies[0]!.inputs.map((i) => i.nonWitnessUtxo!);
    fc.assert(
      fc.property(fc.oneof(bytes(0, 200), fc.tuple(fc.constantFrom(...txs), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([t, ms]) => mutate(t, ms))), (b) => {
        try {
          const tx = parseTransaction(b);
          expect(parseTransaction(serializeTransaction(tx))).toEqual(tx);
        } catch (e) {
          if (!isMofnError(e)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
