/** Addresses: differential tests against bitcoinjs-lib on random scripts, and error codes. */
import { isMofnError } from '@mofn/core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { address as bjsAddress, initEccLib, networks } from 'bitcoinjs-lib';
import * as tiny from 'tiny-secp256k1';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToScript, isAddress, parseAddress, scriptToAddress } from '../src/address.ts';
import { NETWORK_NAMES } from '../src/network.ts';
import { isPrivateKey, secp } from '../src/secp.ts';
import type { Network } from '../src/types.ts';
import { codeOf } from '../../../test/support/errors.ts';

initEccLib(tiny);

const peer = { main: networks.bitcoin, test: networks.testnet, signet: networks.testnet, regtest: networks.regtest } as const;
const networkArb = fc.constantFrom<Network>(...NETWORK_NAMES);


const scriptArb = fc.oneof(
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => Uint8Array.of(0x76, 0xa9, 0x14, ...h, 0x88, 0xac)),
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => Uint8Array.of(0xa9, 0x14, ...h, 0x87)),
  fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => Uint8Array.of(0x00, 0x14, ...h)),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((h) => Uint8Array.of(0x00, 0x20, ...h)),
  // bitcoinjs-lib only encodes v1 32-byte programs that are valid x-only keys.
  fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(isPrivateKey).map((d) => Uint8Array.of(0x51, 0x20, ...secp.publicKey(d).subarray(1))),
  fc
    .tuple(fc.integer({ min: 1, max: 16 }), fc.uint8Array({ minLength: 2, maxLength: 40 }))
    .filter(([v]) => v !== 1) // bitcoinjs-lib refuses v1 programs that are not 32 bytes; covered below
    .map(([v, p]) => Uint8Array.of(0x50 + v, p.length, ...p)),
);

describe('scriptToAddress / addressToScript', () => {
  it('equal bitcoinjs-lib on random standard scripts, every network, and round-trip', () => {
    fc.assert(
      fc.property(scriptArb, networkArb, (script, network) => {
        const ours = scriptToAddress(script, network);
        expect(ours).toBe(bjsAddress.fromOutputScript(script, peer[network]));
        expect(bytesToHex(addressToScript(ours, network))).toBe(bytesToHex(script));
        expect(bytesToHex(bjsAddress.toOutputScript(ours, peer[network]))).toBe(bytesToHex(script));
        expect(isAddress(ours, network)).toBe(true);
        // Bech32 addresses are case-insensitive as a whole (BIP-173); base58 is case-sensitive.
        if (/^(bc|tb|bcrt)1/.test(ours)) expect(bytesToHex(addressToScript(ours.toUpperCase(), network))).toBe(bytesToHex(script));
      }),
      { numRuns: 300 },
    );
  });
  it('v1 programs of any valid length round-trip (BIP-350: valid, but not taproot unless 32 bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 40 }), networkArb, (p, network) => {
        const script = Uint8Array.of(0x51, p.length, ...p);
        const a = scriptToAddress(script, network);
        expect(bytesToHex(addressToScript(a, network))).toBe(bytesToHex(script));
        expect(parseAddress(a, network).type).toBe(p.length === 32 ? 'p2tr' : 'witness_unknown');
      }),
      { numRuns: 100 },
    );
  });
  it('address types', () => {
    const h20 = new Uint8Array(20).fill(1);
    const h32 = new Uint8Array(32).fill(2);
    const types: [Uint8Array, string][] = [
      [Uint8Array.of(0x76, 0xa9, 0x14, ...h20, 0x88, 0xac), 'p2pkh'],
      [Uint8Array.of(0xa9, 0x14, ...h20, 0x87), 'p2sh'],
      [Uint8Array.of(0x00, 0x14, ...h20), 'p2wpkh'],
      [Uint8Array.of(0x00, 0x20, ...h32), 'p2wsh'],
      [Uint8Array.of(0x51, 0x20, ...h32), 'p2tr'],
      [Uint8Array.of(0x51, 0x14, ...h20), 'witness_unknown'],
      [Uint8Array.of(0x52, 0x20, ...h32), 'witness_unknown'],
    ];
    for (const [script, type] of types) expect(parseAddress(scriptToAddress(script, 'main'), 'main').type).toBe(type);
  });
  it('scripts without an address are address.unsupported', () => {
    const h = new Uint8Array(20);
    for (const s of [
      new Uint8Array(0),
      Uint8Array.of(0x6a, 0x04, 1, 2, 3, 4), // OP_RETURN
      Uint8Array.of(0x00, 0x15, ...h, 0), // v0 with 21 bytes
      Uint8Array.of(0x51, 0x01, 0x01), // program too short
      Uint8Array.of(0x51, 0x29, ...new Uint8Array(41)), // program too long
      Uint8Array.of(0x4f, 0x14, ...h), // OP_1NEGATE is not a version
      Uint8Array.of(0x51, 0x20, ...new Uint8Array(31)), // push length does not match
    ]) {
      expect(codeOf(() => scriptToAddress(s, 'main'))).toBe('address.unsupported');
    }
  });
  it('error codes', () => {
    const p2wpkh = scriptToAddress(Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(9)), 'main');
    const p2pkh = scriptToAddress(Uint8Array.of(0x76, 0xa9, 0x14, ...new Uint8Array(20).fill(9), 0x88, 0xac), 'main');
    expect(codeOf(() => addressToScript(p2wpkh, 'test'))).toBe('address.wrong_network');
    expect(codeOf(() => addressToScript(p2pkh, 'regtest'))).toBe('address.wrong_network');
    const last = p2wpkh.at(-1) === 'q' ? 'p' : 'q';
    expect(codeOf(() => addressToScript(p2wpkh.slice(0, -1) + last, 'main'))).toBe('address.bad_checksum');
    const flip = p2pkh.at(-1) === 'a' ? 'b' : 'a';
    expect(codeOf(() => addressToScript(p2pkh.slice(0, -1) + flip, 'main'))).toBe('address.bad_checksum');
    expect(codeOf(() => addressToScript('', 'main'))).toBe('address.invalid');
    expect(codeOf(() => addressToScript('hello world', 'main'))).toBe('address.invalid');
    expect(codeOf(() => addressToScript(p2wpkh.slice(0, 5) + p2wpkh.slice(5).toUpperCase(), 'main'))).toBe('address.invalid');
    expect(isAddress('x'.repeat(10_000), 'main')).toBe(false);
  });
  it('random strings throw only typed errors', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), networkArb, (s, n) => {
        try {
          addressToScript(s, n);
        } catch (err) {
          expect(isMofnError(err)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
