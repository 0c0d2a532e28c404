/**
 * Recognising the wallet's inputs and outputs in a PSBT, never trusting the PSBT's scripts:
 * an input or output belongs to the wallet only when its script equals what the wallet derives
 * at the BIP-32 path the PSBT claims (or, when scanning, at an index found by derivation).
 * Shared by the signer, finalizer and inspector. Internal.
 */
import { InvalidPsbtError, equalBytes } from '@mofn/core';
import { EXTENDED_KEY_VERSIONS } from '../keys/extendedKey.ts';
import { versionNetworkOf } from '../network.ts';
import type { Branch, DerivedAddress } from '../types.ts';
import { classifyOutputScript, TAPSCRIPT_LEAF_VERSION } from '../tx/script.ts';
import type { TxOutput } from '../tx/transaction.ts';
import { compactSizeLength } from '../tx/bytes.ts';
import { multisigInputWeight, outputWeight, txOverheadWeight, weightToVsize } from '../tx/vsize.ts';
import type { Bip32Derivation, Psbt, PsbtInput, PsbtOutput, WalletDeriver } from './types.ts';
import { addressCache, claimMatchesAddress, cosignerOrigins, isFinalized, prevoutOf, spendShapeOf, walletClaims, type WalletClaim } from './wallet.ts';

/** Where an input or output sits in the wallet, or why a claim to it was rejected. */
export interface WalletMatch {
  /** The verified wallet address (undefined when not the wallet's). */
  readonly address?: DerivedAddress;
  /** How it was recognised. */
  readonly via?: 'derivation' | 'scan';
  /** Set when the PSBT claims a wallet path whose derived scripts differ from the PSBT's. */
  readonly mismatch?: string;
  /** Cosigner indexes whose derivation entries claim it. */
  readonly claimedBy: readonly number[];
}

/** Analysis of one input. */
export interface InputAnalysis extends WalletMatch {
  readonly index: number;
  readonly prevout?: TxOutput;
  readonly finalized: boolean;
}

/** Analysis of one output. */
export interface OutputAnalysis extends WalletMatch {
  readonly index: number;
  readonly output: TxOutput;
}

/** Options of {@link analyzePsbt}. */
export interface AnalyzeOptions {
  /** Also search derived scripts (up to `gap` indexes per branch) for inputs/outputs without derivation info. */
  readonly scan?: boolean;
  /** Indexes searched per branch when scanning (default 1000). */
  readonly gap?: number;
}

/** Wallet-level view of a PSBT. */
export interface PsbtAnalysis {
  readonly inputs: readonly InputAnalysis[];
  readonly outputs: readonly OutputAnalysis[];
  readonly derive: (branch: Branch, index: number) => DerivedAddress;
}

function sameOptional(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || (b !== undefined && equalBytes(a, b));
}

function groupClaims(claims: readonly WalletClaim[]): { branch: Branch; index: number } | 'conflict' | undefined {
  let first: WalletClaim | undefined;
  for (const c of claims) {
    if (first === undefined) first = c;
    else if (c.branch !== first.branch || c.index !== first.index) return 'conflict';
  }
  return first === undefined ? undefined : { branch: first.branch, index: first.index };
}

function checkInputScripts(input: PsbtInput, addr: DerivedAddress, prevout: TxOutput | undefined, taproot: boolean): string | undefined {
  if (prevout === undefined) return 'the previous output (witnessUtxo or nonWitnessUtxo) is missing';
  if (!equalBytes(prevout.script, addr.scriptPubKey)) return `its previous output script is not the wallet's script at ${String(addr.branch)}/${String(addr.index)}`;
  if (!sameOptional(input.redeemScript, addr.redeemScript)) return 'its redeemScript differs from the derived one';
  if (!sameOptional(input.witnessScript, addr.witnessScript)) return 'its witnessScript differs from the derived one';
  if (taproot) {
    for (const l of input.tapLeafScripts) {
      if (l.leafVersion !== TAPSCRIPT_LEAF_VERSION || !equalBytes(l.script, addr.tapLeafScript!) || !equalBytes(l.controlBlock, addr.tapControlBlock!)) {
        return 'its tapLeafScript differs from the derived leaf';
      }
    }
    if (!sameOptional(input.tapInternalKey, addr.tapInternalKey)) return 'its tapInternalKey differs from the derived one';
  }
  return undefined;
}

