/** Bitcoin Core key_io vectors: address <-> scriptPubKey on every network, and invalid strings. */
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { addressToScript, isAddress, parseAddress, scriptToAddress } from '../src/address.ts';
import { NETWORKS, NETWORK_NAMES } from '../src/network.ts';
import type { Network } from '../src/types.ts';
import { readVectorJson } from '../../../test/support/vectors.ts';
import { codeOf } from '../../../test/support/errors.ts';

type Row = [string, string, { chain: string; isPrivkey: boolean; tryCaseFlip?: boolean }];
const valid = readVectorJson<Row[]>('address-encoding/key_io_valid.json');
const invalid = readVectorJson<string[][]>('address-encoding/key_io_invalid.json');

const networkOf = (chain: string): Network =>
  chain === 'main' ? 'main' : chain === 'regtest' ? 'regtest' : chain === 'signet' ? 'signet' : chain === 'test' || chain === 'testnet4' ? 'test' : (() => { throw new Error(`unknown chain ${chain}`); })();


function flipCase(s: string): string {
  return Array.from(s).map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
}

/** Networks that encode addresses identically to `n` (testnet and signet share everything; regtest differs in bech32 only). */
function sameEncoding(a: Network, b: Network, address: string): boolean {
  const pa = NETWORKS[a];
  const pb = NETWORKS[b];
  const segwit = /^(bc|tb|bcrt)1/i.test(address);
  return segwit ? pa.bech32 === pb.bech32 : pa.pubKeyHash === pb.pubKeyHash && pa.scriptHash === pb.scriptHash;
}

describe('key_io_valid: addresses', () => {
  const rows = valid.filter((r) => !r[2].isPrivkey);
  it('has address rows for every chain', () => {
    expect(new Set(rows.map((r) => networkOf(r[2].chain)))).toEqual(new Set(NETWORK_NAMES));
  });
  for (const [address, scriptHex, meta] of rows) {
    const network = networkOf(meta.chain);
    it(`${meta.chain} ${address}`, () => {
      expect(bytesToHex(addressToScript(address, network))).toBe(scriptHex);
      expect(isAddress(address, network)).toBe(true);
      expect(scriptToAddress(addressToScript(address, network), network)).toBe(address);
      if (meta.tryCaseFlip === true) {
        // Bech32: the all-upper-case form is the same address.
        expect(bytesToHex(addressToScript(address.toUpperCase(), network))).toBe(scriptHex);
        const flipped = flipCase(address);
        if (flipped.toLowerCase() === address.toLowerCase() && flipped !== flipped.toUpperCase() && flipped !== flipped.toLowerCase()) {
          expect(isAddress(flipped, network)).toBe(false);
        }
      }
      for (const other of NETWORK_NAMES) {
        if (other === network) continue;
        if (sameEncoding(network, other, address)) {
          expect(bytesToHex(addressToScript(address, other))).toBe(scriptHex);
        } else {
          expect(codeOf(() => addressToScript(address, other))).toBe('address.wrong_network');
        }
      }
    });
  }
  it('witness versions 2..16 decode as witness_unknown, v1 32 bytes as p2tr', () => {
    for (const [address, , meta] of rows) {
      const info = parseAddress(address, networkOf(meta.chain));
      if (info.witnessVersion !== undefined && info.witnessVersion >= 2) expect(info.type).toBe('witness_unknown');
      if (info.witnessVersion === 1 && info.scriptPubKey.length === 34) expect(info.type).toBe('p2tr');
    }
  });
});

describe('key_io_valid: private-key rows are not addresses', () => {
  for (const [wif, , meta] of valid.filter((r) => r[2].isPrivkey)) {
    it(`${meta.chain} ${wif}`, () => {
      for (const n of NETWORK_NAMES) expect(isAddress(wif, n)).toBe(false);
    });
  }
});

describe('key_io_invalid: rejected as an address on every network', () => {
  it('has cases', () => {
    expect(invalid.length).toBeGreaterThan(50);
  });
  for (const [s] of invalid) {
    it(JSON.stringify(s), () => {
      for (const n of NETWORK_NAMES) {
        expect(isAddress(s!, n)).toBe(false);
        expect(['address.invalid', 'address.bad_checksum']).toContain(codeOf(() => addressToScript(s!, n)));
      }
    });
  }
});
