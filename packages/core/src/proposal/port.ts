/**
 * Ports: the small interfaces each chain (and each signer, and the clock) implements so that the
 * proposal workflow, policies and audit log are written once in core for every chain.
 * Types only; core calls no implementation.
 */
import type { Readiness, SignatureEntry, SignatureSet } from './signatures.ts';

/** One output of a proposal as a reviewer must see it. */
export interface ReviewOutput {
  /** Destination as the chain writes it (address). */
  readonly to: string;
  /** Amount in the asset's base unit (satoshis, wei, token units). */
  readonly amount: bigint;
  /** Asset id: 'BTC', 'ETH', or a token contract address. */
  readonly asset: string;
  /** True when the adapter proved the output returns to the same wallet. */
  readonly isChange: boolean;
}

/** A warning a reviewer must acknowledge (unverified change, unusual sighash, delegatecall...). */
export interface ReviewWarning {
  /** Stable code, `area.reason`. */
  readonly code: string;
  readonly message: string;
}

/** What a cosigner reviews before signing: chain-independent, derived from the payload by the adapter (never trusted from the proposer). */
export interface ProposalReview {
  /** Chain id as the adapter names it ('bitcoin:testnet', 'eip155:1'). */
  readonly chain: string;
  /** Inputs needing M signatures each (1 for single-message chains). */
  readonly inputCount: number;
  readonly outputs: readonly ReviewOutput[];
  /** Fee in the chain's base unit, when known before broadcast. */
  readonly fee?: bigint;
  readonly warnings: readonly ReviewWarning[];
  /** Stable ids of what the proposal spends (outpoints, Safe nonce): two proposals sharing one supersede each other once one is broadcast. */
  readonly spends: readonly string[];
}

/** Identification of a broadcast. */
export interface BroadcastResult {
  /** Transaction id / hash on the chain. */
  readonly txid: string;
}

/**
 * A chain adapter (Bitcoin PSBT, Safe transaction...). `TPayload` is the unsigned proposal payload,
 * `TFinal` the finalized, broadcastable transaction. Everything but `broadcast` is pure and synchronous.
 */
export interface ChainAdapter<TPayload, TFinal> {
  /** Chain id as in {@link ProposalReview.chain}. */
  readonly chain: string;
  /** Derives the review of a payload. @throws MofnError for a malformed payload. */
  describe(payload: TPayload): ProposalReview;
  /** True when `entry` is a valid signature of `payload` by `entry.publicKey` on `entry.input`, and the key belongs to `entry.cosigner`. Never throws. */
  verifySignature(payload: TPayload, entry: SignatureEntry): boolean;
  /** Counts valid distinct cosigner signatures per input (typically `readinessOf` with `verifySignature` as `isValid`). */
  countValid(payload: TPayload, signatures: SignatureSet): Readiness;
  /** Builds the broadcastable transaction from M signatures per input. @throws NotReadyError when signatures are missing. */
  finalize(payload: TPayload, signatures: SignatureSet): TFinal;
  /** Sends the finalized transaction (the only I/O in the port). */
  broadcast(final: TFinal): Promise<BroadcastResult>;
}

/** A signer (hardware wallet, air-gapped file, software keystore, policy cosigner) behind one interface. */
export interface SignerPort<TPayload> {
  /** Cosigner id this signer signs for. */
  readonly cosigner: string;
  /** Signs every input it holds a key for; returns the new entries (to be verified by the adapter, then merged). */
  sign(payload: TPayload): Promise<readonly SignatureEntry[]>;
}

/** The coordinator's clock; milliseconds since the epoch, monotonic non-decreasing. Injected so that core stays pure and tests deterministic. */
export interface Clock {
  now(): number;
}
