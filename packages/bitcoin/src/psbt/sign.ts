/**
 * The signer role (BIP-174) for a cosigner of an mofn wallet, with the checks a careful signer
 * makes before it signs (BIP-174 "Data Signers Check For", plus fee caps and change checks).
 *
 * ECDSA signatures are RFC 6979 with low S (libsecp256k1, byte-identical to bitcoinjs-lib).
 * Schnorr signatures (BIP-340) use 32 zero bytes of auxiliary randomness: BIP-340 derives the
 * nonce from the secret key and the message through tagged hashes, so a fixed aux does not
 * weaken the signature (aux only adds protection against side-channel and fault attacks on the
 * nonce derivation, which a software signer on the cosigner's own machine does not face in a way
 * aux would fix); in return signatures are reproducible, so two runs, two libraries and a
 * benchmark produce the same transaction.
 */
import { InvalidPsbtError, SigningRefusedError, compareBytes, equalBytes } from '@mofn/core';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { hash160 } from '../hash.ts';
import { deriveChildPrivate, derivePrivatePath, encodeDerSignature, masterFingerprint, type HDPrivateNode } from '../keys/index.ts';
import { secp } from '../secp.ts';
import type { Branch, KeyOrigin } from '../types.ts';
import { SIGHASH_ALL, SIGHASH_DEFAULT, SighashContext } from '../tx/sighash.ts';
import { tapLeafHash } from '../tx/script.ts';
import type { TxOutput } from '../tx/transaction.ts';
import { analyzePsbt, estimatePsbtVsize, type PsbtAnalysis } from './analyze.ts';
import type { PartialSig, Psbt, PsbtInput, TapScriptSig, WalletDeriver } from './types.ts';
import { assertInputSignable } from './checks.ts';
import { cosignerOrigins, type CosignerOrigin } from './wallet.ts';

/** Limits a signer enforces on the fee; each is a separate refusal. */
export interface FeeCap {
  /** Fee as a percentage of the amount sent (outputs that are not the wallet's change). Default 10. */
  readonly percentOfSent?: number;
  /** Absolute fee in satoshis. Default 1,000,000. */
  readonly absolute?: bigint;
  /** Fee rate in sat/vB over the worst-case vsize. Default 1000. */
  readonly feeRate?: number;
}

/** The default fee caps. */
export const DEFAULT_FEE_CAP: Required<FeeCap> = Object.freeze({ percentOfSent: 10, absolute: 1_000_000n, feeRate: 1000 });

/** An account-level private key and where it sits under its master. */
export interface AccountPrivateKey {
  readonly node: HDPrivateNode;
  readonly origin: KeyOrigin;
}

/** The keys a software signer holds: a master node, or account nodes with their origins. */
export type PsbtSigner = { readonly root: HDPrivateNode } | { readonly keys: readonly AccountPrivateKey[] };

/** Options of {@link signPsbt}. */
export interface SignPsbtOptions {
  readonly feeCap?: FeeCap;
}

/** Result of {@link signPsbt}. */
export interface SignPsbtResult {
  readonly psbt: Psbt;
  /** Indexes of the inputs that received a signature. */
  readonly signedInputs: readonly number[];
}

interface BranchKey {
  readonly node: HDPrivateNode;
  /** HMAC-SHA512 keyed with the branch chain code, cloned per child. */
  readonly mac: ReturnType<typeof hmac.create>;
}

interface OwnKey {
  readonly origin: CosignerOrigin;
  readonly account: HDPrivateNode;
  readonly branches: [BranchKey | undefined, BranchKey | undefined];
}

function refuse(code: string, message: string, details?: Record<string, unknown>, hint?: string): never {
  throw new SigningRefusedError(code, message, { ...(details === undefined ? {} : { details }), ...(hint === undefined ? {} : { hint }) });
}

function isSameAccount(node: HDPrivateNode, origin: CosignerOrigin, policyKey: { xpub: { chainCode: Uint8Array } }): boolean {
  return equalBytes(node.publicKey, origin.xpubKey) && equalBytes(node.chainCode, policyKey.xpub.chainCode);
}

