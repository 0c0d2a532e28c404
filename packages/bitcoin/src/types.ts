/**
 * Shared Bitcoin model types. Every module of @mofn/bitcoin speaks these; keep them small.
 * Byte strings are Uint8Array; amounts are bigint satoshis; derivation indexes are numbers
 * with the hardened bit set as `index >= 0x80000000` (BIP-32).
 */

/** A Bitcoin network. signet and regtest share testnet's extended-key versions (tpub). */
export type Network = 'main' | 'test' | 'signet' | 'regtest';

/** Multisig script types mofn builds: P2SH, P2WSH, P2SH-P2WSH, and taproot script path. */
export type ScriptType = 'sh' | 'wsh' | 'sh-wsh' | 'tr';

/** BIP-32 hardened offset. */
export const HARDENED = 0x80000000;

/** Where a key comes from: master fingerprint (8 lower-case hex chars) and path from the master. */
export interface KeyOrigin {
  readonly fingerprint: string;
  readonly path: readonly number[];
}

/** A decoded BIP-32 extended public key (never holds a private key). */
export interface ExtendedPublicKey {
  /** Version family: `main` for xpub/ypub/zpub/Ypub/Zpub, `test` for tpub/upub/vpub/Upub/Vpub. */
  readonly versionNetwork: 'main' | 'test';
  readonly depth: number;
  /** Parent fingerprint as an unsigned 32-bit number. */
  readonly parentFingerprint: number;
  /** Child number this key was derived at (hardened bit included). */
  readonly childNumber: number;
  readonly chainCode: Uint8Array;
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
}

/** One cosigner of a multisig wallet: an account-level xpub with its origin. */
export interface CosignerKey {
  readonly origin: KeyOrigin | undefined;
  readonly xpub: ExtendedPublicKey;
}

/**
 * The immutable definition of an M-of-N multisig wallet.
 * Addresses are `<type>(<sorted?>multi(M, key_i/<branch>/<index>))` with branch 0 = receive, 1 = change;
 * for `tr` the internal key is the BIP-341 NUMS point and the single leaf is (sorted)multi_a.
 */
export interface MultisigPolicy {
  readonly type: ScriptType;
  readonly threshold: number;
  readonly sorted: boolean;
  readonly network: Network;
  readonly keys: readonly CosignerKey[];
}

/** 0 = receive (external) chain, 1 = change (internal) chain. */
export type Branch = 0 | 1;

/** A cosigner public key at one address, with its full BIP-32 origin for PSBT bip32Derivation. */
export interface DerivedKey {
  /** Index of the cosigner in `MultisigPolicy.keys`. */
  readonly cosigner: number;
  /** 33-byte compressed key (taproot uses its x-only part, bytes 1..33). */
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly path: readonly number[];
}

/** Everything needed to receive to, recognise and spend one wallet address. */
export interface DerivedAddress {
  readonly branch: Branch;
  readonly index: number;
  readonly address: string;
  readonly scriptPubKey: Uint8Array;
  /** P2SH redeem script (sh and sh-wsh). */
  readonly redeemScript?: Uint8Array;
  /** P2WSH witness script (wsh and sh-wsh); for sh this is unset and redeemScript holds the multisig. */
  readonly witnessScript?: Uint8Array;
  /** Taproot: the (sorted)multi_a leaf script, leaf version 0xc0, its control block and the NUMS internal key. */
  readonly tapLeafScript?: Uint8Array;
  readonly tapControlBlock?: Uint8Array;
  readonly tapInternalKey?: Uint8Array;
  /** Cosigner keys in script order (sorted when the wallet is sortedmulti). */
  readonly keys: readonly DerivedKey[];
}

/** A spendable output of the wallet. */
export interface WalletUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly branch: Branch;
  readonly index: number;
  /** Full previous transaction (required for segwit v0 and legacy inputs whenever known). */
  readonly prevTx?: Uint8Array;
}

/** A payment to make. */
export interface Payment {
  readonly address: string;
  readonly amount: bigint;
}
