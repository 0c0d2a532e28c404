/**
 * Coin selection: Bitcoin Core's branch-and-bound search for a changeless selection minimising
 * waste (wallet/coinselection.cpp, SelectCoinsBnB), falling back to largest-first with change,
 * or spending every candidate ('all').
 *
 * The search works on effective values (amount minus the fee to spend the input at the target
 * fee rate); the result's fee is then recomputed exactly from the transaction's total weight,
 * so rounding never leaves a selection short.
 */
import { InsufficientFundsError, InvalidInputError } from '@mofn/core';
import { feeForVsize, outputWeight, txOverheadWeight, weightToVsize } from '../tx/vsize.ts';

/** A spendable coin as the selector sees it. */
export interface CoinCandidate<T> {
  readonly item: T;
  readonly amount: bigint;
  /** Weight of the input once signed (see tx/vsize.ts). */
  readonly inputWeight: number;
  /** Whether the signed input has a witness (adds the segwit marker to the transaction). */
  readonly witness: boolean;
}

/** What to fund and how. */
export interface SelectCoinsParams<T> {
  readonly candidates: readonly CoinCandidate<T>[];
  /** Fixed outputs (payments): amount and script length. */
  readonly outputs: readonly { readonly amount: bigint; readonly scriptLength: number }[];
  /** Target fee rate in sat/vB (fractional allowed). */
  readonly feeRate: number;
  /** The change output mofn would add. */
  readonly change: {
    readonly scriptLength: number;
    /** Below this value change is not created and goes to the fee. */
    readonly dustThreshold: bigint;
    /** Weight of the input that will later spend the change (for BnB's cost of change). */
    readonly spendWeight: number;
  };
  /** `bnb` (default): branch and bound, then largest-first; `all`: spend every candidate. */
  readonly strategy?: 'bnb' | 'all';
  /** Fee rate expected when coins are spent later (waste metric, Core's -consolidatefeerate); default 10 sat/vB. */
  readonly longTermFeeRate?: number;
  /** Rate at which the change output will later be spent, for BnB's cost of change (Core's discard fee); default 3 sat/vB. */
  readonly discardFeeRate?: number;
  /** Maximum transaction weight (default 400,000: Bitcoin Core's standardness limit). */
  readonly maxWeight?: number;
}

/** A funded selection. */
export interface CoinSelection<T> {
  /** Selected candidates in their original order. */
  readonly selected: readonly T[];
  readonly fee: bigint;
  /** Estimated vsize of the signed transaction. */
  readonly vsize: number;
  /** Change amount, undefined when no change output is made. */
  readonly change: bigint | undefined;
  readonly algorithm: 'bnb' | 'largest-first' | 'all';
}

const BNB_TOTAL_TRIES = 100_000;

/** Fee in satoshis for a weight at a sat/vB rate, rounded up. */
export function feeForWeight(weight: number, feeRate: number): bigint {
  const perKvb = BigInt(Math.round(feeRate * 1000));
  return (BigInt(weight) * perKvb + 3999n) / 4000n;
}

/** A coin as branch and bound sees it: effective value and the fees for the waste metric. */
export interface BnbCoin {
  /** Caller's index of the coin (returned in the selection). */
  readonly index: number;
  readonly effective: bigint;
  readonly fee: bigint;
  readonly longTermFee: bigint;
  readonly weight: number;
}

/**
 * Bitcoin Core's SelectCoinsBnB: depth-first search (largest effective value first) for a
 * selection whose effective value lies in [target, target + costOfChange], minimising
 * waste = sum(fee - longTermFee) + excess. Returns pool indexes or undefined.
 */
