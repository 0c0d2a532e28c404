/**
 * Addresses <-> scriptPubKeys: base58check P2PKH/P2SH, bech32 segwit v0 (BIP-173) and bech32m
 * segwit v1+ (BIP-350), with the witness version/program rules of BIP-141 and BIP-350.
 */
import { InvalidAddressError } from '@mofn/core';
import { bech32, bech32m } from '@scure/base';
import { decodeBase58Check, encodeBase58Check } from './keys/base58check.ts';
import { NETWORKS, NETWORK_NAMES } from './network.ts';
import type { Network } from './types.ts';

/** What an address pays to. `witness_unknown` is a valid segwit v1+ program that is not taproot. */
export type AddressType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness_unknown';

/** A decoded address. */
export interface AddressInfo {
  readonly type: AddressType;
  readonly scriptPubKey: Uint8Array;
  /** Segwit version (0..16) for bech32/bech32m addresses. */
  readonly witnessVersion?: number;
}

/** BIP-173: a segwit address is at most 90 characters. */
const BECH32_LIMIT = 90;
const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function invalid(address: string, reason: string): InvalidAddressError {
  return new InvalidAddressError('address.invalid', `invalid address '${address}': ${reason}`, { details: { address, reason } });
}

function otherNetworks(network: Network, match: (n: Network) => boolean): Network[] {
  return NETWORK_NAMES.filter((n) => n !== network && match(n));
}

function wrongNetwork(address: string, network: Network, belongsTo: readonly Network[]): InvalidAddressError {
  return new InvalidAddressError('address.wrong_network', `address '${address}' is for ${belongsTo.join('/')}, not ${network}`, {
    details: { address, network, belongsTo },
    hint: 'check you copied an address for the same network as the wallet',
  });
}

function witnessScript(version: number, program: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + program.length);
  out[0] = version === 0 ? 0x00 : 0x50 + version;
  out[1] = program.length;
  out.set(program, 2);
  return out;
}

function decodeBase58Address(address: string, network: Network): AddressInfo {
  const decoded = decodeBase58Check(address, 60);
  if (!decoded.ok) {
    if (decoded.reason === 'checksum') {
      throw new InvalidAddressError('address.bad_checksum', `address '${address}' has a bad checksum (mistyped?)`, { details: { address } });
    }
    throw invalid(address, 'not base58 or bech32');
  }
  const raw = decoded.payload;
  if (raw.length !== 21) throw invalid(address, `base58 payload is ${String(raw.length)} bytes, expected 21`);
  const version = raw[0]!;
  const hash = raw.subarray(1);
  const params = NETWORKS[network];
  if (version === params.pubKeyHash) {
    const s = new Uint8Array(25);
    s.set([0x76, 0xa9, 0x14], 0);
    s.set(hash, 3);
    s.set([0x88, 0xac], 23);
    return { type: 'p2pkh', scriptPubKey: s };
  }
  if (version === params.scriptHash) {
    const s = new Uint8Array(23);
    s.set([0xa9, 0x14], 0);
    s.set(hash, 2);
    s[22] = 0x87;
    return { type: 'p2sh', scriptPubKey: s };
  }
  const others = otherNetworks(network, (n) => NETWORKS[n].pubKeyHash === version || NETWORKS[n].scriptHash === version);
  if (others.length > 0) throw wrongNetwork(address, network, others);
  throw invalid(address, `unknown base58 version byte 0x${version.toString(16).padStart(2, '0')}`);
}

/** The HRP of a string that looks like bech32 (`hrp1data`, data in the bech32 charset), lower-cased; else undefined. */
function bech32Shape(address: string): { hrp: string; mixedCase: boolean } | undefined {
  const sep = address.lastIndexOf('1');
  if (sep < 1) return undefined;
  const lower = address.toLowerCase();
  const data = lower.slice(sep + 1);
  if (data.length < 6) return undefined;
  for (const c of data) if (!BECH32_CHARSET.includes(c)) return undefined;
  const hrp = lower.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const code = hrp.charCodeAt(i);
    if (code < 33 || code > 126) return undefined;
  }
  return { hrp, mixedCase: address !== lower && address !== address.toUpperCase() };
}