function checkOutputScripts(po: PsbtOutput, addr: DerivedAddress, out: TxOutput, taproot: boolean): string | undefined {
  if (!equalBytes(out.script, addr.scriptPubKey)) return `its script is not the wallet's script at ${String(addr.branch)}/${String(addr.index)}`;
  if (!sameOptional(po.redeemScript, addr.redeemScript)) return 'its redeemScript differs from the derived one';
  if (!sameOptional(po.witnessScript, addr.witnessScript)) return 'its witnessScript differs from the derived one';
  if (taproot && !sameOptional(po.tapInternalKey, addr.tapInternalKey)) return 'its tapInternalKey differs from the derived one';
  return undefined;
}

function match(
  derivations: readonly Bip32Derivation[],
  deriver: WalletDeriver,
  derive: (b: Branch, i: number) => DerivedAddress,
  script: Uint8Array | undefined,
  check: (addr: DerivedAddress) => string | undefined,
  options: AnalyzeOptions,
): WalletMatch {
  const policy = deriver.policy;
  const taproot = policy.type === 'tr';
  const claims = walletClaims(derivations, cosignerOrigins(policy));
  const claimedBy = [...new Set(claims.map((c) => c.cosigner))].sort((a, b) => a - b);
  const where = groupClaims(claims);
  if (where === 'conflict') return { claimedBy, mismatch: 'its derivation paths designate different wallet addresses' };
  if (where !== undefined) {
    const addr = derive(where.branch, where.index);
    for (const c of claims) {
      if (!claimMatchesAddress(c, addr, taproot)) return { claimedBy, mismatch: `cosigner ${String(c.cosigner)}'s public key is not the one derived at ${String(where.branch)}/${String(where.index)}` };
    }
    const bad = check(addr);
    return bad === undefined ? { claimedBy, address: addr, via: 'derivation' } : { claimedBy, mismatch: bad };
  }
  if (options.scan === true && script !== undefined && deriver.findScript !== undefined && sameKind(script, policy.type)) {
    const found = deriver.findScript(script, { gap: options.gap ?? 1000 });
    if (found !== undefined) {
      const bad = check(found);
      return bad === undefined ? { claimedBy, address: found, via: 'scan' } : { claimedBy, mismatch: bad };
    }
  }
  return { claimedBy };
}

function sameKind(script: Uint8Array, type: string): boolean {
  const kind = classifyOutputScript(script);
  return type === 'wsh' ? kind === 'p2wsh' : type === 'tr' ? kind === 'p2tr' : kind === 'p2sh';
}

/**
 * Matches every input and output of a PSBT against the wallet.
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch` when a nonWitnessUtxo contradicts its input
 */
export function analyzePsbt(psbt: Psbt, deriver: WalletDeriver, options: AnalyzeOptions = {}): PsbtAnalysis {
  assertGlobalXpubNetwork(psbt, deriver);
  const derive = addressCache(deriver);
  const taproot = deriver.policy.type === 'tr';
  const inputs = psbt.inputs.map((input, index): InputAnalysis => {
    const prevout = prevoutOf(psbt, index);
    const m = match(taproot ? input.tapBip32Derivation : input.bip32Derivation, deriver, derive, prevout?.script, (a) => checkInputScripts(input, a, prevout, taproot), options);
    return { ...m, index, finalized: isFinalized(input), ...(prevout === undefined ? {} : { prevout }) };
  });
  const outputs = psbt.outputs.map((po, index): OutputAnalysis => {
    const output = psbt.tx.outputs[index]!;
    const m = match(taproot ? po.tapBip32Derivation : po.bip32Derivation, deriver, derive, output.script, (a) => checkOutputScripts(po, a, output, taproot), options);
    return { ...m, index, output };
  });
  return { inputs, outputs, derive };
}

