/**
 * Ethereum keys from the same software keystore as Bitcoin: BIP-44 coin type 60, the path
 * `m/44'/60'/0'/0/i` wallets (MetaMask, Ledger Live "legacy", Trezor) use, so an owner's address in
 * mofn matches the one their other Ethereum wallet shows for the same mnemonic.
 */
import { bytesToHex, getAddress, keccak256, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { InvalidInputError, KeystoreError } from '@mofn/core';
import { HARDENED, derivePrivatePath, type HDPrivateNode } from '@mofn/bitcoin';
import { signSafeTxEip712, type SafeDomain, type SafeSignature, type SafeTx } from '@mofn/ethereum';
import type { UnlockedKeystore } from './keystore.ts';

/** Highest non-hardened BIP-32 child index. */
const MAX_INDEX = HARDENED - 1;

/**
 * The BIP-32 path of Ethereum address `index`: m/44'/60'/0'/0/index (BIP-44, SLIP-44 coin type 60).
 * @throws InvalidInputError `key.bad_index` unless 0 <= index < 2^31
 */
export function ethereumKeyPath(index: number): readonly number[] {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new InvalidInputError('key.bad_index', `Ethereum key index must be 0..${MAX_INDEX}, got ${String(index)}`);
  }
  return Object.freeze([44 + HARDENED, 60 + HARDENED, HARDENED, 0, index]);
}

/** The path of {@link ethereumKeyPath} as text, for display. */
export function formatEthereumKeyPath(index: number): string {
  ethereumKeyPath(index);
  return `m/44'/60'/0'/0/${index}`;
}

/** The EIP-55 checksummed address of a secp256k1 public key (33-byte compressed or 65-byte uncompressed). */
export function publicKeyToEthereumAddress(publicKey: Uint8Array): Address {
  // The address is the last 20 bytes of keccak256 over the uncompressed point without its 0x04 prefix.
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  return getAddress(`0x${keccak256(uncompressed.subarray(1)).slice(-40)}`);
}

function assertUnlocked(unlocked: UnlockedKeystore): void {
  if (unlocked.root.privateKey.every((b) => b === 0)) {
    throw new KeystoreError('keystore.locked', `keystore ${unlocked.fingerprint} was locked; unlock it again`);
  }
}

function deriveNode(unlocked: UnlockedKeystore, index: number): HDPrivateNode {
  const path = ethereumKeyPath(index);
  assertUnlocked(unlocked);
  return derivePrivatePath(unlocked.root, path);
}

function wipe(node: HDPrivateNode): void {
  node.privateKey.fill(0);
  node.chainCode.fill(0);
}

/**
 * The Ethereum address at m/44'/60'/0'/0/index of an unlocked keystore.
 * @throws InvalidInputError `key.bad_index`; KeystoreError `keystore.locked`
 */
export function deriveEthereumAddress(unlocked: UnlockedKeystore, index = 0): Address {
  const node = deriveNode(unlocked, index);
  try {
    return publicKeyToEthereumAddress(node.publicKey);
  } finally {
    wipe(node);
  }
}

/** Signs Safe transactions as one owner. Implemented by the keystore here; hardware or file signers elsewhere. */
export interface SafeTxSigner {
  /** The owner address this signer signs for. */
  readonly address: Address;
  /**
   * Signs the SafeTx's EIP-712 digest (eth_signTypedData_v4 form, v 27/28) for the Safe and chain of `domain`.
   * @throws KeystoreError `keystore.locked`; InvalidInputError `safe.bad_transaction`
   */
  signSafeTx(domain: SafeDomain, tx: SafeTx): Promise<SafeSignature>;
}

/**
 * A {@link SafeTxSigner} for the keystore's Ethereum key `index`. The private key is derived for each
 * signature and wiped after it, and the signer refuses once the keystore is locked.
 * @throws InvalidInputError `key.bad_index`; KeystoreError `keystore.locked`
 * @example const signer = createEthereumKeySigner(await unlockKeystore(file, password), 0);
 *          const sig = await signer.signSafeTx({ chainId, safeAddress }, tx);
 */
export function createEthereumKeySigner(unlocked: UnlockedKeystore, index = 0): SafeTxSigner {
  const address = deriveEthereumAddress(unlocked, index);
  return Object.freeze({
    address,
    async signSafeTx(domain: SafeDomain, tx: SafeTx): Promise<SafeSignature> {
      const node = deriveNode(unlocked, index);
      const privateKey: Hex = bytesToHex(node.privateKey);
      try {
        return await signSafeTxEip712(privateKey, domain, tx);
      } finally {
        wipe(node);
      }
    },
  });
}

/**
 * The raw private key of Ethereum key `index`, for sending transactions from it (gas payer of
 * `mofn safe exec --from-keystore`). Keep it in memory only as long as needed.
 * @throws InvalidInputError `key.bad_index`; KeystoreError `keystore.locked`
 */
export function deriveEthereumPrivateKey(unlocked: UnlockedKeystore, index = 0): Hex {
  const node = deriveNode(unlocked, index);
  try {
    return bytesToHex(node.privateKey);
  } finally {
    wipe(node);
  }
}

/**
 * A viem local account for Ethereum key `index`, to send transactions from (it pays the gas of a Safe
 * deployment or execution). It holds the private key: drop it as soon as the transaction is sent.
 * @throws InvalidInputError `key.bad_index`; KeystoreError `keystore.locked`
 */
export function deriveEthereumAccount(unlocked: UnlockedKeystore, index = 0): PrivateKeyAccount {
  return privateKeyToAccount(deriveEthereumPrivateKey(unlocked, index));
}
