/**
 * Never trust a backend for amounts. BIP-143 signatures commit to the amount of the input being
 * signed only, so a signer shown a false amount for a segwit v0 input can be led into paying a
 * huge fee; the full previous transaction, hashed to its txid, is the only proof of an amount.
 */
import { BackendError, describeBackend, type BackendLabel } from './errors.ts';
import { equalBytes } from '@mofn/core';
import { parseTransaction, transactionId, type Transaction } from '../tx/transaction.ts';
import { toHex } from '../tx/bytes.ts';
import type { ChainBackend } from './port.ts';

const TXID_MISMATCH = 'txid_mismatch';

/**
 * Parses `raw` and checks that it is the transaction `txid`.
 * @throws BackendError `backend.malformed_response` when the bytes do not parse or hash to another txid
 */
export function parseCheckedTransaction(
  label: BackendLabel,
  txid: string,
  raw: Uint8Array,
  mismatchCode: 'backend.malformed_response' | 'backend.input_amount_mismatch' = 'backend.malformed_response',
): Transaction {
  let tx: Transaction;
  try {
    tx = parseTransaction(raw);
  } catch (cause) {
    throw new BackendError('backend.malformed_response', `${describeBackend(label)} returned bytes for transaction ${txid} that do not parse as a transaction`, {
      details: { backend: label.kind, endpoint: label.endpoint, txid },
      cause,
    });
  }
  const actual = transactionId(tx);
  if (actual !== txid) {
    throw new BackendError(mismatchCode, `${describeBackend(label)} returned transaction ${actual} when asked for ${txid}`, {
      details: { backend: label.kind, endpoint: label.endpoint, txid, actual, reason: TXID_MISMATCH },
      hint: 'the server is faulty or lying; use another backend',
    });
  }
  return tx;
}

/** An output a caller wants to spend, with what it was told about it. */
export interface ClaimedPrevout {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  /** The script the caller expects (the wallet's derivation); checked when given. */
  readonly scriptPubKey?: Uint8Array;
}

/** A claimed prevout proven by its previous transaction. */
export interface VerifiedPrevout {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly scriptPubKey: Uint8Array;
  /** The full previous transaction (for PSBT non_witness_utxo). */
  readonly prevTx: Uint8Array;
}

/**
 * Fetches the previous transaction of every claimed output (one batched request), checks that it
 * hashes to the claimed txid, and that the output exists with the claimed amount and script.
 * @throws BackendError `backend.input_amount_mismatch` when an amount or script differs or the output does not exist;
 *   `backend.malformed_response` when a transaction does not hash to its txid; any error of `getTransactions`
 */
export async function fetchVerifiedPrevouts(backend: ChainBackend, claimed: readonly ClaimedPrevout[]): Promise<VerifiedPrevout[]> {
  const txids = [...new Set(claimed.map((c) => c.txid))];
  let raws: readonly Uint8Array[];
  try {
    raws = await backend.getTransactions(txids);
  } catch (err) {
    // A backend that alters a previous transaction (to show another amount) changes its txid.
    if (err instanceof BackendError && err.details?.['reason'] === TXID_MISMATCH) {
      throw new BackendError('backend.input_amount_mismatch', err.message, { ...(err.details ? { details: err.details } : {}), hint: 'do not sign: use another backend', cause: err });
    }
    throw err;
  }
  const byTxid = new Map<string, { raw: Uint8Array; tx: Transaction }>();
  txids.forEach((txid, i) => byTxid.set(txid, { raw: raws[i]!, tx: parseCheckedTransaction(backend.label, txid, raws[i]!, 'backend.input_amount_mismatch') }));
  return claimed.map((c) => {
    const { raw, tx } = byTxid.get(c.txid)!;
    const out = tx.outputs[c.vout];
    const where = `${c.txid}:${c.vout}`;
    const fail = (what: string, details: Record<string, unknown>): never => {
      throw new BackendError('backend.input_amount_mismatch', `${describeBackend(backend.label)}: output ${where} ${what}`, {
        details: { backend: backend.label.kind, endpoint: backend.label.endpoint, outpoint: where, ...details },
        hint: 'do not sign: the backend reports an output that its own previous transaction contradicts; use another backend',
      });
    };
    if (out === undefined) return fail(`does not exist (the transaction has ${tx.outputs.length} outputs)`, { outputs: tx.outputs.length });
    if (out.amount !== c.amount) return fail(`holds ${out.amount} sat, not the ${c.amount} sat claimed`, { claimed: String(c.amount), actual: String(out.amount) });
    if (c.scriptPubKey !== undefined && !equalBytes(out.script, c.scriptPubKey)) {
      return fail(`pays script ${toHex(out.script)}, not the expected ${toHex(c.scriptPubKey)}`, { actualScript: toHex(out.script) });
    }
    return { txid: c.txid, vout: c.vout, amount: out.amount, scriptPubKey: out.script, prevTx: raw };
  });
}
