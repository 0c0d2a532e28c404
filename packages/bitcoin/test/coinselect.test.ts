/**
 * Coin selection: Bitcoin Core's dust thresholds, branch and bound checked against an exhaustive
 * search, and the invariants every selection keeps (funds, fee at the rate asked, no dust change).
 */
import { InsufficientFundsError, InvalidInputError } from '@mofn/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { branchAndBound, dustThreshold, feeForWeight, isDust, selectCoins, type BnbCoin, type CoinCandidate } from '../src/coinselect/index.ts';
import { fromHex } from '../src/tx/bytes.ts';
import { defaultSpendShape, feeForVsize, multisigInputWeight, outputWeight, txOverheadWeight, weightToVsize } from '../src/tx/vsize.ts';

describe('dust (Bitcoin Core GetDustThreshold at 3 sat/vB)', () => {
  it.each([
    ['P2PKH', `76a914${'00'.repeat(20)}88ac`, 546n],
    ['P2SH', `a914${'00'.repeat(20)}87`, 540n],
    ['P2WPKH', `0014${'00'.repeat(20)}`, 294n],
    ['P2WSH', `0020${'00'.repeat(32)}`, 330n],
    ['P2TR', `5120${'00'.repeat(32)}`, 330n],
    ['OP_RETURN', '6a0568656c6c6f', 0n],
  ])('%s: %s', (_name, script, threshold) => {
    const s = fromHex(script);
    expect(dustThreshold(s)).toBe(threshold);
    expect(isDust(threshold, s)).toBe(false);
    if (threshold > 0n) expect(isDust(threshold - 1n, s)).toBe(true);
  });

  it('scales with the dust relay fee', () => {
    expect(dustThreshold(fromHex(`0014${'00'.repeat(20)}`), 1)).toBe(98n);
  });
});

/**
 * The least waste over the selections Core's search can reach: subsets whose value lands in
 * [target, target + costOfChange] and that were still below target before their last coin (in
 * the search's largest-first order) was added; Core never adds a coin once the target is met,
 * even when a low fee rate would make that coin lower the waste ("burning money").
 */
function bruteForce(pool: readonly BnbCoin[], target: bigint, costOfChange: bigint): bigint | undefined {
  const sorted = [...pool].sort((a, b) => (a.effective === b.effective ? a.index - b.index : a.effective > b.effective ? -1 : 1));
  let best: bigint | undefined;
  for (let mask = 1; mask < 1 << sorted.length; mask++) {
    let value = 0n;
    let waste = 0n;
    let beforeLast = 0n;
    for (let i = 0; i < sorted.length; i++) {
      if ((mask & (1 << i)) === 0) continue;
      beforeLast = value;
      value += sorted[i]!.effective;
      waste += sorted[i]!.fee - sorted[i]!.longTermFee;
    }
    if (beforeLast >= target || value < target || value > target + costOfChange) continue;
    waste += value - target;
    if (best === undefined || waste < best) best = waste;
  }
  return best;
}

function wasteOf(pool: readonly BnbCoin[], picked: readonly number[], target: bigint): bigint {
  let value = 0n;
  let waste = 0n;
  for (const i of picked) {
    const c = pool.find((p) => p.index === i)!;
    value += c.effective;
    waste += c.fee - c.longTermFee;
  }
  return waste + value - target;
}

describe('branch and bound', () => {
  it('finds the least-waste changeless selection whenever one exists (exhaustive comparison)', () => {
    const coin = fc.record({ effective: fc.bigInt({ min: 1n, max: 200_000n }), fee: fc.bigInt({ min: 0n, max: 3_000n }), ltf: fc.bigInt({ min: 0n, max: 3_000n }) });
    fc.assert(
      fc.property(fc.array(coin, { minLength: 1, maxLength: 10 }), fc.bigInt({ min: 1n, max: 600_000n }), fc.bigInt({ min: 0n, max: 5_000n }), fc.boolean(), (coins, target, coc, high) => {
        // Core's pruning assumes one fee regime for the whole pool (fee above or below the long-term fee).
        const pool: BnbCoin[] = coins.map((c, index) => ({ index, effective: c.effective, fee: c.fee, longTermFee: high ? c.fee - c.ltf : c.fee + c.ltf, weight: 400 }));
        const best = bruteForce(pool, target, coc);
        const found = branchAndBound(pool, target, coc, 400_000);
        if (best === undefined) expect(found).toBeUndefined();
        else {
          expect(found).toBeDefined();
          expect(wasteOf(pool, found!, target)).toBe(best);
        }
      }),
      { numRuns: 300 },
    );
  });
});

const WSH = multisigInputWeight(defaultSpendShape('wsh', 2, 3));
const P2WPKH = 22;
const P2WSH = 34;

function candidates(amounts: readonly bigint[]): CoinCandidate<number>[] {
  return amounts.map((amount, item) => ({ item, amount, inputWeight: WSH.weight, witness: true }));
}

const change = { scriptLength: P2WSH, dustThreshold: 330n, spendWeight: WSH.weight };

/** The exact fee of a finished selection, recomputed from the size model. */
function exactFee(inputs: number, outputs: readonly number[], feeRate: number): { fee: bigint; vsize: number } {
  const weight = inputs * WSH.weight + outputs.reduce((s, l) => s + outputWeight(l), 0) + txOverheadWeight(inputs, outputs.length, true);
  const vsize = weightToVsize(weight);
  return { fee: feeForVsize(vsize, feeRate), vsize };
}