/** Finds which cosigners of the wallet the signer's keys are. */
function resolveOwnKeys(deriver: WalletDeriver, signer: PsbtSigner): OwnKey[] {
  const policy = deriver.policy;
  const origins = cosignerOrigins(policy);
  const own: OwnKey[] = [];
  if ('root' in signer) {
    const fp = masterFingerprint(signer.root);
    for (const o of origins) {
      if (o.fingerprint !== fp) continue;
      const account = derivePrivatePath(signer.root, o.prefix);
      if (isSameAccount(account, o, policy.keys[o.cosigner]!)) own.push({ origin: o, account, branches: [undefined, undefined] });
    }
  } else {
    for (const k of signer.keys) {
      for (const o of origins) {
        if (k.origin.fingerprint === o.fingerprint && isSameAccount(k.node, o, policy.keys[o.cosigner]!)) own.push({ origin: o, account: k.node, branches: [undefined, undefined] });
      }
    }
  }
  if (own.length === 0) {
    refuse('signing.not_a_cosigner', `the signing key is not a cosigner of this wallet (cosigner fingerprints: ${origins.map((o) => o.fingerprint).join(', ')})`, {
      cosigners: origins.map((o) => o.fingerprint),
    }, 'sign with the master key (or account key) of one of the wallet\'s cosigners');
  }
  return own;
}

/**
 * The private key of `account/branch/index` (BIP-32 CKDpriv for the non-hardened last step)
 * without computing its public key: the signer already knows it (the wallet derived it from the
 * cosigner's xpub, which resolveOwnKeys matched to this account key), and a public key costs a
 * point multiplication per input.
 */
function childPrivateKey(own: OwnKey, branch: Branch, index: number): Uint8Array {
  let b = own.branches[branch];
  if (b === undefined) {
    const node = deriveChildPrivate(own.account, branch);
    b = { node, mac: hmac.create(sha512, node.chainCode) };
    own.branches[branch] = b;
  }
  const data = new Uint8Array(37);
  data.set(b.node.publicKey, 0);
  new DataView(data.buffer).setUint32(33, index, false);
  const I = b.mac.clone().update(data).digest();
  const key = secp.privateAdd(b.node.privateKey, I.subarray(0, 32));
  I.fill(0);
  if (key === null) {
    throw new SigningRefusedError('signing.invalid_child', `BIP-32 child ${String(index)} of branch ${String(branch)} is invalid (probability 2^-127)`);
  }
  return key;
}

/** Bitcoin Core keeps partial signatures keyed by key id (HASH160 of the key); we write them in that order. */
export function sortPartialSigs(sigs: readonly PartialSig[]): PartialSig[] {
  return sigs
    .map((s) => ({ s, id: hash160(s.pubkey) }))
    .sort((a, b) => compareBytes(a.id, b.id))
    .map((x) => x.s);
}

/** Taproot script signatures ordered by (x-only key, leaf hash) as Bitcoin Core's map. */
export function sortTapScriptSigs(sigs: readonly TapScriptSig[]): TapScriptSig[] {
  return [...sigs].sort((a, b) => compareBytes(a.pubkey, b.pubkey) || compareBytes(a.leafHash, b.leafHash));
}

function checkSighash(input: PsbtInput, index: number, taproot: boolean): number {
  const t = input.sighashType;
  if (taproot) {
    if (t === undefined || t === SIGHASH_DEFAULT || t === SIGHASH_ALL) return t ?? SIGHASH_DEFAULT;
  } else if (t === undefined || t === SIGHASH_ALL) return SIGHASH_ALL;
  refuse('signing.sighash', `input ${String(index)} asks for sighash type 0x${(t ?? 0).toString(16)}; mofn signs only SIGHASH_ALL${taproot ? ' (or DEFAULT)' : ''}`, {
    input: index,
    sighashType: t,
  }, 'remove PSBT_IN_SIGHASH_TYPE or set it to SIGHASH_ALL');
}

