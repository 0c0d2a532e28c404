/**
 * Descriptor properties: print(parse(s)) === s for random descriptors over the whole BIP-380..390
 * grammar (random keys, origins, hardened-marker styles, multipath, wildcards, script trees);
 * random character mutations only ever raise MofnError subclasses, and a descriptor whose body or
 * checksum was altered is never accepted with its old checksum.
 */
import { ECPairFactory } from 'ecpair';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { InvalidDescriptorError, MofnError } from '@mofn/core';
import { testCosigner } from '../../../test/support/cosigners.ts';
import {
  descriptorChecksum,
  expandDescriptor,
  isRangedDescriptor,
  parseDescriptor,
  printDescriptor,
  splitMultipath,
} from '../src/descriptor/index.ts';

const ECPair = ECPairFactory(ecc);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Key material, all mainnet (one network per descriptor).
const accounts = Array.from({ length: 6 }, (_, i) => testCosigner(`prop${i}`, { network: 'main' }));
const XPUBS = accounts.map((a) => a.account.publicExtendedKey);
const XPRVS = accounts.slice(0, 2).map((a) => a.account.privateExtendedKey);
const PRIVS = accounts.map((a) => a.account.deriveChild(9).privateKey!);
const COMPRESSED = PRIVS.map((p) => hex(ECPair.fromPrivateKey(p).publicKey));
const UNCOMPRESSED = PRIVS.slice(0, 2).map((p) => hex(ECPair.fromPrivateKey(p, { compressed: false }).publicKey));
const WIFS = PRIVS.slice(0, 3).map((p) => ECPair.fromPrivateKey(p).toWIF());
const WIF_UNCOMPRESSED = ECPair.fromPrivateKey(PRIVS[3]!, { compressed: false }).toWIF();

type Ctx = 'legacy' | 'segwit' | 'tap';

const marker = fc.constantFrom("'", 'h');
const step = fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.boolean(), marker).map(([n, h, m]) => (h ? `${n}${m}` : String(n)));
const origin = fc.option(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }).map(hex), fc.array(step, { maxLength: 5 })).map(([fp, path]) => `[${[fp, ...path].join('/')}]`),
  { nil: '' },
);

/** A key expression for a context; `mp` is the descriptor-wide multipath length (0 = none). */
function keyArb(ctx: Ctx, mp: number): fc.Arbitrary<string> {
  const xkey = fc
    .record({
      key: fc.constantFrom(...XPUBS, ...XPRVS),
      before: fc.array(fc.integer({ min: 0, max: 1000 }).map(String), { maxLength: 3 }),
      hardenedStep: fc.option(fc.tuple(fc.integer({ min: 0, max: 100 }), marker).map(([n, m]) => `${n}${m}`), { nil: undefined }),
      multi: fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: mp, maxLength: mp }),
      after: fc.array(fc.integer({ min: 0, max: 1000 }).map(String), { maxLength: 2 }),
      wildcard: fc.constantFrom('', '/*', '/*', "/*'", '/*h'),
    })
    .map(({ key, before, hardenedStep, multi, after, wildcard }) => {
      const parts = [key, ...before];
      if (hardenedStep !== undefined) parts.push(hardenedStep);
      if (mp > 0) parts.push(`<${multi.join(';')}>`);
      parts.push(...after);
      return parts.join('/') + wildcard;
    });
  const single = fc.constantFrom(
    ...COMPRESSED,
    ...WIFS,
    ...(ctx === 'legacy' ? [...UNCOMPRESSED, WIF_UNCOMPRESSED] : []),
    ...(ctx === 'tap' ? COMPRESSED.map((c) => c.slice(2)) : []),
  );
  const base = mp > 0 ? xkey : fc.oneof(xkey, single);
  return fc.tuple(origin, base).map(([o, k]: [string, string]) => o + k);
}

/** What makes two key expressions the same signer: material (as x-only for hex) and derivation. */
function keyIdentity(k: string): string {
  let t = k.replace(/^\[[^\]]*\]/, '');
  WIFS.forEach((w, i) => (t = t.replace(w, COMPRESSED[i]!)));
  XPRVS.forEach((x, i) => (t = t.replace(x, XPUBS[i]!)));
  return /^[0-9a-f]{66}$/.test(t) ? t.slice(2) : t;
}