/**
 * The wallet's network is pinned: a PSBT carrying global xpubs (PSBT_GLOBAL_XPUB) of the other
 * version family (xpub on a test wallet, tpub on a main one) was built for another network.
 * @throws InvalidPsbtError `psbt.wrong_network`
 */
function assertGlobalXpubNetwork(psbt: Psbt, deriver: WalletDeriver): void {
  const expected = versionNetworkOf(deriver.policy.network);
  for (const x of psbt.global.xpubs) {
    const k = x.extendedKey;
    const version = ((k[0]! << 24) | (k[1]! << 16) | (k[2]! << 8) | k[3]!) >>> 0;
    const known = EXTENDED_KEY_VERSIONS.find((v) => v.version === version);
    if (known === undefined || known.versionNetwork !== expected) {
      throw new InvalidPsbtError('psbt.wrong_network', `the PSBT carries a global xpub of ${known ? `the ${known.versionNetwork} network (${known.prefix})` : `unknown version 0x${version.toString(16).padStart(8, '0')}`}, but the wallet is on ${deriver.policy.network}`, {
        hint: 'this PSBT was made for another network; do not sign it with this wallet',
      });
    }
  }
}

/** Vsize of the finished transaction: exact for finalized inputs, worst case for wallet inputs. */
export interface VsizeEstimate {
  readonly vsize: number;
  /** False when some input is neither finalized nor the wallet's (its size is counted as the 41-byte minimum). */
  readonly complete: boolean;
  /** True when every input is finalized (the size is exact). */
  readonly exact: boolean;
}

/** Estimates the vsize of the transaction once every input is signed by exactly M cosigners. */
export function estimatePsbtVsize(psbt: Psbt, analysis: PsbtAnalysis, deriver: WalletDeriver): VsizeEstimate {
  let weight = 0;
  let segwit = false;
  let complete = true;
  let exact = true;
  psbt.inputs.forEach((input, i) => {
    const a = analysis.inputs[i]!;
    if (a.finalized) {
      const ss = input.finalScriptSig ?? new Uint8Array(0);
      weight += 4 * (40 + compactSizeLength(ss.length) + ss.length);
      const wit = input.finalScriptWitness ?? [];
      if (wit.length > 0) {
        segwit = true;
        weight += compactSizeLength(wit.length);
        for (const item of wit) weight += compactSizeLength(item.length) + item.length;
      } else weight += 1; // an empty witness (count 0) when the transaction has witnesses
      return;
    }
    exact = false;
    if (a.address !== undefined) {
      const w = multisigInputWeight(spendShapeOf(a.address, deriver.policy));
      weight += w.weight;
      segwit ||= w.witness;
      if (!w.witness) weight += 1;
      return;
    }
    complete = false;
    weight += 4 * 41 + 1;
  });
  // Non-witness inputs were counted with a 1-weight empty witness; drop those when no input has one.
  if (!segwit) weight -= psbt.inputs.reduce((n, input, i) => n + (isWitnessless(input, analysis.inputs[i]!, deriver) ? 1 : 0), 0);
  for (const o of psbt.tx.outputs) weight += outputWeight(o.script.length);
  weight += txOverheadWeight(psbt.inputs.length, psbt.tx.outputs.length, segwit);
  return { vsize: weightToVsize(weight), complete, exact };
}

function isWitnessless(input: PsbtInput, a: InputAnalysis, deriver: WalletDeriver): boolean {
  if (a.finalized) return (input.finalScriptWitness ?? []).length === 0;
  if (a.address !== undefined) return deriver.policy.type === 'sh';
  return true;
}
