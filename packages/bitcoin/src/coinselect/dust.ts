/**
 * Dust limits as Bitcoin Core's policy computes them (GetDustThreshold, policy/policy.cpp):
 * an output is dust when spending it would cost more than a third of its value at the dust relay
 * fee, i.e. when its value is below `(output size + spend size) x dustRelayFee`, with a spend of
 * 148 bytes for non-witness outputs and 67 vbytes (32 + 4 + 1 + 107/4 + 4) for witness programs.
 */
import { classifyOutputScript, witnessProgramOf } from '../tx/script.ts';
import { compactSizeLength } from '../tx/bytes.ts';

/** Bitcoin Core's DUST_RELAY_TX_FEE: 3000 sat/kvB = 3 sat/vB. */
export const DUST_RELAY_FEE_RATE = 3;

/**
 * Smallest non-dust value of an output with this script (0 for OP_RETURN outputs, which are
 * unspendable and exempt).
 * @param script - the output's scriptPubKey
 * @param dustRelayFeeRate - sat/vB (default 3, Bitcoin Core's default)
 */
export function dustThreshold(script: Uint8Array, dustRelayFeeRate: number = DUST_RELAY_FEE_RATE): bigint {
  if (classifyOutputScript(script) === 'nulldata') return 0n;
  let size = 8 + compactSizeLength(script.length) + script.length;
  size += witnessProgramOf(script) !== undefined ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  const perKvb = BigInt(Math.round(dustRelayFeeRate * 1000));
  return (BigInt(size) * perKvb + 999n) / 1000n;
}

/** True if an output of `amount` to `script` is dust under Bitcoin Core's default relay policy. Never throws. */
export function isDust(amount: bigint, script: Uint8Array, dustRelayFeeRate: number = DUST_RELAY_FEE_RATE): boolean {
  return amount < dustThreshold(script, dustRelayFeeRate);
}
