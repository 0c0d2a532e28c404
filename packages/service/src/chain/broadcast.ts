/**
 * Putting a finished transaction on the network: read it (finalized PSBT or raw hex), have the
 * node test-accept it where the backend can (Bitcoin Core), broadcast, then follow it until it has
 * the confirmations asked for.
 */
import { InvalidInputError, MofnError } from '@mofn/core';
import { extractTransaction, parsePsbt, parseTransaction, serializeTransaction, transactionId, transactionVsize } from '@mofn/bitcoin';
import { BackendError, describeBackend, type ChainBackend, type TxStatus } from '@mofn/bitcoin/backend';
import { hexToBytes } from '@noble/hashes/utils.js';

/** A signed transaction ready to broadcast. */
export interface SignedTransaction {
  readonly raw: Uint8Array;
  readonly txid: string;
  readonly vsize: number;
}

/**
 * Reads a finalized PSBT (base64, hex or binary) or a raw transaction in hex.
 * @throws InvalidInputError `broadcast.bad_input`; NotReadyError `psbt.not_finalized` for a PSBT still missing signatures
 */
export function readSignedTransaction(input: string | Uint8Array): SignedTransaction {
  const text = typeof input === 'string' ? input.trim() : undefined;
  const isPsbt = text === undefined ? true : text.startsWith('cHNidP') || text.toLowerCase().startsWith('70736274ff');
  if (isPsbt) {
    const tx = extractTransaction(parsePsbt(input));
    return { raw: tx.bytes, txid: tx.txid, vsize: tx.vsize };
  }
  if (text === undefined || !/^([0-9a-fA-F]{2})+$/.test(text)) {
    throw new InvalidInputError('broadcast.bad_input', 'expected a finalized PSBT or a raw transaction in hex', { hint: 'pass the output of mofn psbt finalize' });
  }
  let tx;
  try {
    tx = parseTransaction(text.toLowerCase());
  } catch (cause) {
    throw new InvalidInputError('broadcast.bad_input', 'the hex does not parse as a transaction', { cause });
  }
  const raw = hexToBytes(text.toLowerCase());
  // Re-serialized bytes must equal the input: trailing garbage would be sent otherwise.
  if (serializeTransaction(tx).length !== raw.length) throw new InvalidInputError('broadcast.bad_input', 'the hex has bytes after the transaction');
  return { raw, txid: transactionId(tx), vsize: transactionVsize(tx) };
}

/** Result of {@link broadcastTransaction}. */
export interface BroadcastResult {
  readonly txid: string;
  /** Whether the node test-accepted it first (false when the backend cannot test). */
  readonly testAccepted: boolean;
}

/**
 * Test-accepts (where the backend can) and broadcasts a signed transaction.
 * @throws BackendError `backend.rejected` with the node's reason (nothing is sent when the test fails)
 */
export async function broadcastTransaction(backend: ChainBackend, tx: SignedTransaction): Promise<BroadcastResult> {
  let testAccepted = false;
  if (backend.testAccept !== undefined) {
    const verdict = await backend.testAccept(tx.raw);
    if (!verdict.allowed) {
      throw new BackendError('backend.rejected', `${describeBackend(backend.label)}: the node would not accept transaction ${tx.txid}: ${verdict.reason}`, {
        details: { backend: backend.label.kind, txid: tx.txid, reason: verdict.reason },
        hint: 'nothing was broadcast; fix the transaction (fee, inputs already spent, signatures) and try again',
      });
    }
    testAccepted = true;
  }
  const txid = await backend.broadcast(tx.raw);
  if (txid !== tx.txid) {
    throw new BackendError('backend.malformed_response', `${describeBackend(backend.label)} answered txid ${txid} for transaction ${tx.txid}`, { details: { txid: tx.txid, answered: txid } });
  }
  return { txid, testAccepted };
}

/** Options of {@link waitForConfirmations}. */
export interface WaitOptions {
  /** Poll interval (default 10 s). */
  readonly pollMs?: number;
  /** Give up after this long (default 2 hours). */
  readonly timeoutMs?: number;
  /** Called with each status seen (for progress output). */
  readonly onStatus?: (status: TxStatus) => void;
  /** How many polls in a row may find it unknown before it counts as dropped (default 3: a backend may lag behind the broadcast). */
  readonly unknownPolls?: number;
}

/**
 * Polls until `txid` has `confirmations` confirmations; returns the last status.
 * @throws MofnError `broadcast.dropped` when the network no longer knows it (replaced, evicted or reorganised
 *   out), `broadcast.wait_timeout` when the time runs out
 */
export async function waitForConfirmations(backend: ChainBackend, txid: string, confirmations: number, options: WaitOptions = {}): Promise<TxStatus> {
  if (!Number.isInteger(confirmations) || confirmations < 0) throw new InvalidInputError('broadcast.bad_wait', `confirmations ${String(confirmations)} must be a non-negative integer`);
  const pollMs = options.pollMs ?? 10_000;
  const deadline = Date.now() + (options.timeoutMs ?? 2 * 3600_000);
  const unknownPolls = options.unknownPolls ?? 3;
  let unknown = 0;
  for (;;) {
    const [status] = await backend.getTransactionStatuses([txid]);
    if (status === undefined) throw new BackendError('backend.malformed_response', `${describeBackend(backend.label)} returned no status for ${txid}`);
    options.onStatus?.(status);
    const have = status.state === 'confirmed' ? status.confirmations : 0;
    if (status.state !== 'unknown' && have >= confirmations) return status;
    unknown = status.state === 'unknown' ? unknown + 1 : 0;
    if (unknown >= unknownPolls) {
      throw new MofnError('broadcast.dropped', `transaction ${txid} is neither in the mempool nor in the chain of ${describeBackend(backend.label)}`, {
        details: { txid },
        hint: 'it was replaced, evicted or reorganised out: sync the wallet and check its history',
      });
    }
    if (Date.now() + pollMs > deadline) {
      throw new MofnError('broadcast.wait_timeout', `transaction ${txid} has ${have} of ${confirmations} confirmations after waiting`, { details: { txid, confirmations: have } });
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
