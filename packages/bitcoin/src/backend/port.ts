/**
 * The chain-backend port: what mofn needs from the Bitcoin network, whichever server the group
 * trusts (an Esplora HTTP API, an Electrum server, a Bitcoin Core node). Wallet sync, broadcast
 * and confirmation tracking are written once against it.
 *
 * Scripts are passed as scriptPubKey bytes, not as hashes: Electrum and Esplora key their indexes
 * by a hash of the script (see scripthash.ts) but Bitcoin Core's wallet knows addresses, and a
 * hash cannot be turned back into one.
 *
 * Nothing a backend says about amounts is trusted for spending: {@link fetchVerifiedPrevouts}
 * re-reads the previous transactions and checks them against their txids.
 */
import type { BackendLabel } from './errors.ts';

/** One transaction touching a script (paying it or spending from it). */
export interface ScriptHistoryEntry {
  readonly txid: string;
  /** Confirming block height, or 0 while in the mempool. */
  readonly height: number;
}

/**
 * An unspent output as a backend reports it. The amount is a claim: check it against the
 * previous transaction ({@link fetchVerifiedPrevouts}) before signing anything that spends it.
 */
export interface ClaimedUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  /** Confirming block height, or 0 while in the mempool. */
  readonly height: number;
}

/** Where a transaction stands. */
export type TxStatus =
  | { readonly state: 'confirmed'; readonly blockHeight: number; readonly confirmations: number }
  | { readonly state: 'mempool' }
  /** Neither in the mempool nor in the best chain as far as the backend knows (never seen, evicted, replaced, or reorganised out and dropped). */
  | { readonly state: 'unknown' };

/** The verdict of a test-accept (Bitcoin Core's testmempoolaccept). */
export type TestAcceptResult =
  | { readonly allowed: true; readonly txid: string; readonly vsize?: number; readonly fee?: bigint }
  | { readonly allowed: false; readonly txid: string; readonly reason: string };

/** Called when a watched script's history changes (Electrum subscriptions). */
export type ScriptChangeListener = (scriptPubKey: Uint8Array) => void;

/** A backend to the Bitcoin network. Create one per configuration and `close()` it when done. */
export interface ChainBackend {
  /** Kind and endpoint, for messages (never holds credentials). */
  readonly label: BackendLabel;
  /**
   * Transactions touching each script, in the order of `scripts` (one list per script, oldest first).
   * Batched: backends that can put many requests in one round trip do.
   * @throws BackendError `backend.timeout`, `backend.unreachable`, `backend.malformed_response`, ...
   */
  getHistories(scripts: readonly Uint8Array[]): Promise<readonly (readonly ScriptHistoryEntry[])[]>;
  /** Unspent outputs of each script (claims, see {@link ClaimedUtxo}), in the order of `scripts`. */
  getUtxos(scripts: readonly Uint8Array[]): Promise<readonly (readonly ClaimedUtxo[])[]>;
  /**
   * Raw transactions by txid, in the order asked. The bytes are checked to hash to the txid asked
   * for, so a caller may trust their content.
   * @throws BackendError `backend.not_found` when one is unknown, `backend.malformed_response` when the bytes do not hash to the txid
   */
  getTransactions(txids: readonly string[]): Promise<readonly Uint8Array[]>;
  /** Where each transaction stands, in the order asked. */
  getTransactionStatuses(txids: readonly string[]): Promise<readonly TxStatus[]>;
  /** Height of the best block. */
  getTipHeight(): Promise<number>;
  /**
   * Fee rate in sat/vB for confirmation within `targetBlocks` blocks.
   * @throws BackendError `backend.fee_unavailable` when the backend has no estimate (yet)
   */
  estimateFee(targetBlocks: number): Promise<number>;
  /** Checks that the node would accept `rawTx` without broadcasting it; absent when the backend cannot. */
  readonly testAccept?: (rawTx: Uint8Array) => Promise<TestAcceptResult>;
  /**
   * Broadcasts `rawTx`; returns its txid. A rejection is never retried.
   * @throws BackendError `backend.rejected` with the node's reason
   */
  broadcast(rawTx: Uint8Array): Promise<string>;
  /** Calls `listener` when a watched script's history changes; absent when the backend cannot push. */
  readonly watchScripts?: (scripts: readonly Uint8Array[], listener: ScriptChangeListener) => Promise<void>;
  /** Releases sockets and timers. Calls after close fail with `backend.closed`. */
  close(): Promise<void>;
}
