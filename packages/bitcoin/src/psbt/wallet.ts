/**
 * How psbt/ recognises the wallet in a PSBT: cosigner origins, BIP-32 path matching,
 * previous outputs of inputs, and the spend shape of a wallet address. Internal helpers.
 */
import { InvalidPsbtError, equalBytes } from '@mofn/core';
import { fingerprintOf } from '../keys/index.ts';
import type { Branch, DerivedAddress, MultisigPolicy } from '../types.ts';
import type { Transaction, TxOutput } from '../tx/transaction.ts';
import type { MultisigSpendShape } from '../tx/vsize.ts';
import { parseNonWitnessUtxo, parsedPrevTx } from './codec.ts';
import type { Bip32Derivation, Psbt, PsbtInput, WalletDeriver } from './types.ts';

/** Where a cosigner's keys come from: its master fingerprint and account path. */
export interface CosignerOrigin {
  readonly cosigner: number;
  readonly fingerprint: string;
  readonly prefix: readonly number[];
  readonly xpubKey: Uint8Array;
}

const originCache = new WeakMap<MultisigPolicy, readonly CosignerOrigin[]>();

/** The origin of every cosigner (an xpub without origin is its own master: fingerprint of its key, empty path). */
export function cosignerOrigins(policy: MultisigPolicy): readonly CosignerOrigin[] {
  let o = originCache.get(policy);
  if (o === undefined) {
    o = policy.keys.map((k, cosigner) => ({
      cosigner,
      fingerprint: k.origin?.fingerprint ?? fingerprintOf(k.xpub.publicKey),
      prefix: k.origin?.path ?? [],
      xpubKey: k.xpub.publicKey,
    }));
    originCache.set(policy, o);
  }
  return o;
}

/** The wallet branch/index a derivation path designates for a cosigner, or undefined. */
export function matchOrigin(origin: CosignerOrigin, d: { readonly fingerprint: string; readonly path: readonly number[] }): { branch: Branch; index: number } | undefined {
  const { prefix } = origin;
  if (d.fingerprint !== origin.fingerprint || d.path.length !== prefix.length + 2) return undefined;
  for (let i = 0; i < prefix.length; i++) if (d.path[i] !== prefix[i]) return undefined;
  const branch = d.path[prefix.length]!;
  const index = d.path[prefix.length + 1]!;
  if ((branch !== 0 && branch !== 1) || index >= 0x80000000) return undefined;
  return { branch, index };
}

/** A wallet address claimed by a derivation entry. */
export interface WalletClaim {
  readonly branch: Branch;
  readonly index: number;
  /** Cosigner whose derivation entry made the claim. */
  readonly cosigner: number;
  readonly pubkey: Uint8Array;
}

/** Every derivation entry that claims a wallet address, restricted to `cosigners` when given. */
export function walletClaims(derivations: readonly Bip32Derivation[], origins: readonly CosignerOrigin[], cosigners?: ReadonlySet<number>): WalletClaim[] {
  const out: WalletClaim[] = [];
  for (const d of derivations) {
    for (const o of origins) {
      if (cosigners !== undefined && !cosigners.has(o.cosigner)) continue;
      const m = matchOrigin(o, d);
      if (m !== undefined) out.push({ ...m, cosigner: o.cosigner, pubkey: d.pubkey });
    }
  }
  return out;
}

/** True if the derived key of `claim.cosigner` at the address is the claimed public key (x-only for tr). */
export function claimMatchesAddress(claim: WalletClaim, addr: DerivedAddress, taproot: boolean): boolean {
  const key = addr.keys.find((k) => k.cosigner === claim.cosigner);
  if (key === undefined) return false;
  return taproot ? equalBytes(key.publicKey.subarray(1), claim.pubkey) : equalBytes(key.publicKey, claim.pubkey);
}

/** Per-call cache of derived addresses (a signer, finalizer or inspector derives each at most once). */
export function addressCache(deriver: WalletDeriver): (branch: Branch, index: number) => DerivedAddress {
  const cache = new Map<number, DerivedAddress>();
  return (branch, index) => {
    const key = index * 2 + branch;
    let a = cache.get(key);
    if (a === undefined) {
      a = deriver.derive(branch, index);
      cache.set(key, a);
    }
    return a;
  };
}

/** The decoded previous transaction of an input's nonWitnessUtxo (cached per byte array). */
export function previousTransaction(input: PsbtInput, index: number): Transaction | undefined {
  return input.nonWitnessUtxo === undefined ? undefined : parseNonWitnessUtxo(input.nonWitnessUtxo, index);
}

/**
 * The output an input spends, from witnessUtxo or nonWitnessUtxo, after checking that the
 * previous transaction hashes to the input's txid and agrees with witnessUtxo.
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch`
 */
export function prevoutOf(psbt: Psbt, index: number): TxOutput | undefined {
  const input = psbt.inputs[index]!;
  const txin = psbt.tx.inputs[index]!;
  if (input.nonWitnessUtxo === undefined) return input.witnessUtxo;
  const { tx: prev, txid } = parsedPrevTx(input.nonWitnessUtxo, index);
  if (txid !== txin.txid) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `input ${String(index)}: non-witness UTXO has txid ${txid}, the input spends ${txin.txid}`, {
      details: { input: index, expected: txin.txid, actual: txid },
    });
  }
  const out = prev.outputs[txin.vout];
  if (out === undefined) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `input ${String(index)} spends output ${String(txin.vout)} of a transaction with ${String(prev.outputs.length)} outputs`, {
      details: { input: index },
    });
  }
  const w = input.witnessUtxo;
  if (w !== undefined && (w.amount !== out.amount || !equalBytes(w.script, out.script))) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `input ${String(index)}: witness UTXO (${w.amount} sats) disagrees with the previous transaction's output (${out.amount} sats)`, {
      details: { input: index, witnessUtxoAmount: w.amount.toString(), prevTxAmount: out.amount.toString() },
    });
  }
  return out;
}

/** Previous outputs of every input (undefined where unknown). */
export function allPrevouts(psbt: Psbt): (TxOutput | undefined)[] {
  return psbt.inputs.map((_, i) => prevoutOf(psbt, i));
}

/** The spend shape (for vsize) of a wallet address. */
export function spendShapeOf(addr: DerivedAddress, policy: MultisigPolicy): MultisigSpendShape {
  const base = { type: policy.type, threshold: policy.threshold, keyCount: policy.keys.length };
  if (policy.type === 'tr') {
    return { ...base, scriptLength: addr.tapLeafScript?.length ?? 0, controlBlockLength: addr.tapControlBlock?.length ?? 33 };
  }
  const script = policy.type === 'sh' ? addr.redeemScript : addr.witnessScript;
  return { ...base, scriptLength: script?.length ?? 0 };
}

/** True if an input already carries its final scriptSig or witness. */
export function isFinalized(input: PsbtInput): boolean {
  return input.finalScriptSig !== undefined || input.finalScriptWitness !== undefined;
}
