/**
 * What a cosigner reviews before signing: where the money goes, what comes back to the wallet,
 * the fee, and who has signed. Wallet membership is always established by derivation (never by
 * the PSBT's word), and signatures are verified before they are counted.
 */
import { InvalidPsbtError, equalBytes } from '@mofn/core';
import { scriptToAddress } from '../address.ts';
import { decodeDerSignature } from '../keys/index.ts';
import { secp } from '../secp.ts';
import type { Branch, DerivedAddress } from '../types.ts';
import { toHex } from '../tx/bytes.ts';
import { tapLeafHash } from '../tx/script.ts';
import { SIGHASH_DEFAULT, SighashContext } from '../tx/sighash.ts';
import { analyzePsbt, estimatePsbtVsize, type InputAnalysis } from './analyze.ts';
import { serializeUnsignedTx } from './codec.ts';
import { hash256 } from '../hash.ts';
import { bytesToTxid } from '../tx/bytes.ts';
import type { Psbt, PsbtInput, WalletDeriver } from './types.ts';
import { cosignerOrigins } from './wallet.ts';

/** Options of {@link inspectPsbt}. */
export interface InspectPsbtOptions {
  /** Change (and receive) indexes recognised by scanning, per branch (default 1000). */
  readonly changeGap?: number;
}

/** One input as the reviewer sees it. */
export interface InspectedInput {
  readonly index: number;
  readonly txid: string;
  readonly vout: number;
  readonly sequence: number;
  readonly amount?: bigint;
  readonly address?: string;
  /** Set when the input is the wallet's (verified by derivation). */
  readonly wallet?: { readonly branch: Branch; readonly index: number };
  /** Why a claim that the input is the wallet's was rejected. */
  readonly mismatch?: string;
  readonly finalized: boolean;
  /** Cosigner indexes with a valid signature on this input. */
  readonly signedBy: readonly number[];
  /** Cosigner indexes whose signature does not verify. */
  readonly invalidSignatures: readonly number[];
  /** Cosigner indexes that have not signed. */
  readonly missing: readonly number[];
  readonly signatures: number;
  readonly threshold: number;
}

/** Output kinds: a payment out of the wallet, the wallet's change, or a payment to one of its receive addresses. */
export type OutputKind = 'external' | 'change' | 'internal receive';

/** One output as the reviewer sees it. */
export interface InspectedOutput {
  readonly index: number;
  readonly amount: bigint;
  /** Undefined for scripts without an address (OP_RETURN, bare scripts). */
  readonly address?: string;
  readonly script: string;
  readonly kind: OutputKind;
  /** True only for verified change within the gap. */
  readonly change: boolean;
  readonly wallet?: { readonly branch: Branch; readonly index: number };
  readonly mismatch?: string;
}

/** Per-cosigner signing progress. */
export interface CosignerProgress {
  readonly cosigner: number;
  readonly fingerprint: string;
  readonly signed: readonly number[];
  readonly missing: readonly number[];
}

/** JSON-able review of a PSBT (amounts are bigint: the caller stringifies). */
export interface PsbtSummary {
  /** Txid of the unsigned transaction (the final txid when every input is segwit). */
  readonly txid: string;
  readonly version: number;
  readonly locktime: number;
  /** BIP-125: any input with nSequence < 0xfffffffe. */
  readonly rbf: boolean;
  readonly inputs: readonly InspectedInput[];
  readonly outputs: readonly InspectedOutput[];
  /** Undefined when some input's amount is unknown. */
  readonly totalIn?: bigint;
  readonly totalOut: bigint;
  readonly fee?: bigint;
  /** Sum of outputs that are not change (external and internal receive). */
  readonly sent: bigint;
  readonly change: bigint;
  readonly vsize: number;
  /** True unless every input is finalized. */
  readonly vsizeIsEstimate: boolean;
  /** sat/vB, two decimals. */
  readonly feeRate?: number;
  readonly threshold: number;
  readonly cosigners: readonly CosignerProgress[];
  readonly readyToFinalize: boolean;
  readonly finalized: boolean;
  readonly warnings: readonly string[];
}