describe('selectCoins', () => {
  it('keeps its invariants on random wallets (funds, exact fee, no dust change, bounded overpayment)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1_000n, max: 2_000_000n }), { minLength: 1, maxLength: 12 }),
        fc.bigInt({ min: 1_000n, max: 3_000_000n }),
        fc.integer({ min: 100, max: 50_000 }).map((r) => r / 1000),
        fc.constantFrom('bnb' as const, 'all' as const),
        (amounts, payment, feeRate, strategy) => {
          const cands = candidates(amounts);
          let r;
          try {
            r = selectCoins({ candidates: cands, outputs: [{ amount: payment, scriptLength: P2WPKH }], feeRate, change, strategy });
          } catch (e) {
            expect(e).toBeInstanceOf(InsufficientFundsError);
            // Only when even every coin worth spending (or every coin, for 'all') cannot pay.
            const usable = strategy === 'all' ? amounts : amounts.filter((a) => a > feeForWeight(WSH.weight, feeRate));
            const total = usable.reduce((s, a) => s + a, 0n);
            expect(total < payment + exactFee(usable.length, [P2WPKH], feeRate).fee).toBe(true);
            return;
          }
          const total = r.selected.reduce((s, i) => s + amounts[i]!, 0n);
          if (strategy === 'all') expect(r.selected).toHaveLength(amounts.length);
          expect(total).toBe(payment + r.fee + (r.change ?? 0n));
          const outputs = r.change === undefined ? [P2WPKH] : [P2WPKH, P2WSH];
          const exact = exactFee(r.selected.length, outputs, feeRate);
          expect(r.vsize).toBe(exact.vsize);
          if (r.change !== undefined) {
            expect(r.change).toBeGreaterThanOrEqual(330n);
            expect(r.fee).toBe(exact.fee);
          } else {
            expect(r.fee).toBeGreaterThanOrEqual(exact.fee);
            // What is left to the fee is less than a change output would have cost plus its dust limit
            // (or, for branch and bound, within its cost-of-change window).
            const overpaid = r.fee - exact.fee;
            const costOfChange = feeForWeight(outputWeight(P2WSH), feeRate) + feeForWeight(WSH.weight, 3);
            const bound = (r.algorithm === 'bnb' ? costOfChange : 330n + feeForVsize(43, feeRate)) + 1n;
            expect(overpaid).toBeLessThanOrEqual(bound);
          }
          expect(r.selected).toEqual([...r.selected].sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prefers a changeless exact match, else largest first with change', () => {
    const feeRate = 2;
    const fee2 = exactFee(2, [P2WPKH], feeRate).fee;
    const amounts = [500_000n, 30_000n, 20_000n, 7_000n];
    const exactMatch = selectCoins({ candidates: candidates(amounts), outputs: [{ amount: 50_000n - fee2 - 10n, scriptLength: P2WPKH }], feeRate, change });
    expect(exactMatch.algorithm).toBe('bnb');
    expect(exactMatch.selected).toEqual([1, 2]);
    expect(exactMatch.change).toBeUndefined();
    const fallback = selectCoins({ candidates: candidates(amounts), outputs: [{ amount: 100_000n, scriptLength: P2WPKH }], feeRate, change });
    expect(fallback.algorithm).toBe('largest-first');
    expect(fallback.selected).toEqual([0]);
    expect(fallback.change).toBe(500_000n - 100_000n - exactFee(1, [P2WPKH, P2WSH], feeRate).fee);
  });

  it('skips coins that cost more to spend than they hold, unless told to spend everything', () => {
    const amounts = [100_000n, 200n];
    const r = selectCoins({ candidates: candidates(amounts), outputs: [{ amount: 10_000n, scriptLength: P2WPKH }], feeRate: 10, change });
    expect(r.selected).toEqual([0]);
    const all = selectCoins({ candidates: candidates(amounts), outputs: [{ amount: 10_000n, scriptLength: P2WPKH }], feeRate: 10, change, strategy: 'all' });
    expect(all.selected).toEqual([0, 1]);
  });

  it('reports a transaction above the standard weight as too large, not as missing funds', () => {
    const many = candidates(Array.from({ length: 1000 }, () => 100_000n));
    expect(() => selectCoins({ candidates: many, outputs: [{ amount: 70_000_000n, scriptLength: P2WPKH }], feeRate: 1, change, strategy: 'all' })).toThrow(
      expect.objectContaining({ code: 'coinselect.too_large' }),
    );
    expect(selectCoins({ candidates: many, outputs: [{ amount: 70_000_000n, scriptLength: P2WPKH }], feeRate: 1, change, strategy: 'all', maxWeight: 1_000_000 }).selected).toHaveLength(1000);
  });

  it('validates its inputs', () => {
    const base = { candidates: candidates([10_000n]), outputs: [{ amount: 1_000n, scriptLength: P2WPKH }], change };
    for (const feeRate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => selectCoins({ ...base, feeRate })).toThrow(InvalidInputError);
    expect(() => selectCoins({ ...base, feeRate: 1, outputs: [{ amount: 0n, scriptLength: 22 }] })).toThrow(InvalidInputError);
    expect(() => selectCoins({ ...base, feeRate: 1, candidates: [{ item: 0, amount: 0n, inputWeight: 100, witness: true }] })).toThrow(InvalidInputError);
  });
});