export function branchAndBound(pool: readonly BnbCoin[], target: bigint, costOfChange: bigint, maxWeight: number): number[] | undefined {
  let available = 0n;
  for (const p of pool) available += p.effective;
  if (available < target || pool.length === 0) return undefined;
  const sorted = [...pool].sort((a, b) => (a.effective === b.effective ? a.index - b.index : a.effective > b.effective ? -1 : 1));
  const isFeeRateHigh = sorted[0]!.fee > sorted[0]!.longTermFee;
  let currValue = 0n;
  let currWaste = 0n;
  let currWeight = 0;
  const selection: number[] = [];
  let best: number[] | undefined;
  let bestWaste: bigint | undefined;
  let i = 0;
  for (let tries = 0; tries < BNB_TOTAL_TRIES; tries++, i++) {
    let backtrack = false;
    if (currValue + available < target || currValue > target + costOfChange || (bestWaste !== undefined && currWaste > bestWaste && isFeeRateHigh)) {
      backtrack = true;
    } else if (currWeight > maxWeight) {
      backtrack = true;
    } else if (currValue >= target) {
      const waste = currWaste + (currValue - target);
      if (bestWaste === undefined || waste <= bestWaste) {
        best = [...selection];
        bestWaste = waste;
      }
      backtrack = true;
    }
    if (backtrack) {
      if (selection.length === 0) break;
      const last = selection[selection.length - 1]!;
      for (i--; i > last; i--) available += sorted[i]!.effective;
      const u = sorted[i]!;
      currValue -= u.effective;
      currWaste -= u.fee - u.longTermFee;
      currWeight -= u.weight;
      selection.pop();
    } else {
      const u = sorted[i]!;
      available -= u.effective;
      const prev = sorted[i - 1];
      // Skip an inclusion branch equivalent to one just explored (same value and fee, previous excluded).
      if (selection.length === 0 || i - 1 === selection[selection.length - 1] || prev === undefined || u.effective !== prev.effective || u.fee !== prev.fee) {
        selection.push(i);
        currValue += u.effective;
        currWaste += u.fee - u.longTermFee;
        currWeight += u.weight;
      }
    }
  }
  return best?.map((k) => sorted[k]!.index);
}

function validate<T>(p: SelectCoinsParams<T>): void {
  if (!Number.isFinite(p.feeRate) || p.feeRate <= 0) {
    throw new InvalidInputError('fee.invalid_rate', `fee rate ${String(p.feeRate)} sat/vB must be a positive number`);
  }
  if (p.feeRate > 100_000) throw new InvalidInputError('fee.rate_too_high', `fee rate ${String(p.feeRate)} sat/vB is implausibly high`);
  for (const o of p.outputs) if (o.amount <= 0n) throw new InvalidInputError('payment.invalid_amount', `payment amount ${o.amount} must be positive`);
  for (const c of p.candidates) if (c.amount <= 0n) throw new InvalidInputError('utxo.invalid_amount', `UTXO amount ${c.amount} must be positive`);
}

/**
 * Chooses inputs to fund `outputs` at `feeRate`, adding change when it is not dust.
 * @throws InsufficientFundsError `coinselect.insufficient_funds` when the candidates cannot pay outputs and fee
 * @throws InvalidInputError `fee.invalid_rate`, `payment.invalid_amount`, `utxo.invalid_amount`,
 *   `coinselect.too_large` (funds suffice but only with a transaction above `maxWeight`)
 */
