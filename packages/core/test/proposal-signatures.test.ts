import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EMPTY_SIGNATURE_SET, createSignatureSet, isUnreachable, maxDeclines, mergeSignatures, readinessOf } from '../src/index.ts';
import type { MergeResult, SignatureEntry } from '../src/index.ts';

const KEYS = ['02aa', '02bb', '03cc', '03dd'];
/** Key -> owning cosigner (02bb and 03cc both belong to 'b': two keys, one person). */
const OWNER: Record<string, string> = { '02aa': 'a', '02bb': 'b', '03cc': 'b', '03dd': 'd' };

/** Conflict-free entries: the signature is a function of the key. */
const goodEntry: fc.Arbitrary<SignatureEntry> = fc.record({ input: fc.nat(2), publicKey: fc.constantFrom(...KEYS) }).map(({ input, publicKey }) => ({
  input,
  publicKey,
  cosigner: OWNER[publicKey]!,
  signature: `${publicKey}${input.toString(16).padStart(2, '0')}`,
}));
/** Entries that may conflict: two possible signatures per key. */
const anyEntry: fc.Arbitrary<SignatureEntry> = fc
  .record({ input: fc.nat(2), publicKey: fc.constantFrom(...KEYS), alt: fc.boolean() })
  .map(({ input, publicKey, alt }) => ({ input, publicKey, cosigner: OWNER[publicKey]!, signature: alt ? 'beef' : 'cafe' }));

