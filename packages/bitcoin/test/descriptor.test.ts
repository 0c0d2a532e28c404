/**
 * Descriptor unit tests: one test per error kind, checksum handling, options, expansion details
 * (taproot trees and control blocks, hardened derivation, musig with origins) and printing.
 */
import { InvalidDescriptorError, MofnError } from '@mofn/core';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { testCosigner } from '../../../test/support/cosigners.ts';
import {
  addDescriptorChecksum,
  descriptorChecksum,
  expandDescriptor,
  isValidDescriptorChecksum,
  parseDescriptor,
  parseKeyExpression,
  printDescriptor,
  pushNumber,
  splitDescriptorChecksum,
  splitMultipath,
} from '../src/descriptor/index.ts';

bitcoin.initEccLib(ecc);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const A = testCosigner('d0', { network: 'main' });
const B = testCosigner('d1', { network: 'main' });
const T = testCosigner('d2');
const XA = A.account.publicExtendedKey;
const XB = B.account.publicExtendedKey;
const PA = hex(A.account.deriveChild(0).deriveChild(0).publicKey!);
const PB = hex(B.account.deriveChild(0).deriveChild(0).publicKey!);
const UNCOMPRESSED = hex(ecc.pointCompress(Buffer.from(PA, 'hex'), false));

function codeOf(text: string, options?: Parameters<typeof parseDescriptor>[1]): string {
  try {
    parseDescriptor(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidDescriptorError);
    return (err as MofnError).code;
  }
  return 'ok';
}

describe('checksum', () => {
  it('computes, verifies and appends', () => {
    expect(descriptorChecksum('raw(deadbeef)')).toBe('89f8spxm');
    expect(addDescriptorChecksum('raw(deadbeef)')).toBe('raw(deadbeef)#89f8spxm');
    expect(isValidDescriptorChecksum('raw(deadbeef)#89f8spxm')).toBe(true);
    expect(isValidDescriptorChecksum('raw(deedbeef)#89f8spxm')).toBe(false);
    expect(isValidDescriptorChecksum('raw(Ü)#89f8spxm')).toBe(false);
    expect(splitDescriptorChecksum('raw(deadbeef)#89f8spxm')).toEqual({ body: 'raw(deadbeef)', checksum: '89f8spxm' });
  });

  it('names the expected checksum on a mismatch', () => {
    try {
      parseDescriptor('raw(deadbeef)#qqqqqqqq');
      expect.unreachable();
    } catch (err) {
      expect((err as MofnError).code).toBe('descriptor.bad_checksum');
      expect((err as MofnError).message).toContain('89f8spxm');
      expect((err as MofnError).details).toMatchObject({ expected: '89f8spxm' });
    }
  });

  it('requires a checksum only when asked', () => {
    expect(codeOf('raw(deadbeef)', { requireChecksum: true })).toBe('descriptor.missing_checksum');
    expect(codeOf('raw(deadbeef)#89f8spxm', { requireChecksum: true })).toBe('ok');
    expect(codeOf('raw(deadbeef)')).toBe('ok');
  });
});

