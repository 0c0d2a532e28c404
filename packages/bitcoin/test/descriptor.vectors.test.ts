/**
 * BIP-380 .. BIP-390 descriptor vectors: every case of every file. Valid cases parse, print back
 * exactly, and expand to the expected scripts (per child for ranged descriptors, per path for
 * multipath ones); invalid cases throw an InvalidDescriptorError whose code matches the BIP's reason.
 */
import { readdirSync } from 'node:fs';
import { InvalidDescriptorError, MofnError } from '@mofn/core';
import { describe, expect, it } from 'vitest';
import { findVectorsDir, readVectorJson } from '../../../test/support/vectors.ts';
import {
  expandDescriptor,
  isRangedDescriptor,
  parseDescriptor,
  parseKeyExpression,
  printDescriptor,
  printKeyExpression,
  splitMultipath,
} from '../src/descriptor/index.ts';

interface VectorCase {
  id: string;
  kind: 'descriptor' | 'checksum' | 'key_expression';
  descriptor?: string;
  key_expression?: string;
  valid: boolean;
  description?: string;
  expected_scripts?: string[];
  expected_scripts_by_child?: string[][];
  expected_expansions?: string[];
}

const FILES = ['380', '381', '382', '383', '384', '385', '386', '387', '389', '390'].map((n) => {
  const dir = `BIP-${n}`;
  const names = readdirSync(`${findVectorsDir()!}/${dir}`).filter((f) => f.endsWith('.json'));
  expect(names.length).toBe(1);
  return `${dir}/${names[0]!}`;
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The error code each BIP reason maps to (first match wins). */
const REASON_CODES: [RegExp, string][] = [
  [/invalid characters/i, 'descriptor.syntax'],
  [/checksum/i, 'descriptor.bad_checksum'],
  [/fingerprint|key origin|private key with derivation|no public key/i, 'descriptor.bad_key'],
  [/hardened indicator|derivation index|children indicator|trailing slash/i, 'descriptor.bad_path'],
  [/multipath/i, 'descriptor.multipath'],
  [/ranged musig|ranged participants|musig\(\) cannot/i, 'descriptor.musig'],
  [/uncompressed/i, 'descriptor.uncompressed_in_segwit'],
  [/threshold/i, 'descriptor.bad_threshold'],
  [/more than \d+ keys|too many/i, 'descriptor.too_many_keys'],
  [/non-hex script/i, 'descriptor.bad_script'],
  [/invalid address/i, 'descriptor.bad_address'],
  [/only accepts|top level|nested|unsupported .*(context|level)|not allowed in|key in wsh|script in|\(\) in \w+/i, 'descriptor.bad_context'],
];

function expectedCode(description: string): string | undefined {
  return REASON_CODES.find(([re]) => re.test(description))?.[1];
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

for (const file of FILES) {
  const data = readVectorJson<{ cases: VectorCase[] }>(file);
  describe(file, () => {
    it('has cases', () => {
      expect(data.cases.length).toBeGreaterThan(0);
    });
    for (const c of data.cases) {
      const text = c.descriptor ?? c.key_expression!;
      it(`${c.id}: ${c.valid ? 'valid' : 'invalid'} ${c.kind}${c.description ? ` (${c.description})` : ''}`, () => {
        if (c.kind === 'key_expression') {
          if (c.valid) {
            const k = parseKeyExpression(text);
            expect(printKeyExpression(k)).toBe(text);
            // The same key inside a descriptor also parses and prints back.
            const d = parseDescriptor(`pk(${text})`);
            expect(printDescriptor(d)).toBe(`pk(${text})`);
          } else {
            const err = catchError(() => parseKeyExpression(text));
            expect(err).toBeInstanceOf(InvalidDescriptorError);
            const code = expectedCode(c.description ?? '');
            if (code !== undefined) expect((err as MofnError).code).toBe(code);
          }
          return;
        }
        if (!c.valid) {
          const err = catchError(() => parseDescriptor(text));
          expect(err, 'parse must fail').toBeInstanceOf(InvalidDescriptorError);
          const code = expectedCode(c.description ?? '');
          expect(code, `no expected code for reason '${c.description ?? ''}'`).toBeDefined();
          expect((err as MofnError).code).toBe(code);
          return;
        }
        const d = parseDescriptor(text);
        expect(printDescriptor(d)).toBe(text);
        if (c.expected_scripts !== undefined) {
          if (isRangedDescriptor(d)) {
            c.expected_scripts.forEach((want, i) => {
              expect(expandDescriptor(d, i).map((o) => hex(o.scriptPubKey))).toEqual([want]);
            });
          } else {
            expect(expandDescriptor(d).map((o) => hex(o.scriptPubKey))).toEqual(c.expected_scripts);
          }
        }
        if (c.expected_scripts_by_child !== undefined) {
          c.expected_scripts_by_child.forEach((want, i) => {
            expect(expandDescriptor(d, i).map((o) => hex(o.scriptPubKey))).toEqual(want);
          });
        }
        if (c.expected_expansions !== undefined) {
          const parts = splitMultipath(d);
          expect(parts.map((p) => printDescriptor(p))).toEqual(c.expected_expansions);
          // Expanding the multipath descriptor gives, per path, what its single-path descriptor gives
          // (when the keys can be derived without private data).
          const ranged = isRangedDescriptor(d);
          const all = expandDescriptor(d, ranged ? 7 : undefined);
          parts.forEach((p, i) => {
            expect(printDescriptor(parseDescriptor(c.expected_expansions![i]!))).toBe(c.expected_expansions![i]);
            const single = expandDescriptor(p, ranged ? 7 : undefined).map((o) => hex(o.scriptPubKey));
            expect(all.filter((o) => o.pathIndex === i).map((o) => hex(o.scriptPubKey))).toEqual(single);
          });
        }
        if (c.expected_scripts === undefined && c.expected_scripts_by_child === undefined && c.expected_expansions === undefined) {
          // Checksum cases: the checksum, when present, was verified by the parse above.
          expect(c.kind).toBe('checksum');
        }
      });
    }
  });
}
