/**
 * Wallet policies: creation and each refusal, descriptor round trips, canonical ids, address
 * derivation details (scripts, key order, origins, taproot fields) and address search.
 */
import { InvalidDescriptorError, InvalidKeyError, MofnError } from '@mofn/core';
import { describe, expect, it } from 'vitest';
import { testCosigner } from '../../../test/support/cosigners.ts';
import { expandDescriptor, multisigScript, parseDescriptor, tapLeafHash, taprootTweak } from '../src/descriptor/index.ts';
import { deriveChildPublic, encodeExtendedPublicKey, fingerprintOf, parseExtendedPublicKey } from '../src/keys/index.ts';
import { scriptToAddress } from '../src/address.ts';
import {
  NUMS_INTERNAL_KEY,
  createAddressDeriver,
  createPolicy,
  describePolicy,
  multiAScript,
  policyFromDescriptor,
  policyToDescriptor,
  walletIdOf,
} from '../src/wallet/index.ts';
import type { ScriptType } from '../src/types.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

const keyCache = new Map<string, string>();
function cachedKey(label: string, network: 'main' | 'test'): string {
  const id = `${network}:${label}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    key = testCosigner(label, { network }).key;
    keyCache.set(id, key);
  }
  return key;
}
const testKeys = (n: number, prefix = 'w'): string[] => Array.from({ length: n }, (_, i) => cachedKey(`${prefix}${i}`, 'test'));
const mainKeys = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => cachedKey(`${prefix}${i}`, 'main'));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MofnError);
    return (err as MofnError).code;
  }
  throw new Error('expected an error');
}

describe('createPolicy', () => {
  it('builds a frozen 2-of-3 wsh sortedmulti policy with origins', () => {
    const keys = testKeys(3);
    const p = createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test' });
    expect(p).toMatchObject({ type: 'wsh', threshold: 2, sorted: true, network: 'test' });
    expect(p.keys).toHaveLength(3);
    expect(p.keys[0]!.origin).toEqual({ fingerprint: testCosigner('w0').fingerprint, path: [0x80000030, 0x80000001, 0x80000000, 0x80000002] });
    expect(Object.isFrozen(p) && Object.isFrozen(p.keys)).toBe(true);
  });

  it('accepts bare xpubs and SLIP-132 Vpub keys, signet/regtest with tpub', () => {
    const bare = testCosigner('b0').account.publicExtendedKey;
    expect(createPolicy({ type: 'sh-wsh', threshold: 1, keys: [bare], network: 'signet' }).keys[0]!.origin).toBeUndefined();
    expect(createPolicy({ type: 'sh-wsh', threshold: 1, keys: [bare], network: 'regtest' }).network).toBe('regtest');
  });

  it('refuses M > N and M = 0', () => {
    const keys = testKeys(3);
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 4, keys, network: 'test' }))).toBe('policy.bad_threshold');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 0, keys, network: 'test' }))).toBe('policy.bad_threshold');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1.5, keys, network: 'test' }))).toBe('policy.bad_threshold');
  });

  it('refuses the same key twice even under different fingerprints and paths', () => {
    const c = testCosigner('dup');
    const xpub = c.account.publicExtendedKey;
    const keys = [c.key, `[0badf00d/48h/1h/7h/2h]${xpub}`, testCosigner('other').key];
    const err = (() => {
      try {
        createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test' });
      } catch (e) {
        return e as MofnError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidDescriptorError);
    expect(err!.code).toBe('policy.duplicate_key');
    expect(err!.details).toEqual({ first: 0, second: 1 });
  });

  it('refuses a key of another network (mixed networks)', () => {
    const keys = [...testKeys(2), mainKeys(1)[0]!];
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test' }))).toBe('key.wrong_network');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 2, keys: mainKeys(3).concat(testKeys(1)), network: 'main' }))).toBe('key.wrong_network');
  });

  it('refuses 16 keys in sh but takes 15, 21 in wsh / sh-wsh but takes 20', () => {
    expect(createPolicy({ type: 'sh', threshold: 2, keys: testKeys(15), network: 'test' }).keys).toHaveLength(15);
    expect(codeOf(() => createPolicy({ type: 'sh', threshold: 2, keys: testKeys(16), network: 'test' }))).toBe('policy.too_many_keys');
    expect(createPolicy({ type: 'wsh', threshold: 2, keys: testKeys(20), network: 'test' }).keys).toHaveLength(20);
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 2, keys: testKeys(21), network: 'test' }))).toBe('policy.too_many_keys');
    expect(codeOf(() => createPolicy({ type: 'sh-wsh', threshold: 2, keys: testKeys(21), network: 'test' }))).toBe('policy.too_many_keys');
    expect(createPolicy({ type: 'tr', threshold: 2, keys: testKeys(21), network: 'test' }).keys).toHaveLength(21);
  });

  it('refuses a private key', () => {
    const xprv = testCosigner('priv').account.privateExtendedKey;
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1, keys: [xprv], network: 'test' }))).toBe('key.private_key');
  });

  it('refuses a derivation suffix, an unknown type, network or no keys', () => {
    const [k] = testKeys(1);
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1, keys: [`${k!}/<0;1>/*`], network: 'test' }))).toBe('policy.bad_key');
    expect(codeOf(() => createPolicy({ type: 'p2pkh' as ScriptType, threshold: 1, keys: [k!], network: 'test' }))).toBe('policy.bad_type');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1, keys: [k!], network: 'moon' as 'test' }))).toBe('policy.bad_network');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1, keys: [], network: 'test' }))).toBe('policy.no_keys');
    expect(codeOf(() => createPolicy({ type: 'wsh', threshold: 1, keys: ['[zz]tpub'], network: 'test' }))).toMatch(/^key\./);
  });

  it('does not mutate its input', () => {
    const keys = testKeys(3);
    const copy = [...keys];
    createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test' });
    expect(keys).toEqual(copy);
  });
});

describe('policyToDescriptor / policyFromDescriptor', () => {
  const types: ScriptType[] = ['sh', 'wsh', 'sh-wsh', 'tr'];
  for (const type of types) {
    for (const sorted of [true, false]) {
      it(`round-trips ${type} ${sorted ? 'sorted' : 'unsorted'}`, () => {
        const p = createPolicy({ type, threshold: 2, keys: testKeys(3), network: 'test', sorted });
        const text = policyToDescriptor(p);
        expect(text).toMatch(/#[a-z0-9]{8}$/);
        expect(text).toContain('/<0;1>/*');
        const back = policyFromDescriptor(text, 'test');
        expect(back).toEqual(p);
        expect(walletIdOf(back)).toBe(walletIdOf(p));
        // Single-branch descriptors describe the same wallet.
        for (const branch of [0, 1] as const) {
          const one = policyToDescriptor(p, { branch, checksum: false });
          expect(one).toContain(`/${branch}/*`);
          expect(walletIdOf(policyFromDescriptor(one))).toBe(walletIdOf(p));
        }
      });
    }
  }

  it('prints the canonical text', () => {
    const [a, b] = [testCosigner('w0'), testCosigner('w1')];
    const p = createPolicy({ type: 'tr', threshold: 1, keys: [a.key, b.account.publicExtendedKey], network: 'test', sorted: false });
    expect(policyToDescriptor(p, { checksum: false })).toBe(
      `tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,multi_a(1,${a.key}/<0;1>/*,${b.account.publicExtendedKey}/<0;1>/*))`,
    );
  });

  it('ids ignore cosigner order for sorted wallets only', () => {
    const keys = testKeys(3);
    const reordered = [keys[2]!, keys[0]!, keys[1]!];
    const s1 = createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test' });
    const s2 = createPolicy({ type: 'wsh', threshold: 2, keys: reordered, network: 'test' });
    expect(walletIdOf(s1)).toBe(walletIdOf(s2));
    const u1 = createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test', sorted: false });
    const u2 = createPolicy({ type: 'wsh', threshold: 2, keys: reordered, network: 'test', sorted: false });
    expect(walletIdOf(u1)).not.toBe(walletIdOf(u2));
    expect(walletIdOf(s1)).not.toBe(walletIdOf(u1));
    expect(walletIdOf(s1)).toMatch(/^[0-9a-f]{64}$/);
  });

  const wrap = (inner: string): string => `wsh(sortedmulti(${inner}))`;
  const k = (i: number, suffix = '/<0;1>/*'): string => `${testKeys(21)[i]!}${suffix}`;

  it('refuses M > N and M = 0 in a descriptor', () => {
    expect(codeOf(() => policyFromDescriptor(wrap(`3,${k(0)},${k(1)}`)))).toBe('descriptor.bad_threshold');
    expect(codeOf(() => policyFromDescriptor(wrap(`0,${k(0)},${k(1)}`)))).toBe('descriptor.bad_threshold');
  });

  it('refuses a duplicate key with different fingerprints', () => {
    const c = testCosigner('w0');
    const twin = `[0badf00d/48h/1h/0h/2h]${c.account.publicExtendedKey}/<0;1>/*`;
    expect(codeOf(() => policyFromDescriptor(wrap(`2,${k(0)},${twin},${k(1)}`)))).toBe('descriptor.duplicate_key');
    // Same key on other branches still counts as the same cosigner.
    const twinOther = `${c.account.publicExtendedKey}/<2;3>/*`;
    expect(codeOf(() => policyFromDescriptor(wrap(`2,${k(0)},${twinOther}`)))).toBe('policy.bad_path');
  });

  it('refuses mixed networks, and keys of another network than asked', () => {
    const mixed = wrap(`2,${k(0)},${mainKeys(1)[0]!}/<0;1>/*`);
    expect(codeOf(() => policyFromDescriptor(mixed))).toBe('descriptor.mixed_networks');
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${k(0)}`), 'main'))).toBe('descriptor.wrong_network');
  });

  it('refuses 16 keys in sh and 21 in wsh', () => {
    const list = (n: number): string => Array.from({ length: n }, (_, i) => k(i)).join(',');
    expect(codeOf(() => policyFromDescriptor(`sh(sortedmulti(2,${list(16)}))`))).toBe('descriptor.too_many_keys');
    expect(policyFromDescriptor(`sh(sortedmulti(2,${list(15)}))`).keys).toHaveLength(15);
    expect(codeOf(() => policyFromDescriptor(`wsh(sortedmulti(2,${list(21)}))`))).toBe('descriptor.too_many_keys');
    expect(policyFromDescriptor(`sh(wsh(multi(2,${list(20)})))`).keys).toHaveLength(20);
  });

  it('refuses hardened derivation after an xpub', () => {
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${k(0, '/<0;1>/*h')}`)))).toBe('descriptor.hardened_after_xpub');
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${k(0, "/0'/*")}`)))).toBe('descriptor.hardened_after_xpub');
  });

  it('refuses a private key', () => {
    const c = testCosigner('priv');
    const xprv = `[${c.fingerprint}/48h/1h/0h/2h]${c.account.privateExtendedKey}/<0;1>/*`;
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${xprv}`)))).toBe('policy.private_key');
  });

  it('refuses anything that is not one of the four forms', () => {
    const single = testCosigner('s').account.publicExtendedKey;
    const pub = hex(parseExtendedPublicKey(single).publicKey);
    for (const text of [
      `wpkh(${single}/<0;1>/*)`,
      `sortedmulti(1,${k(0)})`,
      `sh(wsh(pk(${k(0)})))`,
      `wsh(multi(1,${pub}))`,
      `tr(${hex(parseExtendedPublicKey(single).publicKey).slice(2)},sortedmulti_a(1,${k(0)}))`,
      `tr(50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0,{sortedmulti_a(1,${k(0)}),pk(${k(1)})})`,
      `raw(deadbeef)`,
    ]) {
      expect(codeOf(() => policyFromDescriptor(text)), text).toMatch(/^policy\.(unsupported_form|not_xpub)$/);
    }
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${k(0, '/0/0/*')}`)))).toBe('policy.bad_path');
    expect(codeOf(() => policyFromDescriptor(wrap(`1,${k(0, '/0')}`)))).toBe('policy.bad_path');
    expect(codeOf(() => policyFromDescriptor(wrap(`2,${k(0, '/0/*')},${k(1, '/1/*')}`)))).toBe('policy.bad_path');
    expect(codeOf(() => policyFromDescriptor(`${wrap(`1,${k(0)}`)}#00000000`))).toBe('descriptor.bad_checksum');
  });
});

describe('createAddressDeriver', () => {
  it('matches the descriptor expansion for every type, both branches', () => {
    for (const type of ['sh', 'wsh', 'sh-wsh', 'tr'] as const) {
      for (const sorted of [true, false]) {
        const p = createPolicy({ type, threshold: 2, keys: testKeys(3), network: 'test', sorted });
        const d = parseDescriptor(policyToDescriptor(p));
        const deriver = createAddressDeriver(p);
        for (const index of [0, 1, 7, 2 ** 31 - 1]) {
          const [receive, change] = expandDescriptor(d, index);
          for (const [branch, expanded] of [
            [0, receive!],
            [1, change!],
          ] as const) {
            const a = deriver.derive(branch, index);
            expect(hex(a.scriptPubKey)).toBe(hex(expanded.scriptPubKey));
            expect(hex(deriver.scriptPubKeyAt(branch, index))).toBe(hex(expanded.scriptPubKey));
            expect(a.address).toBe(scriptToAddress(expanded.scriptPubKey, 'test'));
            if (expanded.witnessScript) expect(hex(a.witnessScript!)).toBe(hex(expanded.witnessScript));
            if (expanded.redeemScript) expect(hex(a.redeemScript!)).toBe(hex(expanded.redeemScript));
            if (type === 'tr') {
              const leaf = expanded.tapLeaves![0]!;
              expect(hex(a.tapLeafScript!)).toBe(hex(leaf.script));
              expect(hex(a.tapControlBlock!)).toBe(hex(leaf.controlBlock));
              expect(hex(a.tapInternalKey!)).toBe(hex(NUMS_INTERNAL_KEY));
            }
          }
        }
      }
    }
  });

  it('gives the keys in script order with full origins', () => {
    const c = [testCosigner('w0'), testCosigner('w1'), testCosigner('w2')];
    const bare = c[2]!.account.publicExtendedKey;
    const p = createPolicy({ type: 'wsh', threshold: 2, keys: [c[0]!.key, c[1]!.key, bare], network: 'test' });
    const a = createAddressDeriver(p).derive(1, 5);
    const script = multisigScript(2, a.keys.map((k) => k.publicKey));
    expect(hex(a.witnessScript!)).toBe(hex(script));
    const sortedHex = a.keys.map((k) => hex(k.publicKey));
    expect([...sortedHex].sort()).toEqual(sortedHex);
    for (const k of a.keys) {
      const cos = c[k.cosigner]!;
      expect(hex(k.publicKey)).toBe(hex(cos.account.deriveChild(1).deriveChild(5).publicKey!));
      if (k.cosigner === 2) {
        expect(k.fingerprint).toBe(fingerprintOf(parseExtendedPublicKey(bare).publicKey));
        expect(k.path).toEqual([1, 5]);
      } else {
        expect(k.fingerprint).toBe(cos.fingerprint);
        expect(k.path).toEqual([0x80000030, 0x80000001, 0x80000000, 0x80000002, 1, 5]);
      }
    }
  });

  it('keeps multi order for unsorted wallets and sorts x-only keys for sortedmulti_a', () => {
    const p = createPolicy({ type: 'wsh', threshold: 2, keys: testKeys(3), network: 'test', sorted: false });
    expect(createAddressDeriver(p).derive(0, 3).keys.map((k) => k.cosigner)).toEqual([0, 1, 2]);
    const t = createPolicy({ type: 'tr', threshold: 2, keys: testKeys(5), network: 'test' });
    for (let i = 0; i < 30; i++) {
      const a = createAddressDeriver(t).derive(0, i);
      const xs = a.keys.map((k) => hex(k.publicKey.subarray(1)));
      expect([...xs].sort()).toEqual(xs);
      expect(hex(a.tapLeafScript!)).toBe(hex(multiAScript(2, a.keys.map((k) => k.publicKey.subarray(1)))));
      const { outputKey, parity } = taprootTweak(NUMS_INTERNAL_KEY, tapLeafHash(a.tapLeafScript!));
      expect(hex(a.scriptPubKey)).toBe(`5120${hex(outputKey)}`);
      expect(a.tapControlBlock![0]).toBe(0xc0 | parity);
    }
  });

  it('exposes the address as an ordinary enumerable property', () => {
    const p = createPolicy({ type: 'wsh', threshold: 1, keys: testKeys(2), network: 'regtest' });
    const a = createAddressDeriver(p).derive(0, 0);
    expect(a.address.startsWith('bcrt1q')).toBe(true);
    expect({ ...a }.address).toBe(a.address);
    expect(JSON.parse(JSON.stringify(a)).address).toBe(a.address);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('rejects bad branches and indexes', () => {
    const d = createAddressDeriver(createPolicy({ type: 'wsh', threshold: 1, keys: testKeys(1), network: 'test' }));
    expect(codeOf(() => d.derive(2 as 0, 0))).toBe('address.bad_branch');
    expect(codeOf(() => d.derive(0, -1))).toBe('address.bad_index');
    expect(codeOf(() => d.derive(0, 2 ** 31))).toBe('address.bad_index');
    expect(codeOf(() => d.derive(0, 1.5))).toBe('address.bad_index');
  });

  it('refuses an invalid hand-built policy', () => {
    const p = createPolicy({ type: 'wsh', threshold: 2, keys: testKeys(3), network: 'test' });
    expect(codeOf(() => createAddressDeriver({ ...p, threshold: 4 }))).toBe('policy.bad_threshold');
    expect(codeOf(() => createAddressDeriver({ ...p, keys: [p.keys[0]!, p.keys[0]!] }))).toBe('policy.duplicate_key');
  });

  it('finds scripts and addresses on both branches within the bound', () => {
    const p = createPolicy({ type: 'sh-wsh', threshold: 2, keys: testKeys(3), network: 'test' });
    const d = createAddressDeriver(p);
    const target = d.derive(1, 37);
    const found = d.findScript(target.scriptPubKey, { gap: 50 });
    expect(found).toMatchObject({ branch: 1, index: 37, address: target.address });
    expect(d.findAddress(target.address, { gap: 50 })?.index).toBe(37);
    // Cached second search, other bounds.
    expect(d.findScript(target.scriptPubKey, { gap: 37 })).toBeUndefined();
    expect(d.findScript(target.scriptPubKey, { gap: 50, branches: [0] })).toBeUndefined();
    expect(d.findScript(target.scriptPubKey, { from: 30, gap: 8 })?.index).toBe(37);
    expect(d.findScript(target.scriptPubKey, { from: 38, gap: 100 })).toBeUndefined();
    expect(d.findScript(fromHex('0014' + '00'.repeat(20)), { gap: 60 })).toBeUndefined();
    expect(codeOf(() => d.findAddress('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'))).toBe('address.wrong_network');
    expect(codeOf(() => d.findScript(target.scriptPubKey, { gap: -1 }))).toBe('address.bad_gap');
  });

  it('derives a 999-key taproot wallet', () => {
    // Generated with mofn's own CKDpub for speed: this test is about the 999-key limit and script.
    const base = parseExtendedPublicKey(testCosigner('base').account.publicExtendedKey);
    const keys = Array.from({ length: 999 }, (_, i) => encodeExtendedPublicKey(deriveChildPublic(base, i), 'test'));
    const p = createPolicy({ type: 'tr', threshold: 999, keys, network: 'test' });
    expect(codeOf(() => createPolicy({ type: 'tr', threshold: 2, keys: [...keys, testCosigner('x').key], network: 'test' }))).toBe('policy.too_many_keys');
    const a = createAddressDeriver(p).derive(0, 0);
    expect(a.keys).toHaveLength(999);
    // 999 > 16: the threshold is a 2-byte CScriptNum push before OP_NUMEQUAL.
    expect(hex(a.tapLeafScript!.subarray(-4))).toBe('02e7039c');
    const d = parseDescriptor(policyToDescriptor(p));
    expect(hex(expandDescriptor(d, 0)[0]!.scriptPubKey)).toBe(hex(a.scriptPubKey));
  });
});

describe('describePolicy', () => {
  it('summarises type, M-of-N and keys', () => {
    const c = testCosigner('w0');
    const p = createPolicy({ type: 'sh-wsh', threshold: 2, keys: [c.key, testCosigner('w1').account.publicExtendedKey], network: 'test' });
    const s = describePolicy(p);
    expect(s.title).toBe('2-of-2 P2SH-P2WSH (nested segwit) multisig (sortedmulti, BIP-67), testnet');
    expect(s.keys[0]).toEqual({ position: 0, fingerprint: c.fingerprint, path: 'm/48h/1h/0h/2h', xpub: c.account.publicExtendedKey });
    expect(s.keys[1]!.fingerprint).toBeUndefined();
    expect(encodeExtendedPublicKey(p.keys[1]!.xpub, 'test')).toBe(s.keys[1]!.xpub);
  });
});

describe('multisig scripts', () => {
  it('refuse out-of-range thresholds and key sizes', () => {
    const k = fromHex(testKeys(1)[0]!.length > 0 ? '02'.padEnd(66, '1') : '');
    expect(codeOf(() => multisigScript(0, [k]))).toBe('script.bad_multisig');
    expect(codeOf(() => multisigScript(2, [k]))).toBe('script.bad_multisig');
    expect(codeOf(() => multiAScript(1, [k]))).toBe('script.bad_multisig');
    expect(() => new InvalidKeyError('x', 'y')).not.toThrow();
  });
});
