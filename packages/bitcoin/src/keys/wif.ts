/**
 * WIF (wallet import format) private keys, as used in descriptors and by Bitcoin Core:
 * base58check of version || key || 0x01 (compressed).
 */
import { InvalidKeyError } from '@mofn/core';
import { NETWORKS, versionNetworkOf } from '../network.ts';
import { isPrivateKey } from '../secp.ts';
import type { Network } from '../types.ts';
import { decodeBase58Check, encodeBase58Check } from './base58check.ts';

/** A decoded WIF private key. */
export interface WifKey {
  readonly privateKey: Uint8Array;
  /** True if the key is used with its compressed public key (trailing 0x01). */
  readonly compressed: boolean;
  /** `main` (0x80) or `test` (0xef: testnet, signet and regtest). */
  readonly versionNetwork: 'main' | 'test';
}

/**
 * Parses a WIF private key.
 * @param expected - if given, the key must belong to this network's version family
 * @throws InvalidKeyError `key.bad_checksum`, `key.invalid`, `key.wrong_network`
 */
export function parseWif(text: string, expected?: Network): WifKey {
  if (typeof text !== 'string') throw new InvalidKeyError('key.invalid', 'WIF key must be a string');
  const decoded = decodeBase58Check(text, 60);
  if (!decoded.ok) {
    if (decoded.reason === 'checksum') throw new InvalidKeyError('key.bad_checksum', 'WIF private key has a bad checksum (mistyped or truncated?)');
    throw new InvalidKeyError('key.invalid', 'not a WIF private key (not base58)');
  }
  const raw = decoded.payload;
  if (raw.length !== 33 && !(raw.length === 34 && raw[33] === 0x01)) {
    throw new InvalidKeyError('key.invalid', `not a WIF private key (${String(raw.length)} bytes)`);
  }
  const version = raw[0];
  const versionNetwork = version === NETWORKS.main.wif ? 'main' : version === NETWORKS.test.wif ? 'test' : undefined;
  if (versionNetwork === undefined) throw new InvalidKeyError('key.invalid', `unknown WIF version byte 0x${(version ?? 0).toString(16)}`);
  const privateKey = raw.slice(1, 33);
  if (!isPrivateKey(privateKey)) throw new InvalidKeyError('key.invalid', 'WIF private key is not in 1..n-1');
  if (expected !== undefined && versionNetworkOf(expected) !== versionNetwork) {
    throw new InvalidKeyError('key.wrong_network', `WIF key is for ${versionNetwork === 'main' ? 'mainnet' : 'a test network'}, expected ${expected}`, {
      details: { keyNetwork: versionNetwork, expected },
    });
  }
  return Object.freeze({ privateKey, compressed: raw.length === 34, versionNetwork });
}

/**
 * Encodes a private key as WIF.
 * @throws InvalidKeyError `key.invalid_private_key`
 */
export function encodeWif(privateKey: Uint8Array, network: Network, compressed = true): string {
  if (!isPrivateKey(privateKey)) throw new InvalidKeyError('key.invalid_private_key', 'private key must be 32 bytes in 1..n-1');
  const out = new Uint8Array(compressed ? 34 : 33);
  out[0] = NETWORKS[network].wif;
  out.set(privateKey, 1);
  if (compressed) out[33] = 0x01;
  return encodeBase58Check(out);
}
