/** Network parameters, network-name parsing, and the hash helpers they rely on. */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { crypto as bjsCrypto, networks } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hash160, hash256, sha256, taggedHash } from '../src/hash.ts';
import { isNetwork, NETWORK_NAMES, NETWORKS, parseNetwork, versionNetworkOf } from '../src/network.ts';
import { codeOf } from '../../../test/support/errors.ts';


describe('NETWORKS', () => {
  it('matches bitcoinjs-lib chain parameters', () => {
    const peers = { main: networks.bitcoin, test: networks.testnet, signet: networks.testnet, regtest: networks.regtest } as const;
    for (const n of NETWORK_NAMES) {
      const ours = NETWORKS[n];
      const theirs = peers[n];
      expect(ours.bech32).toBe(theirs.bech32);
      expect(ours.pubKeyHash).toBe(theirs.pubKeyHash);
      expect(ours.scriptHash).toBe(theirs.scriptHash);
      expect(ours.wif).toBe(theirs.wif);
      expect(ours.xpub).toBe(theirs.bip32.public);
      expect(ours.xprv).toBe(theirs.bip32.private);
      expect(ours.coinType).toBe(n === 'main' ? 0 : 1);
    }
    expect(Object.isFrozen(NETWORKS)).toBe(true);
    expect(Object.isFrozen(NETWORKS.main)).toBe(true);
  });
});

describe('parseNetwork / versionNetworkOf / isNetwork', () => {
  it('accepts the aliases', () => {
    const cases: [string, string][] = [
      ['main', 'main'], ['mainnet', 'main'], ['bitcoin', 'main'], [' Bitcoin ', 'main'],
      ['test', 'test'], ['testnet', 'test'], ['TESTNET', 'test'], ['testnet4', 'test'],
      ['signet', 'signet'], ['regtest', 'regtest'],
    ];
    for (const [text, expected] of cases) expect(parseNetwork(text)).toBe(expected);
  });
  it('rejects everything else with network.unknown', () => {
    for (const text of ['', 'btc', 'liquid', 'toString', '__proto__', 'constructor', 'main net']) expect(codeOf(() => parseNetwork(text))).toBe('network.unknown');
  });
  it('version families', () => {
    expect(versionNetworkOf('main')).toBe('main');
    for (const n of ['test', 'signet', 'regtest'] as const) expect(versionNetworkOf(n)).toBe('test');
    expect(isNetwork('signet')).toBe(true);
    expect(isNetwork('testnet')).toBe(false);
    expect(isNetwork(3)).toBe(false);
  });
});

describe('hashes', () => {
  it('sha256, hash256, hash160 equal bitcoinjs-lib', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(bytesToHex(sha256(b))).toBe(createHash('sha256').update(b).digest('hex'));
        expect(bytesToHex(hash256(b))).toBe(bytesToHex(bjsCrypto.hash256(b)));
        expect(bytesToHex(hash160(b))).toBe(bytesToHex(bjsCrypto.hash160(b)));
      }),
      { numRuns: 100 },
    );
  });
  it('taggedHash is BIP-340 SHA256(SHA256(tag)||SHA256(tag)||msgs), cached prefixes do not leak between calls', () => {
    fc.assert(
      fc.property(fc.constantFrom('TapLeaf', 'TapBranch', 'TapTweak', 'BIP0340/challenge', 'x'), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 4 }), (tag, msgs) => {
        const t = nobleSha256(utf8ToBytes(tag));
        const all = Uint8Array.from([...t, ...t, ...msgs.flatMap((m) => [...m])]);
        const expected = bytesToHex(nobleSha256(all));
        expect(bytesToHex(taggedHash(tag, ...msgs))).toBe(expected);
        expect(bytesToHex(taggedHash(tag, ...msgs))).toBe(expected);
        if (tag === 'TapLeaf' || tag === 'TapBranch' || tag === 'TapTweak') {
          expect(bytesToHex(bjsCrypto.taggedHash(tag, Uint8Array.from(msgs.flatMap((m) => [...m]))))).toBe(expected);
        }
      }),
      { numRuns: 100 },
    );
  });
});