function uniqueKeys(ctx: Ctx, mp: number, min: number, max: number): fc.Arbitrary<string[]> {
  // Distinct texts are not enough (the same key can be written twice); distinct material is
  // what multi() requires, so draw keys and drop exact repeats of the material+path.
  return fc.uniqueArray(keyArb(ctx, mp), { minLength: min, maxLength: max, selector: keyIdentity });
}

function multiArb(name: string, ctx: Ctx, mp: number, maxKeys: number): fc.Arbitrary<string> {
  return uniqueKeys(ctx, mp, 1, maxKeys).chain((keys) => fc.integer({ min: 1, max: keys.length }).map((k) => `${name}(${k},${keys.join(',')})`));
}

function leafArb(mp: number): fc.Arbitrary<string> {
  return fc.oneof(
    keyArb('tap', mp).map((k) => `pk(${k})`),
    multiArb('multi_a', 'tap', mp, 4),
    multiArb('sortedmulti_a', 'tap', mp, 4),
  );
}

const treeArb = (mp: number): fc.Arbitrary<string> =>
  fc.letrec<{ tree: string }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafArb(mp), fc.tuple(tie('tree'), tie('tree')).map(([a, b]) => `{${a},${b}}`)),
  })).tree;

function descriptorArb(mp: number): fc.Arbitrary<string> {
  const inner = (ctx: Ctx): fc.Arbitrary<string> =>
    fc.oneof(
      keyArb(ctx, mp).map((k) => `pk(${k})`),
      keyArb(ctx, mp).map((k) => `pkh(${k})`),
      multiArb('multi', ctx, mp, 5),
      multiArb('sortedmulti', ctx, mp, 5),
    );
  return fc.oneof(
    inner('legacy').filter((s) => !s.startsWith('multi') && !s.startsWith('sortedmulti')),
    multiArb('multi', 'legacy', mp, 3),
    keyArb('segwit', mp).map((k) => `wpkh(${k})`),
    keyArb('segwit', mp).map((k) => `sh(wpkh(${k}))`),
    keyArb('legacy', mp).map((k) => `combo(${k})`),
    inner('legacy').map((s) => `sh(${s})`),
    inner('segwit').map((s) => `wsh(${s})`),
    inner('segwit').map((s) => `sh(wsh(${s}))`),
    keyArb('tap', mp).map((k) => `tr(${k})`),
    fc.tuple(keyArb('tap', mp), treeArb(mp)).map(([k, t]) => `tr(${k},${t})`),
    keyArb('tap', mp).map((k) => `rawtr(${k})`),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => `raw(${hex(b)})`),
    fc.constantFrom('addr(bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq)', 'addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j)', 'addr(1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2)'),
  );
}

const anyDescriptor = fc.oneof({ weight: 3, arbitrary: descriptorArb(0) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }).chain(descriptorArb) });

/** Parses, expands, and checks the only failure allowed for a well-formed descriptor. */
function expandOrHardened(text: string): void {
  const d = parseDescriptor(text);
  try {
    expandDescriptor(d, isRangedDescriptor(d) ? 3 : undefined);
  } catch (err) {
    expect((err as MofnError).code).toBe('descriptor.hardened_after_xpub');
  }
}

describe('descriptor generator', () => {
  it('covers every script form, trees, multipath and hardened markers', () => {
    const seen = new Set<string>();
    for (const text of fc.sample(anyDescriptor, { numRuns: 2000, seed: 42 })) {
      seen.add(text.slice(0, text.indexOf('(')));
      if (text.includes('{')) seen.add('tree');
      if (text.includes('<')) seen.add('multipath');
      if (text.includes('sortedmulti_a(')) seen.add('sortedmulti_a');
      if (text.includes("'")) seen.add("'");
      if (text.includes('*h')) seen.add('*h');
    }
    for (const form of ['pk', 'pkh', 'wpkh', 'sh', 'wsh', 'multi', 'combo', 'tr', 'rawtr', 'raw', 'addr', 'tree', 'multipath', 'sortedmulti_a', "'", '*h']) {
      expect(seen, form).toContain(form);
    }
  });
});

