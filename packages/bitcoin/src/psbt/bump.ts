/**
 * Fee bumping for a transaction the wallet already broadcast.
 *
 * RBF (BIP-125): a replacement spending the same inputs, paying the same payment outputs, with
 * the wallet's change reduced. Bitcoin Core accepts it only if it pays a higher absolute fee
 * (rule 3), a higher fee rate than the original, and pays for its own bandwidth: the fee
 * increase must be at least the incremental relay fee rate times the replacement's vsize (rule 4).
 *
 * CPFP: a child spending the wallet's change output of an unconfirmed parent, paying enough that
 * parent and child together reach a target package fee rate.
 *
 * Both return unsigned PSBTs: the cosigners sign them again (M signatures).
 */
import { InsufficientFundsError, InvalidInputError } from '@mofn/core';
import type { Branch, WalletUtxo } from '../types.ts';
import { dustThreshold } from '../coinselect/dust.ts';
import { feeForVsize } from '../tx/vsize.ts';
import { parseTransaction, transactionId, transactionVsize, type Transaction } from '../tx/transaction.ts';
import { createPsbtFromOutputs, type OutputSpec } from './create.ts';
import type { Psbt, WalletDeriver } from './types.ts';

/** Bitcoin Core's default incremental relay fee: 1 sat/vB (DEFAULT_INCREMENTAL_RELAY_FEE, 1000 sat/kvB). */
export const INCREMENTAL_RELAY_FEE_RATE = 1;
/** Bitcoin Core's default minimum relay fee rate: 1 sat/vB. */
export const MIN_RELAY_FEE_RATE = 1;

/** A signed transaction already broadcast, with the transactions its inputs spend. */
export interface BroadcastTransaction {
  /** The signed transaction (network serialization). */
  readonly tx: Uint8Array;
  /** Previous transactions of its inputs, any order; each is identified by its own hash. */
  readonly prevTxs: readonly Uint8Array[];
}

/** Options of {@link createRbfPsbt}. */
export interface RbfOptions extends BroadcastTransaction {
  /** Fee rate of the replacement, sat/vB; must exceed the original's. */
  readonly feeRate: number;
  /** Default {@link INCREMENTAL_RELAY_FEE_RATE}. */
  readonly incrementalRelayFeeRate?: number;
  /** Indexes searched per branch to recognise the wallet's inputs and change (default 1000). */
  readonly gap?: number;
}

/** A fee bump: the unsigned PSBT and the numbers the BIP-125 rules are judged on. */
export interface RbfResult {
  readonly psbt: Psbt;
  readonly fee: bigint;
  /** Estimated vsize once signed (worst-case signature sizes, so the real fee rate is at least `fee / vsize`). */
  readonly vsize: number;
  readonly originalTxid: string;
  readonly originalFee: bigint;
  readonly originalVsize: number;
  /** The change output of the replacement, absent when the bump consumed it. */
  readonly change?: { readonly index: number; readonly amount: bigint };
}

interface Analysed {
  readonly tx: Transaction;
  readonly txid: string;
  readonly vsize: number;
  readonly fee: bigint;
  readonly utxos: readonly WalletUtxo[];
}

function positiveRate(rate: number, name: string): number {
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) throw new InvalidInputError('fee.invalid_rate', `${name} ${String(rate)} sat/vB must be a positive number up to 100000`);
  return rate;
}

/** Parses a broadcast transaction, checks it is signed and spends only wallet outputs, and computes its fee. */
function analyse(deriver: WalletDeriver, input: BroadcastTransaction, gap: number): Analysed {
  const tx = parseTransaction(input.tx);
  const txid = transactionId(tx);
  if (tx.inputs.some((i) => i.witness.length === 0 && i.scriptSig.length === 0)) {
    throw new InvalidInputError('bump.unsigned', `transaction ${txid} is not signed: bump a transaction that was broadcast`);
  }
  const prevs = new Map<string, { raw: Uint8Array; tx: Transaction }>();
  for (const raw of input.prevTxs) {
    const p = parseTransaction(raw);
    prevs.set(transactionId(p), { raw, tx: p });
  }
  const utxos = tx.inputs.map((i): WalletUtxo => {
    const where = `${i.txid}:${String(i.vout)}`;
    const prev = prevs.get(i.txid);
    if (prev === undefined) throw new InvalidInputError('bump.missing_prev_tx', `the previous transaction of input ${where} was not given`, { details: { txid: i.txid } });
    const out = prev.tx.outputs[i.vout];
    if (out === undefined) throw new InvalidInputError('bump.missing_prev_tx', `transaction ${i.txid} has no output ${String(i.vout)}`);
    const found = deriver.findScript?.(out.script, { gap });
    if (found === undefined) {
      throw new InvalidInputError('bump.foreign_input', `input ${where} does not spend an address of this wallet (searched ${String(gap)} indexes per branch)`, {
        hint: 'only transactions whose every input the wallet can sign again can be replaced',
      });
    }
    return { txid: i.txid, vout: i.vout, amount: out.amount, branch: found.branch, index: found.index, prevTx: prev.raw };
  });
  const fee = utxos.reduce((s, u) => s + u.amount, 0n) - tx.outputs.reduce((s, o) => s + o.amount, 0n);
  return { tx, txid, vsize: transactionVsize(tx), fee, utxos };
}