describe('one error code per kind', () => {
  const cases: [string, string][] = [
    ['', 'descriptor.syntax'],
    ['wsh(pk(', 'descriptor.syntax'],
    [`pk(${PA}))`, 'descriptor.syntax'],
    [`foo(${PA})`, 'descriptor.syntax'],
    [`pk(${PA},${PB})`, 'descriptor.syntax'],
    [`tr(${PA.slice(2)},{pk(${PB})})`, 'descriptor.syntax'],
    [`multi(2,${PA})`, 'descriptor.bad_threshold'],
    [`multi(0,${PA})`, 'descriptor.bad_threshold'],
    [`multi(01,${PA})`, 'descriptor.bad_threshold'],
    [`wsh(multi(1,${PA},${PB},${PA}))`, 'descriptor.duplicate_key'],
    [`wsh(multi(1,${XA}/0/*,[aabbccdd/1]${XA}/0/*))`, 'descriptor.duplicate_key'],
    [`tr(${PB.slice(2)},multi_a(1,${PA},${PA.slice(2)}))`, 'descriptor.duplicate_key'],
    [`wsh(multi(1,${XA}/0/*,${T.account.publicExtendedKey}/0/*))`, 'descriptor.mixed_networks'],
    [`wpkh(${UNCOMPRESSED})`, 'descriptor.uncompressed_in_segwit'],
    [`sh(wsh(multi(1,${UNCOMPRESSED})))`, 'descriptor.uncompressed_in_segwit'],
    [`multi(1,${PA},${PB},${XA}/1,${XB}/1)`, 'descriptor.too_many_keys'],
    [`wsh(multi(1,${Array.from({ length: 21 }, (_, i) => `${XA}/${i}`).join(',')}))`, 'descriptor.too_many_keys'],
    [`sh(multi(1,${UNCOMPRESSED},${XA}/1,${UNCOMPRESSED}))`, 'descriptor.duplicate_key'],
    [`sh(sh(pk(${PA})))`, 'descriptor.bad_context'],
    [`wsh(wpkh(${PA}))`, 'descriptor.bad_context'],
    [`tr(${PA},multi(1,${PB}))`, 'descriptor.bad_context'],
    [`sortedmulti_a(1,${PA})`, 'descriptor.bad_context'],
    [`wsh(${PA})`, 'descriptor.bad_context'],
    [`pk(musig(${PA},${PB}))`, 'descriptor.bad_context'],
    [`pk(${PA.slice(0, 64)}zz)`, 'descriptor.bad_key'],
    [`pk(${PA.slice(2)})`, 'descriptor.bad_key'],
    [`pk(02${'00'.repeat(32)})`, 'descriptor.bad_key'],
    [`pk(ypub${XA.slice(4)})`, 'descriptor.bad_key'],
    [`pk(${XA.slice(0, -1)}1)`, 'descriptor.bad_key'],
    [`pk(${PA}/0)`, 'descriptor.bad_key'],
    [`pk(${XA}/0/01)`, 'descriptor.bad_path'],
    [`pk(${XA}/0H)`, 'descriptor.bad_path'],
    [`pk(${XA}/*/0)`, 'descriptor.bad_path'],
    [`pk(${XA}/<0;0>)`, 'descriptor.multipath'],
    [`pk(${XA}/<0>)`, 'descriptor.multipath'],
    [`tr(musig(${XA}/*,${XB})/0/*)`, 'descriptor.musig'],
    [`tr(musig(musig(${PA},${PB}),${PB}))`, 'descriptor.musig'],
    [`raw(abc)`, 'descriptor.bad_script'],
    [`addr(bc1qnotanaddress)`, 'descriptor.bad_address'],
    [`wsh(and_v(v:pk(${PA}),older(10)))`, 'descriptor.unsupported'],
    [`wsh(thresh(1,pk(${PA})))`, 'descriptor.unsupported'],
    [`tr(${PA},${'{'.repeat(129)}pk(${PB})${`,pk(${PA})}`.repeat(129)})`, 'descriptor.tree_too_deep'],
  ];
  for (const [text, code] of cases) {
    it(`${code}: ${text.length > 70 ? `${text.slice(0, 70)}...` : text}`, () => {
      expect(codeOf(text)).toBe(code);
    });
  }

  it('limits sh(multi()) by the 520-byte redeem script: 15 compressed, 7 uncompressed keys', () => {
    const comp = (n: number): string => Array.from({ length: n }, (_, i) => `${XA}/${i}`).join(',');
    expect(codeOf(`sh(multi(1,${comp(15)}))`)).toBe('ok');
    expect(codeOf(`sh(multi(1,${comp(16)}))`)).toBe('descriptor.too_many_keys');
    const unc = (n: number): string =>
      Array.from({ length: n }, (_, i) => hex(ecc.pointCompress(A.account.deriveChild(i).publicKey!, false))).join(',');
    expect(codeOf(`sh(multi(1,${unc(7)}))`)).toBe('ok');
    expect(codeOf(`sh(multi(1,${unc(8)}))`)).toBe('descriptor.too_many_keys');
  });

  it('pins the network when asked', () => {
    expect(codeOf(`wpkh(${XA}/0/*)`, { network: 'test' })).toBe('descriptor.wrong_network');
    expect(codeOf(`wpkh(${T.account.publicExtendedKey}/0/*)`, { network: 'regtest' })).toBe('ok');
    expect(codeOf('addr(bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq)', { network: 'test' })).toBe('descriptor.wrong_network');
    expect(codeOf('addr(bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq)', { network: 'main' })).toBe('ok');
  });

  it('reports hardened steps after an xpub at parse time when asked, else at expansion', () => {
    const text = `wpkh(${XA}/0h/*)`;
    expect(codeOf(text)).toBe('ok');
    expect(codeOf(text, { requireDerivable: true })).toBe('descriptor.hardened_after_xpub');
    expect(() => expandDescriptor(parseDescriptor(text), 0)).toThrow(expect.objectContaining({ code: 'descriptor.hardened_after_xpub' }));
    // With the private key the same derivation works, and matches the public derivation.
    const priv = parseDescriptor(`wpkh(${A.account.privateExtendedKey}/0h/*)`);
    const pub = A.account.deriveChild(0x80000000).deriveChild(5).publicKey!;
    expect(hex(expandDescriptor(priv, 5)[0]!.scriptPubKey)).toBe(hex(bitcoin.payments.p2wpkh({ pubkey: pub }).output!));
  });

  it('checks indexes', () => {
    const d = parseDescriptor(`wpkh(${XA}/0/*)`);
    expect(() => expandDescriptor(d)).toThrow(expect.objectContaining({ code: 'descriptor.needs_index' }));
    expect(() => expandDescriptor(d, -1)).toThrow(expect.objectContaining({ code: 'descriptor.bad_index' }));
    expect(() => expandDescriptor(d, 2 ** 31)).toThrow(expect.objectContaining({ code: 'descriptor.bad_index' }));
  });

  it('rejects stray spaces with the error of the expression itself first', () => {
    expect(codeOf(`tr(${PA.slice(2)}, pkh(${PB}))`)).toBe('descriptor.bad_context');
    expect(codeOf(`tr(${PA.slice(2)}, pk(${PB}))`)).toBe('descriptor.syntax');
    expect(codeOf(`pk( ${PA})`)).toBe('descriptor.bad_key');
  });
});