/** Checks fees, change and UTXO consistency; returns the prevouts of every input. */
function checkTransaction(psbt: Psbt, deriver: WalletDeriver, analysis: PsbtAnalysis, cap: Required<FeeCap>): TxOutput[] {
  const prevouts: TxOutput[] = [];
  for (const a of analysis.inputs) {
    if (a.prevout === undefined) {
      refuse('signing.missing_utxo', `input ${String(a.index)} has no witnessUtxo or nonWitnessUtxo, so the fee cannot be checked`, { input: a.index });
    }
    prevouts.push(a.prevout);
  }
  for (const o of analysis.outputs) {
    if (o.mismatch !== undefined) {
      refuse('signing.bad_change', `output ${String(o.index)} claims to be the wallet's but ${o.mismatch}`, { output: o.index }, 'the PSBT may have been tampered with: rebuild it from the wallet');
    }
  }
  const totalIn = prevouts.reduce((s, p) => s + p.amount, 0n);
  const totalOut = psbt.tx.outputs.reduce((s, o) => s + o.amount, 0n);
  const fee = totalIn - totalOut;
  if (fee < 0n) refuse('signing.negative_fee', `outputs (${totalOut} sats) exceed inputs (${totalIn} sats)`, { totalIn: totalIn.toString(), totalOut: totalOut.toString() });
  const changeTotal = analysis.outputs.reduce((s, o) => s + (o.address?.branch === 1 ? o.output.amount : 0n), 0n);
  const sent = totalOut - changeTotal;
  // A pure consolidation sends nothing outward: cap the fee against what is spent instead.
  const base = sent > 0n ? sent : totalIn;
  if (fee * 10000n > base * BigInt(Math.round(cap.percentOfSent * 100))) {
    refuse('signing.fee_too_high', `fee ${fee} sats is more than ${String(cap.percentOfSent)}% of the ${base} sats ${sent > 0n ? 'sent' : 'spent'}`, {
      fee: fee.toString(),
      sent: sent.toString(),
      cap: 'percentOfSent',
    });
  }
  if (fee > cap.absolute) refuse('signing.fee_too_high', `fee ${fee} sats exceeds the cap of ${cap.absolute} sats`, { fee: fee.toString(), cap: 'absolute' });
  const { vsize } = estimatePsbtVsize(psbt, analysis, deriver);
  const rate = Number(fee) / vsize;
  if (rate > cap.feeRate) {
    refuse('signing.fee_too_high', `fee rate ${rate.toFixed(1)} sat/vB exceeds the cap of ${String(cap.feeRate)} sat/vB`, { fee: fee.toString(), vsize, cap: 'feeRate' });
  }
  return prevouts;
}

/**
 * Signs every input of the wallet that the signer's keys can sign, after checking the PSBT.
 * Only inputs whose scripts equal the wallet's derivation at the PSBT's claimed path are signed,
 * and only with the cosigner key whose fingerprint and path derive to a key of that script.
 * @param psbt - the PSBT (not modified)
 * @param deriver - the wallet (createAddressDeriver(policy))
 * @param signer - a master node, or account nodes with their origins
 * @returns a new PSBT with the signatures added, and the indexes of the inputs signed
 * @throws SigningRefusedError `signing.not_a_cosigner`, `signing.fee_too_high`, `signing.bad_change`,
 *   `signing.sighash`, `signing.prev_tx_mismatch`, `signing.missing_utxo`, `signing.input_mismatch`,
 *   `signing.negative_fee`
 */
