/**
 * The typed PSBT model (BIP-174 version 0, with the BIP-371 taproot fields). BIP-370 version 2
 * PSBTs are converted to this model on parse. Every function of psbt/ treats a {@link Psbt} as
 * immutable and returns new objects.
 *
 * Multi-key fields (signatures, derivations, scripts) are arrays that keep the order in which they
 * were parsed, so a parse/serialize round trip is byte-exact; the combiner and signer write them in
 * Bitcoin Core's order (see codec.ts).
 */
import type { AddressDeriver } from '../wallet/index.ts';
import type { TxOutput } from '../tx/transaction.ts';

export type { TxOutput } from '../tx/transaction.ts';

/** An input of the unsigned transaction (no scriptSig or witness: PSBT keeps those per input). */
export interface UnsignedTxInput {
  /** Display txid (big-endian hex) of the transaction spent. */
  readonly txid: string;
  readonly vout: number;
  readonly sequence: number;
}

/** The transaction being signed, without any signature data. */
export interface UnsignedTx {
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly UnsignedTxInput[];
  readonly outputs: readonly TxOutput[];
}

/** A raw key-value pair (unknown and proprietary fields, kept verbatim). `key` includes the type. */
export interface PsbtKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** BIP-32 origin of a public key (PSBT_IN/OUT_BIP32_DERIVATION). */
export interface Bip32Derivation {
  /** 33-byte compressed (or 65-byte uncompressed) public key. */
  readonly pubkey: Uint8Array;
  /** Master key fingerprint, 8 lower-case hex characters. */
  readonly fingerprint: string;
  readonly path: readonly number[];
}

/** BIP-371 PSBT_IN/OUT_TAP_BIP32_DERIVATION: x-only key, the leaves it is used in, and its origin. */
export interface TapBip32Derivation extends Bip32Derivation {
  readonly leafHashes: readonly Uint8Array[];
}

/** A partial ECDSA signature: DER signature followed by the sighash byte. */
export interface PartialSig {
  readonly pubkey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A BIP-342 script-path Schnorr signature (64 bytes, or 65 with an explicit sighash byte). */
export interface TapScriptSig {
  /** 32-byte x-only key. */
  readonly pubkey: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly signature: Uint8Array;
}

/** A tapscript leaf with the control block proving it. */
export interface TapLeafScript {
  readonly controlBlock: Uint8Array;
  readonly script: Uint8Array;
  readonly leafVersion: number;
}

/** A leaf of PSBT_OUT_TAP_TREE (depth-first order). */
export interface TapTreeLeaf {
  readonly depth: number;
  readonly leafVersion: number;
  readonly script: Uint8Array;
}

/** A hash preimage (PSBT_IN_RIPEMD160/SHA256/HASH160/HASH256). */
export interface HashPreimage {
  readonly hash: Uint8Array;
  readonly preimage: Uint8Array;
}

/** PSBT_GLOBAL_XPUB: a 78-byte serialized extended public key with its origin. */
export interface GlobalXpub {
  readonly extendedKey: Uint8Array;
  readonly fingerprint: string;
  readonly path: readonly number[];
}

/** Global map. */
export interface PsbtGlobal {
  readonly xpubs: readonly GlobalXpub[];
  /** PSBT_GLOBAL_VERSION when it was present (0 here: version 2 input is converted). */
  readonly version?: number;
  readonly unknown: readonly PsbtKeyValue[];
}

/** Per-input map. */
export interface PsbtInput {
  /** The full previous transaction (raw bytes, as serialized in the PSBT). */
  readonly nonWitnessUtxo?: Uint8Array;
  readonly witnessUtxo?: TxOutput;
  readonly partialSigs: readonly PartialSig[];
  readonly sighashType?: number;
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly bip32Derivation: readonly Bip32Derivation[];
  readonly finalScriptSig?: Uint8Array;
  readonly finalScriptWitness?: readonly Uint8Array[];
  readonly ripemd160Preimages: readonly HashPreimage[];
  readonly sha256Preimages: readonly HashPreimage[];
  readonly hash160Preimages: readonly HashPreimage[];
  readonly hash256Preimages: readonly HashPreimage[];
  readonly tapKeySig?: Uint8Array;
  readonly tapScriptSigs: readonly TapScriptSig[];
  readonly tapLeafScripts: readonly TapLeafScript[];
  readonly tapBip32Derivation: readonly TapBip32Derivation[];
  readonly tapInternalKey?: Uint8Array;
  readonly tapMerkleRoot?: Uint8Array;
  readonly unknown: readonly PsbtKeyValue[];
}

/** Per-output map. */
export interface PsbtOutput {
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly bip32Derivation: readonly Bip32Derivation[];
  readonly tapInternalKey?: Uint8Array;
  readonly tapTree?: readonly TapTreeLeaf[];
  readonly tapBip32Derivation: readonly TapBip32Derivation[];
  readonly unknown: readonly PsbtKeyValue[];
}

/** A PSBT (BIP-174 version 0 model). */
export interface Psbt {
  readonly tx: UnsignedTx;
  readonly global: PsbtGlobal;
  readonly inputs: readonly PsbtInput[];
  readonly outputs: readonly PsbtOutput[];
}

/**
 * What psbt/ needs from a wallet: its policy and deterministic address derivation (the
 * DESCRIPTOR module's `createAddressDeriver(policy)` provides it).
 */
export type WalletDeriver = Pick<AddressDeriver, 'policy' | 'derive'> & Partial<Pick<AddressDeriver, 'findScript'>>;

const NONE: readonly never[] = Object.freeze([]);

/** An empty input map (frozen, shared: build new maps by spreading it). */
export const EMPTY_INPUT: PsbtInput = Object.freeze({
  partialSigs: NONE,
  bip32Derivation: NONE,
  ripemd160Preimages: NONE,
  sha256Preimages: NONE,
  hash160Preimages: NONE,
  hash256Preimages: NONE,
  tapScriptSigs: NONE,
  tapLeafScripts: NONE,
  tapBip32Derivation: NONE,
  unknown: NONE,
});

/** An empty output map (frozen, shared). */
export const EMPTY_OUTPUT: PsbtOutput = Object.freeze({ bip32Derivation: NONE, tapBip32Derivation: NONE, unknown: NONE });