/** Indexes of the outputs paying the wallet's change branch, with their change index. */
function changeOutputs(deriver: WalletDeriver, tx: Transaction, gap: number): { vout: number; index: number }[] {
  const out: { vout: number; index: number }[] = [];
  tx.outputs.forEach((o, vout) => {
    const found = deriver.findScript?.(o.script, { gap, branches: [1] });
    if (found !== undefined) out.push({ vout, index: found.index });
  });
  return out;
}

/**
 * Builds a BIP-125 replacement of a broadcast wallet transaction at a higher fee rate: the same
 * inputs in the same order, the same payment outputs, the (last) change output reduced by the
 * extra fee, dropped when what is left would be dust.
 * @throws InvalidInputError `bump.unsigned`, `bump.missing_prev_tx`, `bump.foreign_input`, `bump.no_change`,
 *   `bump.fee_rate_too_low` (not above the original's rate), `fee.invalid_rate`
 * @throws InsufficientFundsError `bump.insufficient_funds` when the change cannot pay the new fee
 * @example const { psbt } = createRbfPsbt(deriver, { tx: signed, prevTxs: [funding], feeRate: 12 });
 */
export function createRbfPsbt(deriver: WalletDeriver, options: RbfOptions): RbfResult {
  const feeRate = positiveRate(options.feeRate, 'feeRate');
  const incremental = positiveRate(options.incrementalRelayFeeRate ?? INCREMENTAL_RELAY_FEE_RATE, 'incrementalRelayFeeRate');
  const gap = options.gap ?? 1000;
  const original = analyse(deriver, options, gap);
  const originalRate = Number(original.fee) / original.vsize;
  if (feeRate <= originalRate) {
    throw new InvalidInputError('bump.fee_rate_too_low', `the replacement's ${String(feeRate)} sat/vB must exceed the original's ${originalRate.toFixed(2)} sat/vB`, {
      details: { originalFeeRate: originalRate, feeRate },
    });
  }
  const changes = changeOutputs(deriver, original.tx, gap);
  const change = changes[changes.length - 1];
  if (change === undefined) {
    throw new InvalidInputError('bump.no_change', `transaction ${original.txid} has no change output to take the higher fee from`, {
      hint: 'the payments cannot be reduced; spend it with a new transaction instead, or let the recipient bump it (CPFP)',
    });
  }
  const outputsWith = (changeAmount: bigint | undefined): OutputSpec[] =>
    original.tx.outputs.flatMap((o, vout): OutputSpec[] => {
      if (vout !== change.vout) return [{ script: o.script, amount: o.amount }];
      return changeAmount === undefined ? [] : [{ changeIndex: change.index, amount: changeAmount }];
    });
  const build = (changeAmount: bigint | undefined) => createPsbtFromOutputs(deriver, { utxos: original.utxos, outputs: outputsWith(changeAmount), rbf: true, locktime: original.tx.locktime });
  // BIP-125 rules 3 and 4, and a fee rate at least the one asked for.
  const required = (vsize: number): bigint => {
    const byRate = feeForVsize(vsize, feeRate);
    const byRule4 = original.fee + feeForVsize(vsize, incremental);
    return byRate > byRule4 ? byRate : byRule4;
  };
  const oldChange = original.tx.outputs[change.vout]!.amount;
  const sized = build(oldChange);
  const newChange = oldChange - (required(sized.vsize) - original.fee);
  const dust = dustThreshold(original.tx.outputs[change.vout]!.script);
  const base = { originalTxid: original.txid, originalFee: original.fee, originalVsize: original.vsize };
  if (newChange >= dust) {
    const bumped = build(newChange);
    return { psbt: bumped.psbt, fee: bumped.fee, vsize: bumped.vsize, ...base, change: { index: change.index, amount: newChange } };
  }
  if (original.tx.outputs.length === 1) {
    throw new InsufficientFundsError('bump.insufficient_funds', `the change of ${original.txid} (${oldChange} sats) cannot pay the higher fee`, { hint: 'choose a lower fee rate' });
  }
  // The change would be dust: it all goes to the fee, which must still meet the rules.
  const without = build(undefined);
  if (without.fee < required(without.vsize)) {
    throw new InsufficientFundsError('bump.insufficient_funds', `the change of ${original.txid} (${oldChange} sats) cannot pay ${required(without.vsize)} sats of fee`, {
      details: { change: oldChange.toString(), required: required(without.vsize).toString() },
      hint: 'choose a lower fee rate',
    });
  }
  return { psbt: without.psbt, fee: without.fee, vsize: without.vsize, ...base };
}