export function signPsbt(psbt: Psbt, deriver: WalletDeriver, signer: PsbtSigner, options: SignPsbtOptions = {}): SignPsbtResult {
  const cap: Required<FeeCap> = { ...DEFAULT_FEE_CAP, ...options.feeCap };
  const own = resolveOwnKeys(deriver, signer);
  const ownByCosigner = new Map(own.map((k) => [k.origin.cosigner, k]));
  const taproot = deriver.policy.type === 'tr';
  let analysis: PsbtAnalysis;
  try {
    analysis = analyzePsbt(psbt, deriver);
  } catch (e) {
    if (e instanceof InvalidPsbtError && e.code === 'psbt.prev_tx_mismatch') {
      throw new SigningRefusedError('signing.prev_tx_mismatch', e.message, { cause: e, ...(e.details === undefined ? {} : { details: e.details }) });
    }
    throw e;
  }
  for (const a of analysis.inputs) {
    if (a.prevout === undefined) {
      refuse('signing.missing_utxo', `input ${String(a.index)} has no witnessUtxo or nonWitnessUtxo, so the fee cannot be checked`, { input: a.index });
    }
  }
  // Inputs our keys claim must really be ours before anything is signed.
  for (const a of analysis.inputs) {
    if (a.mismatch !== undefined && a.claimedBy.some((c) => ownByCosigner.has(c))) {
      refuse('signing.input_mismatch', `input ${String(a.index)} claims to be the wallet's but ${a.mismatch}`, { input: a.index }, 'the PSBT may have been tampered with: rebuild it from the wallet');
    }
  }
  const prevouts = checkTransaction(psbt, deriver, analysis, cap);
  const ctx = new SighashContext(psbt.tx, prevouts);
  const signedInputs: number[] = [];
  const inputs = psbt.inputs.map((input, i) => {
    const a = analysis.inputs[i]!;
    const addr = a.address;
    // Sign only where the PSBT names our own key's path and it derives to this input's script.
    if (addr === undefined || a.finalized || !a.claimedBy.some((c) => ownByCosigner.has(c))) return input;
    const signers = addr.keys.filter((k) => ownByCosigner.has(k.cosigner) && a.claimedBy.includes(k.cosigner));
    if (signers.length === 0) return input;
    const hashType = checkSighash(input, i, taproot);
    assertInputSignable(psbt, i);
    if (policyNeedsPrevTx(deriver) && input.nonWitnessUtxo === undefined) {
      refuse('signing.missing_utxo', `input ${String(i)} is a legacy P2SH input without its previous transaction (nonWitnessUtxo)`, { input: i });
    }
    if (taproot) {
      const leaf = addr.tapLeafScript!;
      const leafHash = tapLeafHash(leaf);
      const sighash = ctx.taproot(i, hashType, leafHash);
      const sigs: TapScriptSig[] = input.tapScriptSigs.filter((s) => !signers.some((k) => equalBytes(k.publicKey.subarray(1), s.pubkey) && equalBytes(s.leafHash, leafHash)));
      for (const k of signers) {
        const priv = childPrivateKey(ownByCosigner.get(k.cosigner)!, addr.branch, addr.index);
        const sig64 = secp.signSchnorr(sighash, priv, ZERO_AUX);
        priv.fill(0);
        const signature = hashType === SIGHASH_DEFAULT ? sig64 : concatByte(sig64, hashType);
        sigs.push({ pubkey: k.publicKey.subarray(1).slice(), leafHash, signature });
      }
      if (sigs.length === input.tapScriptSigs.length && sigs.every((s, j) => s === input.tapScriptSigs[j])) return input;
      signedInputs.push(i);
      return { ...input, tapScriptSigs: sortTapScriptSigs(sigs) };
    }
    const prevout = prevouts[i]!;
    const sighash =
      deriver.policy.type === 'sh' ? ctx.legacy(i, addr.redeemScript!, hashType) : ctx.segwitV0(i, addr.witnessScript!, prevout.amount, hashType);
    const sigs: PartialSig[] = input.partialSigs.filter((s) => !signers.some((k) => equalBytes(k.publicKey, s.pubkey)));
    for (const k of signers) {
      const priv = childPrivateKey(ownByCosigner.get(k.cosigner)!, addr.branch, addr.index);
      sigs.push({ pubkey: k.publicKey, signature: encodeDerSignature(secp.signEcdsa(sighash, priv), hashType) });
      priv.fill(0);
    }
    if (sigs.length === input.partialSigs.length && sigs.every((s, j) => s === input.partialSigs[j])) return input;
    signedInputs.push(i);
    return { ...input, partialSigs: sortPartialSigs(sigs) };
  });
  return { psbt: { ...psbt, inputs }, signedInputs };
}

const ZERO_AUX = new Uint8Array(32);

function concatByte(b: Uint8Array, x: number): Uint8Array {
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length] = x;
  return out;
}

function policyNeedsPrevTx(deriver: WalletDeriver): boolean {
  return deriver.policy.type === 'sh';
}