export function selectCoins<T>(params: SelectCoinsParams<T>): CoinSelection<T> {
  validate(params);
  const { candidates, outputs, feeRate, change } = params;
  const maxWeight = params.maxWeight ?? 400_000;
  const paymentTotal = outputs.reduce((s, o) => s + o.amount, 0n);
  const outputsWeight = outputs.reduce((s, o) => s + outputWeight(o.scriptLength), 0);
  const changeWeight = outputWeight(change.scriptLength);

  /** Exact fee and vsize for a set of candidate indexes, with or without change. */
  const exact = (idx: readonly number[], withChange: boolean): { fee: bigint; vsize: number; total: bigint; weight: number } => {
    let weight = outputsWeight + (withChange ? changeWeight : 0);
    let segwit = false;
    let total = 0n;
    for (const k of idx) {
      const c = candidates[k]!;
      weight += c.inputWeight;
      segwit ||= c.witness;
      total += c.amount;
    }
    weight += txOverheadWeight(idx.length, outputs.length + (withChange ? 1 : 0), segwit);
    const vsize = weightToVsize(weight);
    return { fee: feeForVsize(vsize, feeRate), vsize, total, weight };
  };

  /** Finishes a selection: change if it is not dust, else the remainder goes to the fee. */
  const finish = (idx: number[], algorithm: CoinSelection<T>['algorithm'], allowChange: boolean): CoinSelection<T> | undefined => {
    const sortedIdx = [...idx].sort((a, b) => a - b);
    const selected = sortedIdx.map((k) => candidates[k]!.item);
    const noChange = exact(sortedIdx, false);
    if (noChange.total < paymentTotal + noChange.fee) return undefined;
    if (noChange.weight > maxWeight) {
      tooHeavy = noChange.weight;
      return undefined;
    }
    if (allowChange) {
      const withChange = exact(sortedIdx, true);
      const amount = withChange.total - paymentTotal - withChange.fee;
      if (amount >= change.dustThreshold && amount > 0n && withChange.weight <= maxWeight) {
        return { selected, fee: withChange.fee, vsize: withChange.vsize, change: amount, algorithm };
      }
    }
    return { selected, fee: noChange.total - paymentTotal, vsize: noChange.vsize, change: undefined, algorithm };
  };

  const all = candidates.map((_, k) => k);
  let tooHeavy: number | undefined;
  const fail = (): never => {
    if (tooHeavy !== undefined) {
      throw new InvalidInputError('coinselect.too_large', `the transaction would weigh ${String(tooHeavy)} WU, above the ${String(maxWeight)} WU limit (Bitcoin Core does not relay it)`, {
        details: { weight: tooHeavy, maxWeight },
        hint: 'spend fewer UTXOs per transaction (consolidate in several steps)',
      });
    }
    const total = candidates.reduce((s, c) => s + c.amount, 0n);
    const needed = paymentTotal + exact(all, false).fee;
    throw new InsufficientFundsError(
      'coinselect.insufficient_funds',
      `cannot fund ${paymentTotal} sats of payments at ${String(feeRate)} sat/vB: ${String(candidates.length)} UTXOs hold ${total} sats, at least ${needed} needed`,
      { details: { available: total.toString(), payments: paymentTotal.toString(), feeRate }, hint: 'lower the amount or the fee rate, or add funds' },
    );
  };

  if (params.strategy === 'all') return finish(all, 'all', true) ?? fail();

  const pool: BnbCoin[] = [];
  candidates.forEach((c, index) => {
    const fee = feeForWeight(c.inputWeight, feeRate);
    const effective = c.amount - fee;
    if (effective > 0n) pool.push({ index, effective, fee, longTermFee: feeForWeight(c.inputWeight, params.longTermFeeRate ?? 10), weight: c.inputWeight });
  });
  // BnB target: payments plus the fee of everything but the inputs (as Core's selection target).
  const baseWeight = outputsWeight + txOverheadWeight(1, outputs.length, candidates.some((c) => c.witness));
  const target = paymentTotal + feeForWeight(baseWeight, feeRate);
  const costOfChange = feeForWeight(changeWeight, feeRate) + feeForWeight(change.spendWeight, params.discardFeeRate ?? 3);
  const bnb = branchAndBound(pool, target, costOfChange, maxWeight - baseWeight);
  if (bnb !== undefined) {
    const r = finish(bnb, 'bnb', false);
    if (r !== undefined) return r;
  }
  // Largest-first: add coins by decreasing effective value until the exact fee is covered.
  const order = [...pool].sort((a, b) => (a.effective === b.effective ? a.index - b.index : a.effective > b.effective ? -1 : 1));
  const picked: number[] = [];
  for (const p of order) {
    picked.push(p.index);
    const r = finish(picked, 'largest-first', true);
    if (r !== undefined) return r;
  }
  return fail();
}