/** Options of {@link createCpfpPsbt}. */
export interface CpfpOptions extends BroadcastTransaction {
  /** Fee rate parent and child together must reach, sat/vB. */
  readonly targetFeeRate: number;
  /** Where the child sends the coin: this change index of the wallet. */
  readonly changeIndex: number;
  /** The parent output to spend; default the wallet's (last) change output. */
  readonly vout?: number;
  /** Default {@link MIN_RELAY_FEE_RATE}: the child alone must pay at least this. */
  readonly minRelayFeeRate?: number;
  readonly gap?: number;
}

/** A CPFP child and the package it makes with its parent. */
export interface CpfpResult {
  readonly psbt: Psbt;
  readonly fee: bigint;
  /** Estimated vsize once signed (worst case). */
  readonly vsize: number;
  readonly parentTxid: string;
  readonly parentFee: bigint;
  readonly parentVsize: number;
  /** (parent fee + child fee) / (parent vsize + child vsize), with the child's estimated vsize. */
  readonly packageFeeRate: number;
  readonly output: { readonly index: number; readonly amount: bigint };
}

/**
 * Builds a child spending a wallet output of an unconfirmed parent (child pays for parent), so that
 * the package reaches `targetFeeRate`.
 * @throws InvalidInputError `bump.unsigned`, `bump.missing_prev_tx`, `bump.foreign_input`, `bump.no_change`,
 *   `bump.not_needed` (the parent alone already pays the target), `fee.invalid_rate`
 * @throws InsufficientFundsError `bump.insufficient_funds` when the output cannot pay the child's fee
 */
export function createCpfpPsbt(deriver: WalletDeriver, options: CpfpOptions): CpfpResult {
  const target = positiveRate(options.targetFeeRate, 'targetFeeRate');
  const minRelay = positiveRate(options.minRelayFeeRate ?? MIN_RELAY_FEE_RATE, 'minRelayFeeRate');
  const gap = options.gap ?? 1000;
  // The parent's inputs must be the wallet's too: its fee is only known from their amounts.
  const parent = analyse(deriver, options, gap);
  if (Number(parent.fee) / parent.vsize >= target) {
    throw new InvalidInputError('bump.not_needed', `transaction ${parent.txid} already pays ${(Number(parent.fee) / parent.vsize).toFixed(2)} sat/vB, not below ${String(target)}`);
  }
  let spend: { vout: number; branch: Branch; index: number } | undefined;
  if (options.vout !== undefined) {
    const out = parent.tx.outputs[options.vout];
    const found = out === undefined ? undefined : deriver.findScript?.(out.script, { gap });
    if (found === undefined) throw new InvalidInputError('bump.foreign_output', `output ${parent.txid}:${String(options.vout)} is not the wallet's`);
    spend = { vout: options.vout, branch: found.branch, index: found.index };
  } else {
    const last = changeOutputs(deriver, parent.tx, gap).pop();
    if (last !== undefined) spend = { vout: last.vout, branch: 1, index: last.index };
  }
  if (spend === undefined) throw new InvalidInputError('bump.no_change', `transaction ${parent.txid} pays no change to this wallet`, { hint: 'pass the output to spend' });
  const amount = parent.tx.outputs[spend.vout]!.amount;
  const utxo: WalletUtxo = { txid: parent.txid, vout: spend.vout, amount, branch: spend.branch, index: spend.index, prevTx: options.tx };
  const build = (out: bigint) => createPsbtFromOutputs(deriver, { utxos: [utxo], outputs: [{ changeIndex: options.changeIndex, amount: out }], rbf: true });
  const sized = build(amount);
  const packageFee = feeForVsize(parent.vsize + sized.vsize, target);
  const floor = feeForVsize(sized.vsize, minRelay);
  const fee = packageFee - parent.fee > floor ? packageFee - parent.fee : floor;
  const out = amount - fee;
  const script = deriver.derive(1, options.changeIndex).scriptPubKey;
  if (out < dustThreshold(script)) {
    throw new InsufficientFundsError('bump.insufficient_funds', `output ${parent.txid}:${String(spend.vout)} holds ${amount} sats, not enough for a ${fee} sats child fee`, {
      details: { amount: amount.toString(), fee: fee.toString() },
      hint: 'choose a lower target fee rate',
    });
  }
  const child = build(out);
  return {
    psbt: child.psbt,
    fee: child.fee,
    vsize: child.vsize,
    parentTxid: parent.txid,
    parentFee: parent.fee,
    parentVsize: parent.vsize,
    packageFeeRate: Number(parent.fee + child.fee) / (parent.vsize + child.vsize),
    output: { index: options.changeIndex, amount: out },
  };
}