function verifiedSigners(input: PsbtInput, i: number, a: InputAnalysis, addr: DerivedAddress, deriver: WalletDeriver, ctx: SighashContext, warnings: string[]): { valid: number[]; invalid: number[] } {
  const valid: number[] = [];
  const invalid: number[] = [];
  const type = deriver.policy.type;
  const leafHash = type === 'tr' ? tapLeafHash(addr.tapLeafScript!) : undefined;
  for (const k of addr.keys) {
    let ok: boolean | undefined;
    try {
      if (leafHash !== undefined) {
        const s = input.tapScriptSigs.find((x) => equalBytes(x.pubkey, k.publicKey.subarray(1)) && equalBytes(x.leafHash, leafHash));
        if (s === undefined) continue;
        const t = s.signature.length === 65 ? s.signature[64]! : SIGHASH_DEFAULT;
        ok = secp.verifySchnorr(ctx.taproot(i, t, leafHash), k.publicKey.subarray(1), s.signature.subarray(0, 64));
      } else {
        const s = input.partialSigs.find((x) => equalBytes(x.pubkey, k.publicKey));
        if (s === undefined) continue;
        let d: { sig64: Uint8Array; sighashType: number } | undefined;
        try {
          d = decodeDerSignature(s.signature);
        } catch {
          ok = false;
        }
        if (d !== undefined) {
          const digest = type === 'sh' ? ctx.legacy(i, addr.redeemScript!, d.sighashType) : ctx.segwitV0(i, addr.witnessScript!, a.prevout!.amount, d.sighashType);
          ok = secp.verifyEcdsa(digest, k.publicKey, d.sig64);
        }
      }
    } catch (e) {
      if (!(e instanceof InvalidPsbtError)) throw e;
      warnings.push(`input ${String(i)}: signature of cosigner ${String(k.cosigner)} cannot be verified (${e.message})`);
      ok = true;
    }
    (ok === true ? valid : invalid).push(k.cosigner);
  }
  return { valid: valid.sort((x, y) => x - y), invalid: invalid.sort((x, y) => x - y) };
}

function addressOf(script: Uint8Array, deriver: WalletDeriver): string | undefined {
  try {
    return scriptToAddress(script, deriver.policy.network);
  } catch {
    return undefined;
  }
}

/**
 * Summarises a PSBT for review against the wallet.
 * @param psbt - the PSBT (not modified)
 * @param deriver - the wallet
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch` when a nonWitnessUtxo contradicts its input
 */
