/**
 * Bitcoin network parameters (Bitcoin Core chainparams) and network-name parsing.
 */
import { InvalidInputError } from '@mofn/core';
import type { Network } from './types.ts';

/** Per-network encoding constants. */
export interface NetworkParams {
  /** BIP-173 human-readable part for segwit addresses. */
  readonly bech32: string;
  /** Base58check version byte of P2PKH addresses. */
  readonly pubKeyHash: number;
  /** Base58check version byte of P2SH addresses. */
  readonly scriptHash: number;
  /** Version byte of WIF private keys. */
  readonly wif: number;
  /** BIP-32 version of extended public keys (xpub / tpub). */
  readonly xpub: number;
  /** BIP-32 version of extended private keys (xprv / tprv). */
  readonly xprv: number;
  /** BIP-44 coin type: 0 for mainnet, 1 for every test network. */
  readonly coinType: 0 | 1;
}

const MAIN: NetworkParams = Object.freeze({
  bech32: 'bc',
  pubKeyHash: 0x00,
  scriptHash: 0x05,
  wif: 0x80,
  xpub: 0x0488b21e,
  xprv: 0x0488ade4,
  coinType: 0,
});

const TEST: NetworkParams = Object.freeze({
  bech32: 'tb',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  wif: 0xef,
  xpub: 0x043587cf,
  xprv: 0x04358394,
  coinType: 1,
});

/**
 * Encoding constants of every supported network. testnet (3 and 4) and signet share
 * everything; regtest differs only in its bech32 prefix (`bcrt`).
 */
export const NETWORKS: Readonly<Record<Network, NetworkParams>> = Object.freeze({
  main: MAIN,
  test: TEST,
  signet: TEST,
  regtest: Object.freeze({ ...TEST, bech32: 'bcrt' }),
});

const NETWORK_ALIASES: Readonly<Record<string, Network>> = Object.freeze({
  main: 'main',
  mainnet: 'main',
  bitcoin: 'main',
  test: 'test',
  testnet: 'test',
  testnet3: 'test',
  testnet4: 'test',
  signet: 'signet',
  regtest: 'regtest',
});

/** The supported network names in canonical form. */
export const NETWORK_NAMES: readonly Network[] = Object.freeze(['main', 'test', 'signet', 'regtest']);

/** True if `value` is one of the canonical {@link Network} names. Never throws. */
export function isNetwork(value: unknown): value is Network {
  return typeof value === 'string' && (NETWORK_NAMES as readonly string[]).includes(value);
}

/**
 * Parses a network name: main|mainnet|bitcoin, test|testnet|testnet3|testnet4, signet, regtest
 * (case-insensitive, surrounding spaces ignored).
 * @throws InvalidInputError `network.unknown` for anything else.
 */
export function parseNetwork(text: string): Network {
  const key = text.trim().toLowerCase();
  const network = Object.prototype.hasOwnProperty.call(NETWORK_ALIASES, key) ? NETWORK_ALIASES[key] : undefined;
  if (network === undefined) {
    throw new InvalidInputError('network.unknown', `unknown network '${text}'`, {
      details: { value: text },
      hint: 'use one of: main, test, signet, regtest',
    });
  }
  return network;
}

/**
 * The extended-key version family of a network: `main` (xpub) or `test` (tpub, shared by
 * testnet, signet and regtest).
 */
export function versionNetworkOf(network: Network): 'main' | 'test' {
  return network === 'main' ? 'main' : 'test';
}