describe('descriptor print/parse round trip', () => {
  it('prints every generated descriptor back exactly, with and without checksum', () => {
    fc.assert(
      fc.property(anyDescriptor, (text) => {
        const d = parseDescriptor(text);
        expect(printDescriptor(d)).toBe(text);
        const withSum = `${text}#${descriptorChecksum(text)}`;
        expect(printDescriptor(parseDescriptor(withSum, { requireChecksum: true }))).toBe(withSum);
        expect(printDescriptor(d, { checksum: true })).toBe(withSum);
        for (const part of splitMultipath(d)) expect(printDescriptor(parseDescriptor(printDescriptor(part)))).toBe(printDescriptor(part));
        expandOrHardened(text);
      }),
      { numRuns: 400 },
    );
  });
});

const CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
const mutation = fc.record({
  kind: fc.constantFrom('replace', 'replace', 'insert', 'delete', 'swap'),
  at: fc.nat(),
  char: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...CHARSET.split('')) }, { weight: 1, arbitrary: fc.constantFrom('Ü', '\n', '\t', '\u0000', 'é') }),
});

function mutate(s: string, m: { kind: string; at: number; char: string }): string {
  const i = m.at % s.length;
  switch (m.kind) {
    case 'replace':
      return s.slice(0, i) + m.char + s.slice(i + 1);
    case 'insert':
      return s.slice(0, i) + m.char + s.slice(i);
    case 'delete':
      return s.slice(0, i) + s.slice(i + 1);
    default: {
      const j = Math.min(i + 1, s.length - 1);
      return s.slice(0, i) + s[j]! + s[i]! + s.slice(j + 1);
    }
  }
}

function outcome(f: () => unknown): 'ok' | MofnError {
  try {
    f();
    return 'ok';
  } catch (err) {
    if (!(err instanceof MofnError)) throw new Error(`non-MofnError thrown: ${String(err)}`, { cause: err });
    return err;
  }
}

describe('mutated descriptors', () => {
  it('are rejected with their old checksum; with a fresh one they parse or fail with MofnError only', () => {
    fc.assert(
      fc.property(anyDescriptor, fc.array(mutation, { minLength: 1, maxLength: 2 }), (body, ms) => {
        let mutated = body;
        for (const m of ms) mutated = mutate(mutated, m);
        fc.pre(mutated !== body && mutated.length > 0 && !mutated.includes('#'));
        // Old checksum: never accepted (BIP-380 detects any error of up to 3 symbols at these lengths).
        const stale = outcome(() => parseDescriptor(`${mutated}#${descriptorChecksum(body)}`));
        expect(stale).not.toBe('ok');
        expect(stale).toBeInstanceOf(InvalidDescriptorError);
        // Fresh checksum (an attacker or a tool that recomputes it): a typed outcome either way.
        const invalidChar = /[^\x20-\x7e]/.test(mutated);
        const fresh = outcome(() => {
          const text = `${mutated}#${descriptorChecksum(mutated)}`;
          const d = parseDescriptor(text);
          expect(printDescriptor(d)).toBe(text);
          expandDescriptor(d, isRangedDescriptor(d) ? 1 : undefined);
        });
        if (invalidChar) expect(fresh === 'ok' ? fresh : fresh.code).toBe('descriptor.syntax');
        // No checksum at all.
        outcome(() => parseDescriptor(mutated));
      }),
      { numRuns: 1500 },
    );
  });

  it('never accept a mutated checksum', () => {
    fc.assert(
      fc.property(anyDescriptor, fc.nat(7), fc.constantFrom(...'qpzry9x8gf2tvdw0s3jn54khce6mua7l#Q1'.split('')), (body, i, c) => {
        const sum = descriptorChecksum(body);
        fc.pre(sum[i] !== c);
        const bad = sum.slice(0, i) + c + sum.slice(i + 1);
        const err = outcome(() => parseDescriptor(`${body}#${bad}`));
        expect(err === 'ok' ? err : err.code).toBe('descriptor.bad_checksum');
        expect(err === 'ok' ? '' : err.message).toContain(sum);
      }),
      { numRuns: 300 },
    );
  });
});