export function inspectPsbt(psbt: Psbt, deriver: WalletDeriver, options: InspectPsbtOptions = {}): PsbtSummary {
  const gap = options.changeGap ?? 1000;
  const policy = deriver.policy;
  const m = policy.threshold;
  const warnings: string[] = [];
  const analysis = analyzePsbt(psbt, deriver, { scan: true, gap });
  const prevouts = analysis.inputs.map((a) => a.prevout);
  const ctx = new SighashContext(psbt.tx, prevouts);
  const all = policy.keys.map((_, k) => k);
  const inputs = analysis.inputs.map((a, i): InspectedInput => {
    const txin = psbt.tx.inputs[i]!;
    const input = psbt.inputs[i]!;
    const base = {
      index: i,
      txid: txin.txid,
      vout: txin.vout,
      sequence: txin.sequence,
      finalized: a.finalized,
      threshold: m,
      ...(a.prevout === undefined ? {} : { amount: a.prevout.amount }),
      ...(a.prevout === undefined ? {} : (() => {
        const address = addressOf(a.prevout.script, deriver);
        return address === undefined ? {} : { address };
      })()),
      ...(a.mismatch === undefined ? {} : { mismatch: a.mismatch }),
    };
    if (a.mismatch !== undefined) warnings.push(`input ${String(i)} claims to be the wallet's but ${a.mismatch}`);
    if (a.address === undefined) {
      if (!a.finalized) warnings.push(`input ${String(i)} is not the wallet's and is not finalized`);
      return { ...base, signedBy: [], invalidSignatures: [], missing: [], signatures: 0 };
    }
    const wallet = { branch: a.address.branch, index: a.address.index };
    // BIP-143 signs only this input's own amount; without the previous transaction a signer cannot
    // check it (hardware wallets refuse such inputs), so the reviewer is told.
    if (deriver.policy.type !== 'tr' && input.nonWitnessUtxo === undefined && !a.finalized) {
      warnings.push(`input ${String(i)}: no previous transaction (non_witness_utxo), so its amount ${a.prevout ? `(${String(a.prevout.amount)} sats) ` : ''}cannot be checked against its txid`);
    }
    if (a.finalized) return { ...base, wallet, signedBy: [], invalidSignatures: [], missing: [], signatures: m };
    const { valid, invalid } = verifiedSigners(input, i, a, a.address, deriver, ctx, warnings);
    for (const c of invalid) warnings.push(`input ${String(i)}: the signature of cosigner ${String(c)} does not verify`);
    return { ...base, wallet, signedBy: valid, invalidSignatures: invalid, missing: all.filter((c) => !valid.includes(c)), signatures: valid.length };
  });
  const outputs = analysis.outputs.map((o, i): InspectedOutput => {
    const address = addressOf(o.output.script, deriver);
    const base = { index: i, amount: o.output.amount, script: toHex(o.output.script), ...(address === undefined ? {} : { address }), ...(o.mismatch === undefined ? {} : { mismatch: o.mismatch }) };
    if (o.mismatch !== undefined) warnings.push(`output ${String(i)} claims to be the wallet's but ${o.mismatch}: treated as external`);
    const addr = o.address;
    if (addr === undefined) return { ...base, kind: 'external', change: false };
    const wallet = { branch: addr.branch, index: addr.index };
    if (addr.branch === 1 && addr.index < gap) return { ...base, wallet, kind: 'change', change: true };
    if (addr.branch === 1) {
      warnings.push(`output ${String(i)} pays the wallet's change address ${String(addr.index)}, beyond the gap of ${String(gap)}: treated as external`);
      return { ...base, wallet, kind: 'external', change: false };
    }
    return { ...base, wallet, kind: 'internal receive', change: false };
  });
  const amounts = prevouts.flatMap((p) => (p === undefined ? [] : [p.amount]));
  const known = amounts.length === prevouts.length;
  const totalIn = known ? amounts.reduce((s, a) => s + a, 0n) : undefined;
  const totalOut = psbt.tx.outputs.reduce((s, o) => s + o.amount, 0n);
  const change = outputs.reduce((s, o) => s + (o.change ? o.amount : 0n), 0n);
  const fee = totalIn === undefined ? undefined : totalIn - totalOut;
  if (fee !== undefined && fee < 0n) warnings.push(`outputs exceed inputs by ${-fee} sats: the transaction is invalid`);
  if (!known) warnings.push('some input amounts are unknown: the fee cannot be computed');
  const est = estimatePsbtVsize(psbt, analysis, deriver);
  if (!est.complete) warnings.push('some inputs are neither the wallet\'s nor finalized: the size is a lower bound');
  const origins = cosignerOrigins(policy);
  const cosigners = origins.map((o): CosignerProgress => ({
    cosigner: o.cosigner,
    fingerprint: o.fingerprint,
    signed: inputs.filter((x) => x.signedBy.includes(o.cosigner)).map((x) => x.index),
    missing: inputs.filter((x) => x.wallet !== undefined && !x.finalized && !x.signedBy.includes(o.cosigner)).map((x) => x.index),
  }));
  const finalized = inputs.every((x) => x.finalized);
  const readyToFinalize = inputs.every((x) => x.finalized || (x.wallet !== undefined && x.signatures >= m));
  return {
    txid: bytesToTxid(hash256(serializeUnsignedTx(psbt.tx))),
    version: psbt.tx.version,
    locktime: psbt.tx.locktime,
    rbf: psbt.tx.inputs.some((i) => i.sequence < 0xfffffffe),
    inputs,
    outputs,
    ...(totalIn === undefined ? {} : { totalIn }),
    totalOut,
    ...(fee === undefined ? {} : { fee, feeRate: Math.round((Number(fee) / est.vsize) * 100) / 100 }),
    sent: totalOut - change,
    change,
    vsize: est.vsize,
    vsizeIsEstimate: !est.exact,
    threshold: m,
    cosigners,
    readyToFinalize,
    finalized,
    warnings,
  };
}