describe('expansion', () => {
  it('builds taproot trees with control blocks that bitcoinjs-lib agrees with', () => {
    const internal = PA.slice(2);
    const text = `tr(${internal},{pk(${PB}),{multi_a(1,${XA}/0/*,${XB}/0/*),sortedmulti_a(2,${XA}/1/*,${XB}/1/*)}})`;
    const d = parseDescriptor(text);
    const [out] = expandDescriptor(d, 3);
    const leaves = out!.tapLeaves!;
    expect(leaves).toHaveLength(3);
    const scriptTree: bitcoin.payments.Payment['scriptTree'] = [{ output: leaves[0]!.script }, [{ output: leaves[1]!.script }, { output: leaves[2]!.script }]];
    for (const leaf of leaves) {
      const p = bitcoin.payments.p2tr({ internalPubkey: Buffer.from(internal, 'hex'), scriptTree, redeem: { output: leaf.script, redeemVersion: 0xc0 } });
      expect(hex(out!.scriptPubKey)).toBe(hex(p.output!));
      expect(hex(leaf.controlBlock)).toBe(hex(p.witness![p.witness!.length - 1]!));
    }
    expect(hex(out!.tapInternalKey!)).toBe(internal);
  });

  it('expands musig() with participant origins and derivation after the aggregate', () => {
    const d = parseDescriptor(`tr(musig([${A.fingerprint}/48h/0h/0h/2h]${XA},${XB})/<0;1>/*)`);
    const outs = expandDescriptor(d, 4);
    expect(outs.map((o) => o.pathIndex)).toEqual([0, 1]);
    const swapped = parseDescriptor(`tr(musig(${XB},${XA})/<0;1>/*)`);
    // BIP-390 sorts participants (KeySort) before aggregation: order does not matter.
    expect(expandDescriptor(swapped, 4).map((o) => hex(o.scriptPubKey))).toEqual(outs.map((o) => hex(o.scriptPubKey)));
  });

  it('gives sh-wsh redeem and witness scripts and combo outputs', () => {
    const [o] = expandDescriptor(parseDescriptor(`sh(wsh(multi(1,${PA},${PB})))`));
    const ms = bitcoin.payments.p2ms({ m: 1, pubkeys: [Buffer.from(PA, 'hex'), Buffer.from(PB, 'hex')] });
    const w = bitcoin.payments.p2wsh({ redeem: ms });
    expect(hex(o!.witnessScript!)).toBe(hex(ms.output!));
    expect(hex(o!.redeemScript!)).toBe(hex(w.output!));
    expect(hex(o!.scriptPubKey)).toBe(hex(bitcoin.payments.p2sh({ redeem: w }).output!));
    expect(expandDescriptor(parseDescriptor(`combo(${UNCOMPRESSED})`))).toHaveLength(2);
    expect(expandDescriptor(parseDescriptor(`combo(${XA}/*)`), 1)).toHaveLength(4);
  });

  it('pushes thresholds above 16 as script numbers', () => {
    expect(hex(pushNumber(16))).toBe('60');
    expect(hex(pushNumber(17))).toBe('0111');
    expect(hex(pushNumber(128))).toBe('028000');
    expect(hex(pushNumber(999))).toBe('02e703');
    const keys = Array.from({ length: 20 }, (_, i) => `${XA}/${i}`).join(',');
    const [o] = expandDescriptor(parseDescriptor(`wsh(multi(17,${keys}))`));
    expect(hex(o!.witnessScript!).slice(0, 4)).toBe('0111');
    expect(hex(o!.witnessScript!).slice(-6)).toBe('0114ae');
  });
});

describe('printing', () => {
  it('keeps hardened-marker styles and key spelling, and splits multipath per path', () => {
    const text = `wsh(sortedmulti(1,[${A.fingerprint.toUpperCase()}/48'/0h/0'/2h]${XA}/<0;1>/*,${PB.toUpperCase()}))`;
    const d = parseDescriptor(text);
    expect(printDescriptor(d)).toBe(text);
    expect(printDescriptor(d, { checksum: true })).toBe(addDescriptorChecksum(text));
    const parts = splitMultipath(parseDescriptor(addDescriptorChecksum(text)));
    expect(parts.map((p) => printDescriptor(p))).toEqual([
      addDescriptorChecksum(text.replace('<0;1>', '0')),
      addDescriptorChecksum(text.replace('<0;1>', '1')),
    ]);
    expect(parseKeyExpression(`${XA}/1'/2h/*'`)).toMatchObject({ wildcard: 'hardened', wildcardMarker: "'" });
  });
});
