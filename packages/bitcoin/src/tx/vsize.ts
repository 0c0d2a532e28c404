/**
 * Size model for fee estimation: exact byte counts of the finished transaction with worst-case
 * signature sizes, per multisig script type.
 *
 * ECDSA: a strict-DER signature (BIP-66) with low S (BIP-146) is at most 71 bytes
 * (`30 44 02 21 <33-byte r> 02 20 <32-byte s>`: r may need a 0x00 pad, low s never does),
 * plus the sighash byte: 72. mofn's signatures are RFC 6979 without low-R grinding (to stay
 * byte-identical with bitcoinjs-lib), so about half of them are 72 bytes and half 71 (70 or less
 * in the ~1% of cases where r or s has leading zero bytes); counting 72 for every one never
 * under-estimates, so the fee rate actually paid is never below the one asked for, and it
 * over-estimates by about half a byte per signature (a quarter of that in witness data).
 * Schnorr (BIP-340/342): 64 bytes with SIGHASH_DEFAULT, which is what mofn signs with.
 */
import type { ScriptType } from '../types.ts';
import { compactSizeLength } from './bytes.ts';
import { pushPrefixLength } from './script.ts';

/** Worst-case ECDSA signature push payload (71-byte low-S DER + 1 sighash byte). */
export const ECDSA_SIGNATURE_SIZE = 72;
/** BIP-341 SIGHASH_DEFAULT Schnorr signature size. */
export const SCHNORR_SIGNATURE_SIZE = 64;

/** What the spend of one multisig input looks like, for sizing. */
export interface MultisigSpendShape {
  readonly type: ScriptType;
  readonly threshold: number;
  readonly keyCount: number;
  /** Length of the multisig script: redeemScript (sh), witnessScript (wsh, sh-wsh) or tapscript leaf (tr). */
  readonly scriptLength: number;
  /** Taproot control block length (33 for a single-leaf tree). */
  readonly controlBlockLength?: number;
}

/** Length of `OP_m <33-byte key> x n OP_n OP_CHECKMULTISIG` (n > 16 pushes the number as data). */
export function multisigScriptLength(threshold: number, keyCount: number): number {
  const num = (v: number): number => (v <= 16 ? 1 : 2);
  return num(threshold) + 34 * keyCount + num(keyCount) + 1;
}

/** Length of the BIP-342 multi_a leaf: `<x> CHECKSIG (<x> CHECKSIGADD)* <m> NUMEQUAL`. */
export function multiAScriptLength(threshold: number, keyCount: number): number {
  const m = threshold <= 16 ? 1 : threshold < 0x80 ? 2 : threshold < 0x8000 ? 3 : 4;
  return 34 * keyCount + m + 1;
}

/** The natural spend shape of an M-of-N wallet input of a type (scripts as mofn builds them). */
export function defaultSpendShape(type: ScriptType, threshold: number, keyCount: number): MultisigSpendShape {
  if (type === 'tr') return { type, threshold, keyCount, scriptLength: multiAScriptLength(threshold, keyCount), controlBlockLength: 33 };
  return { type, threshold, keyCount, scriptLength: multisigScriptLength(threshold, keyCount) };
}

/** Weight (BIP-141 weight units) of one fully signed multisig input, and whether it has a witness. */
export function multisigInputWeight(shape: MultisigSpendShape): { weight: number; witness: boolean } {
  const { type, threshold: m, keyCount: n, scriptLength: s } = shape;
  const sig = ECDSA_SIGNATURE_SIZE;
  if (type === 'sh') {
    // scriptSig: OP_0 (CHECKMULTISIG dummy), M signature pushes, the redeem script push.
    const scriptSig = 1 + m * (1 + sig) + pushPrefixLength(s) + s;
    return { weight: 4 * (36 + compactSizeLength(scriptSig) + scriptSig + 4), witness: false };
  }
  if (type === 'wsh' || type === 'sh-wsh') {
    const witness = compactSizeLength(m + 2) + 1 + m * (1 + sig) + compactSizeLength(s) + s;
    // sh-wsh: scriptSig is the push of the 34-byte P2WSH program (35 bytes).
    const scriptSig = type === 'sh-wsh' ? 35 : 0;
    return { weight: 4 * (36 + compactSizeLength(scriptSig) + scriptSig + 4) + witness, witness: true };
  }
  // tr script path: one stack element per key (signature or empty, BIP-342 multi_a), leaf, control block.
  const cb = shape.controlBlockLength ?? 33;
  const witness = compactSizeLength(n + 2) + m * (1 + SCHNORR_SIGNATURE_SIZE) + (n - m) + compactSizeLength(s) + s + compactSizeLength(cb) + cb;
  return { weight: 4 * 41 + witness, witness: true };
}

/** Weight of one output with this script. */
export function outputWeight(scriptLength: number): number {
  return 4 * (8 + compactSizeLength(scriptLength) + scriptLength);
}

/** Weight of version, counts and locktime, plus the segwit marker and flag when `segwit`. */
export function txOverheadWeight(inputCount: number, outputCount: number, segwit: boolean): number {
  return 4 * (4 + compactSizeLength(inputCount) + compactSizeLength(outputCount) + 4) + (segwit ? 2 : 0);
}

/** Virtual size of a weight (BIP-141: weight / 4 rounded up). */
export function weightToVsize(weight: number): number {
  return Math.ceil(weight / 4);
}

/**
 * Estimated vsize of a transaction spending these multisig inputs to outputs with these
 * script lengths, every input signed by exactly M cosigners.
 */
export function estimateMultisigVsize(inputs: readonly MultisigSpendShape[], outputScriptLengths: readonly number[]): number {
  let weight = 0;
  let segwit = false;
  for (const i of inputs) {
    const w = multisigInputWeight(i);
    weight += w.weight;
    segwit ||= w.witness;
  }
  for (const len of outputScriptLengths) weight += outputWeight(len);
  return weightToVsize(weight + txOverheadWeight(inputs.length, outputScriptLengths.length, segwit));
}

/**
 * Fee for a vsize at a fee rate in sat/vB (fractional allowed), rounded up to the satoshi.
 * The rate is taken at 1/1000 sat/vB precision (Bitcoin Core's sat/kvB).
 */
export function feeForVsize(vsize: number, feeRate: number): bigint {
  const perKvb = BigInt(Math.round(feeRate * 1000));
  const num = BigInt(vsize) * perKvb;
  return (num + 999n) / 1000n;
}