function decodeSegwitAddress(address: string, network: Network, hrp: string): AddressInfo {
  if (address.length > BECH32_LIMIT) throw invalid(address, `longer than ${String(BECH32_LIMIT)} characters`);
  const lower = address.toLowerCase();
  // Decoding with both checksums tells which variant the string carries (BIP-350 "Decoding").
  const asBech32 = bech32.decodeUnsafe(lower, BECH32_LIMIT);
  const asBech32m = asBech32 ? undefined : bech32m.decodeUnsafe(lower, BECH32_LIMIT);
  const decoded = asBech32 ?? asBech32m;
  if (!decoded) {
    throw new InvalidAddressError('address.bad_checksum', `address '${address}' has a bad bech32 checksum (mistyped?)`, { details: { address } });
  }
  const words = decoded.words;
  if (words.length === 0) throw invalid(address, 'empty data part');
  const version = words[0]!;
  if (version > 16) throw invalid(address, `witness version ${String(version)} is above 16`);
  // BIP-350: version 0 uses bech32, versions 1..16 use bech32m.
  if (version === 0 && !asBech32) throw invalid(address, 'witness v0 must use a bech32 checksum, not bech32m');
  if (version !== 0 && !asBech32m) throw invalid(address, `witness v${String(version)} must use a bech32m checksum, not bech32`);
  const program = bech32.fromWordsUnsafe(words.slice(1));
  if (!program) throw invalid(address, 'bad padding in the witness program');
  // BIP-141: program of 2..40 bytes; v0 only 20 (P2WPKH) or 32 (P2WSH).
  if (program.length < 2 || program.length > 40) throw invalid(address, `witness program of ${String(program.length)} bytes (must be 2..40)`);
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    throw invalid(address, `witness v0 program of ${String(program.length)} bytes (must be 20 or 32)`);
  }
  // Only a fully valid address is reported as belonging to another network.
  if (decoded.prefix !== NETWORKS[network].bech32) {
    const others = otherNetworks(network, (n) => NETWORKS[n].bech32 === hrp);
    if (others.length > 0) throw wrongNetwork(address, network, others);
    throw invalid(address, `unknown bech32 prefix '${hrp}'`);
  }
  const type: AddressType =
    version === 0 ? (program.length === 20 ? 'p2wpkh' : 'p2wsh') : version === 1 && program.length === 32 ? 'p2tr' : 'witness_unknown';
  return { type, scriptPubKey: witnessScript(version, program), witnessVersion: version };
}

/**
 * Decodes an address for `network` into its type and scriptPubKey. Segwit versions 2..16 (and
 * v1 programs that are not 32 bytes) decode as `witness_unknown`: valid addresses, but payments to
 * them are anyone-can-spend today; callers deciding to pay should check the type.
 * @throws InvalidAddressError `address.invalid`, `address.bad_checksum`, `address.wrong_network`
 */
export function parseAddress(address: string, network: Network): AddressInfo {
  if (typeof address !== 'string' || address.length === 0) throw invalid('', 'empty or not a string');
  const shape = bech32Shape(address);
  if (shape !== undefined && NETWORK_NAMES.some((n) => NETWORKS[n].bech32 === shape.hrp)) {
    if (shape.mixedCase) throw invalid(address, 'mixed upper and lower case (BIP-173)');
    return decodeSegwitAddress(address, network, shape.hrp);
  }
  return decodeBase58Address(address, network);
}

/**
 * The scriptPubKey an address pays to.
 * @throws InvalidAddressError `address.invalid`, `address.bad_checksum`, `address.wrong_network`
 * @example addressToScript('bc1q...', 'main')
 */
export function addressToScript(address: string, network: Network): Uint8Array {
  return parseAddress(address, network).scriptPubKey;
}

/** True if `address` is a valid address on `network`. Never throws. */
export function isAddress(address: string, network: Network): boolean {
  try {
    parseAddress(address, network);
    return true;
  } catch {
    return false;
  }
}

/**
 * The address of a standard scriptPubKey: P2PKH, P2SH, or any segwit v0..16 program (bech32 for
 * v0, bech32m for v1+), lower-case.
 * @throws InvalidAddressError `address.unsupported` for scripts without an address (bare multisig, OP_RETURN...)
 */
export function scriptToAddress(script: Uint8Array, network: Network): string {
  const params = NETWORKS[network];
  const s = script;
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) {
    const payload = new Uint8Array(21);
    payload[0] = params.pubKeyHash;
    payload.set(s.subarray(3, 23), 1);
    return encodeBase58Check(payload);
  }
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) {
    const payload = new Uint8Array(21);
    payload[0] = params.scriptHash;
    payload.set(s.subarray(2, 22), 1);
    return encodeBase58Check(payload);
  }
  // BIP-141 witness program: a version opcode (OP_0 or OP_1..OP_16) and one 2..40-byte push.
  if (s.length >= 4 && s.length <= 42 && s[1] === s.length - 2) {
    const op = s[0]!;
    const version = op === 0x00 ? 0 : op >= 0x51 && op <= 0x60 ? op - 0x50 : -1;
    const program = s.subarray(2);
    if (version === 0 && (program.length === 20 || program.length === 32)) {
      return bech32.encode(params.bech32, [0, ...bech32.toWords(program)], BECH32_LIMIT);
    }
    if (version >= 1) return bech32m.encode(params.bech32, [version, ...bech32m.toWords(program)], BECH32_LIMIT);
  }
  throw new InvalidAddressError('address.unsupported', 'this scriptPubKey has no standard address form', {
    details: { scriptLength: s.length },
  });
}