/** Runs `f`, returning its value or the error code. */
function outcome(f: () => MergeResult): readonly SignatureEntry[] | string {
  try {
    return f().set;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('mergeSignatures', () => {
  it('reports added, duplicate and conflicting entries', () => {
    const a = { input: 0, publicKey: '02aa', cosigner: 'a', signature: '01' };
    const b = { input: 1, publicKey: '02aa', cosigner: 'a', signature: '02' };
    const first = mergeSignatures(EMPTY_SIGNATURE_SET, [b, a, a]);
    expect(first.set).toEqual([a, b]);
    expect(first.added).toEqual([a, b]);
    expect(first.duplicates).toEqual([a]);
    const again = mergeSignatures(first.set, [a]);
    expect(again.added).toEqual([]);
    expect(again.duplicates).toEqual([a]);
    expect(again.set).toEqual(first.set);
    let caught: unknown;
    try {
      mergeSignatures(first.set, [{ ...a, signature: '09' }, b]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'proposal.signature_conflict', details: { conflicts: [{ input: 0, publicKey: '02aa', existing: a, incoming: { ...a, signature: '09' } }] } });
    // The same key claimed by another cosigner is a conflict too.
    expect(() => mergeSignatures([a], [{ ...a, cosigner: 'z' }])).toThrow(expect.objectContaining({ code: 'proposal.signature_conflict' }));
  });

  it('validates entries', () => {
    const ok = { input: 0, publicKey: '02aa', cosigner: 'a', signature: '01' };
    for (const bad of [{ ...ok, input: -1 }, { ...ok, input: 0.5 }, { ...ok, publicKey: '' }, { ...ok, publicKey: '02 aa' }, { ...ok, cosigner: '' }, { ...ok, signature: 'ABCD' }, { ...ok, signature: '' }, { ...ok, signature: 'abc' }]) {
      expect(() => createSignatureSet([bad])).toThrow(expect.objectContaining({ code: 'proposal.bad_signature_entry' }));
    }
  });

  it('never modifies its arguments and returns frozen data', () => {
    const existing = [{ input: 1, publicKey: '02bb', cosigner: 'b', signature: '01' }];
    const incoming = [{ input: 0, publicKey: '02aa', cosigner: 'a', signature: '02' }];
    const r = mergeSignatures(existing, incoming);
    expect(existing).toEqual([{ input: 1, publicKey: '02bb', cosigner: 'b', signature: '01' }]);
    expect(incoming).toHaveLength(1);
    expect(Object.isFrozen(r.set)).toBe(true);
    expect(Object.isFrozen(r.set[0])).toBe(true);
  });

  it('is commutative, associative and idempotent on conflict-free sets', () => {
    fc.assert(
      fc.property(fc.array(goodEntry, { maxLength: 12 }), fc.array(goodEntry, { maxLength: 12 }), fc.array(goodEntry, { maxLength: 12 }), (a, b, c) => {
        const ab = mergeSignatures(a, b).set;
        expect(mergeSignatures(b, a).set).toEqual(ab);
        expect(mergeSignatures(ab, c).set).toEqual(mergeSignatures(a, mergeSignatures(b, c).set).set);
        const same = mergeSignatures(ab, ab);
        expect(same.set).toEqual(ab);
        expect(same.added).toEqual([]);
        expect(same.duplicates).toHaveLength(ab.length);
        // The merged set is exactly the distinct (input, key) pairs seen.
        expect(ab.map((e) => `${e.input}/${e.publicKey}`)).toEqual([...new Set([...a, ...b].map((e) => `${e.input}/${e.publicKey}`))].sort((x, y) => (x < y ? -1 : 1)));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same outcome (set or conflict) in any order, and never overwrites', () => {
    fc.assert(
      fc.property(fc.array(anyEntry, { maxLength: 10 }), fc.array(anyEntry, { maxLength: 10 }), fc.nat(), (a, b, seed) => {
        const ab = outcome(() => mergeSignatures(a, b));
        expect(outcome(() => mergeSignatures(b, a))).toEqual(ab);
        const all = [...a, ...b];
        const shuffled = all.map((e, i) => ({ e, k: (i * 7919 + seed) % 101 })).sort((x, y) => x.k - y.k).map((x) => x.e);
        expect(outcome(() => mergeSignatures([], shuffled))).toEqual(ab);
        if (typeof ab !== 'string') {
          for (const e of a) expect(ab).toContainEqual(e);
          for (const e of b) expect(ab).toContainEqual(e);
        } else {
          expect(ab).toBe('proposal.signature_conflict');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('readiness and rejection arithmetic', () => {
  it('counts distinct known cosigners per input and ignores the rest', () => {
    const set = createSignatureSet([
      { input: 0, publicKey: '02aa', cosigner: 'a', signature: '01' },
      { input: 0, publicKey: '02bb', cosigner: 'b', signature: '02' },
      { input: 0, publicKey: '03cc', cosigner: 'b', signature: '03' },
      { input: 1, publicKey: '02bb', cosigner: 'b', signature: '04' },
      { input: 1, publicKey: '03ee', cosigner: 'mallory', signature: '05' },
      { input: 7, publicKey: '02aa', cosigner: 'a', signature: '06' },
    ]);
    const r = readinessOf(set, { inputCount: 2, threshold: 2, cosigners: ['a', 'b', 'd'] });
    expect(r.ready).toBe(false);
    expect(r.inputs).toEqual([
      { input: 0, signers: ['a', 'b'], missing: 0 },
      { input: 1, signers: ['b'], missing: 1 },
    ]);
    expect(r.ignored.map((e) => e.signature)).toEqual(['05', '06']);
    const valid = readinessOf(set, { inputCount: 1, threshold: 2, cosigners: ['a', 'b', 'd'], isValid: (e) => e.signature !== '01' });
    expect(valid.ready).toBe(false);
    expect(readinessOf(set, { inputCount: 1, threshold: 2, cosigners: ['a', 'b', 'd'] }).ready).toBe(true);
    expect(() => readinessOf(set, { inputCount: 1, threshold: 4, cosigners: ['a', 'b', 'd'] })).toThrow(expect.objectContaining({ code: 'proposal.bad_threshold' }));
  });

  it('matches a brute-force count on random sets', () => {
    fc.assert(
      fc.property(fc.array(goodEntry, { maxLength: 14 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), (entries, m, inputs) => {
        const set = createSignatureSet(entries);
        const cosigners = ['a', 'b', 'd'];
        const r = readinessOf(set, { inputCount: inputs, threshold: m, cosigners });
        let ready = true;
        for (let i = 0; i < inputs; i++) {
          const distinct = new Set(set.filter((e) => e.input === i).map((e) => e.cosigner)).size;
          if (distinct < m) ready = false;
        }
        expect(r.ready).toBe(ready);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects when declines > N - M, i.e. when fewer than M cosigners remain', () => {
    expect(maxDeclines(3, 2)).toBe(1);
    expect(isUnreachable({ cosignerCount: 3, threshold: 2, declines: 1 })).toBe(false);
    expect(isUnreachable({ cosignerCount: 3, threshold: 2, declines: 2 })).toBe(true);
    expect(() => maxDeclines(2, 3)).toThrow(expect.objectContaining({ code: 'proposal.bad_threshold' }));
    for (let n = 1; n <= 7; n++) {
      for (let m = 1; m <= n; m++) {
        for (let d = 0; d <= n; d++) expect(isUnreachable({ cosignerCount: n, threshold: m, declines: d })).toBe(n - d < m);
      }
    }
  });
});
