/**
 * The finalizer and extractor roles (BIP-174) for multisig inputs: P2SH, P2WSH and P2SH-P2WSH
 * CHECKMULTISIG scripts, and BIP-342 multi_a leaves (taproot script path), plus taproot key-path
 * signatures. Every partial signature is verified against the recomputed sighash first.
 */
import { InvalidPsbtError, NotReadyError, equalBytes } from '@mofn/core';
import { decodeDerSignature } from '../keys/index.ts';
import { secp } from '../secp.ts';
import { toHex } from '../tx/bytes.ts';
import {
  classifyOutputScript,
  OP,
  p2shOutputScript,
  p2wshOutputScript,
  parseMultiAScript,
  parseMultisigScript,
  pushData,
  tapLeafHash,
  TAPSCRIPT_LEAF_VERSION,
  verifyTaprootCommitment,
  witnessProgramOf,
} from '../tx/script.ts';
import { SIGHASH_DEFAULT, SighashContext } from '../tx/sighash.ts';
import { serializeTransaction, transactionId, transactionVsize, transactionWeight, transactionWitnessId, type Transaction, type TxOutput } from '../tx/transaction.ts';
import { concat } from '../tx/bytes.ts';
import { EMPTY_INPUT, type Bip32Derivation, type Psbt, type PsbtInput, type WalletDeriver } from './types.ts';
import { cosignerOrigins, isFinalized, matchOrigin, prevoutOf } from './wallet.ts';

/** A cosigner whose signature an input still needs. */
export interface MissingSigner {
  /** Public key in the script (33 bytes hex; 32-byte x-only for taproot). */
  readonly pubkey: string;
  readonly fingerprint?: string;
  /** Index of the cosigner in the wallet policy, when the wallet is known. */
  readonly cosigner?: number;
}

/** Why an input cannot be finalized yet. */
export interface MissingSignatures {
  readonly input: number;
  readonly signatures: number;
  readonly threshold: number;
  readonly missing: readonly MissingSigner[];
}

function bad(code: string, message: string, details: Record<string, unknown>): never {
  throw new InvalidPsbtError(code, message, { details });
}

function badSignature(index: number, pubkey: Uint8Array, reason: string): never {
  throw new InvalidPsbtError('psbt.bad_signature', `input ${String(index)}: the signature of key ${toHex(pubkey)} ${reason}`, {
    details: { input: index, pubkey: toHex(pubkey), reason },
    hint: 'the cosigner must sign this exact PSBT again',
  });
}

function signerInfo(pubkey: Uint8Array, derivations: readonly Bip32Derivation[], deriver: WalletDeriver | undefined, taproot: boolean): MissingSigner {
  const d = derivations.find((x) => equalBytes(taproot && x.pubkey.length === 33 ? x.pubkey.subarray(1) : x.pubkey, pubkey));
  if (d === undefined) return { pubkey: toHex(pubkey) };
  const origin = deriver === undefined ? undefined : cosignerOrigins(deriver.policy).find((o) => matchOrigin(o, d) !== undefined);
  return { pubkey: toHex(pubkey), fingerprint: d.fingerprint, ...(origin === undefined ? {} : { cosigner: origin.cosigner }) };
}

interface Finalized {
  readonly finalScriptSig?: Uint8Array;
  readonly finalScriptWitness?: readonly Uint8Array[];
}

type Outcome = { readonly done: Finalized } | { readonly missing: MissingSignatures };

/** Collects up to M valid ECDSA signatures in script order (CHECKMULTISIG needs that order). */
function multisigSignatures(
  input: PsbtInput,
  index: number,
  script: Uint8Array,
  sighashOf: (hashType: number) => Uint8Array,
  deriver: WalletDeriver | undefined,
): { sigs: Uint8Array[] } | { missing: MissingSignatures } {
  const ms = parseMultisigScript(script);
  if (ms === undefined) bad('psbt.unsupported_script', `input ${String(index)}: the script is not a CHECKMULTISIG script mofn can finalize`, { input: index });
  const valid: Uint8Array[] = [];
  const missing: MissingSigner[] = [];
  const digests = new Map<number, Uint8Array>();
  for (const pk of ms.pubkeys) {
    const ps = input.partialSigs.find((s) => equalBytes(s.pubkey, pk));
    if (ps === undefined) {
      missing.push(signerInfo(pk, input.bip32Derivation, deriver, false));
      continue;
    }
    let decoded: { sig64: Uint8Array; sighashType: number };
    try {
      decoded = decodeDerSignature(ps.signature);
    } catch {
      badSignature(index, pk, 'is not a strict-DER signature with a defined sighash type');
    }
    if (input.sighashType !== undefined && decoded.sighashType !== input.sighashType) {
      badSignature(index, pk, `uses sighash 0x${decoded.sighashType.toString(16)} but the input requires 0x${input.sighashType.toString(16)}`);
    }
    let digest = digests.get(decoded.sighashType);
    if (digest === undefined) {
      digest = sighashOf(decoded.sighashType);
      digests.set(decoded.sighashType, digest);
    }
    if (!secp.verifyEcdsa(digest, pk, decoded.sig64)) badSignature(index, pk, 'does not verify against this transaction');
    if (valid.length < ms.threshold) valid.push(ps.signature);
  }
  if (valid.length < ms.threshold) return { missing: { input: index, signatures: valid.length, threshold: ms.threshold, missing } };
  return { sigs: valid };
}

function finalizeTaproot(input: PsbtInput, index: number, prevout: TxOutput, ctx: SighashContext, deriver: WalletDeriver | undefined): Outcome {
  const outputKey = witnessProgramOf(prevout.script)!.program;
  let best: MissingSignatures | undefined;
  for (const leaf of input.tapLeafScripts) {
    if (leaf.leafVersion !== TAPSCRIPT_LEAF_VERSION) continue;
    const ma = parseMultiAScript(leaf.script);
    if (ma === undefined) continue;
    if (!verifyTaprootCommitment(leaf.controlBlock, leaf.script, outputKey)) {
      bad('psbt.script_mismatch', `input ${String(index)}: the tapLeafScript's control block does not commit to the output key`, { input: index });
    }
    const leafHash = tapLeafHash(leaf.script, leaf.leafVersion);
    const stack: Uint8Array[] = [];
    const missing: MissingSigner[] = [];
    let count = 0;
    for (const pk of ma.pubkeys) {
      const s = input.tapScriptSigs.find((x) => equalBytes(x.pubkey, pk) && equalBytes(x.leafHash, leafHash));
      if (s === undefined) {
        missing.push(signerInfo(pk, input.tapBip32Derivation, deriver, true));
        stack.push(new Uint8Array(0));
        continue;
      }
      const hashType = s.signature.length === 65 ? s.signature[64]! : SIGHASH_DEFAULT;
      if (s.signature.length === 65 && hashType === SIGHASH_DEFAULT) badSignature(index, pk, 'has an explicit 0x00 sighash byte (BIP-341 forbids it)');
      if (input.sighashType !== undefined && hashType !== input.sighashType && !(input.sighashType === 1 && hashType === SIGHASH_DEFAULT)) {
        badSignature(index, pk, `uses sighash 0x${hashType.toString(16)} but the input requires 0x${input.sighashType.toString(16)}`);
      }
      let digest: Uint8Array;
      try {
        digest = ctx.taproot(index, hashType, leafHash);
      } catch {
        badSignature(index, pk, `uses an invalid sighash type 0x${hashType.toString(16)}`);
      }
      if (!secp.verifySchnorr(digest, pk, s.signature.subarray(0, 64))) badSignature(index, pk, 'does not verify against this transaction');
      if (count < ma.threshold) {
        stack.push(s.signature);
        count++;
      } else stack.push(new Uint8Array(0));
    }
    if (count >= ma.threshold) {
      // BIP-342 multi_a pops the first key's signature first: the witness lists them in reverse.
      return { done: { finalScriptWitness: [...stack.reverse(), leaf.script, leaf.controlBlock] } };
    }
    const m: MissingSignatures = { input: index, signatures: count, threshold: ma.threshold, missing };
    if (best === undefined || m.missing.length < best.missing.length) best = m;
  }
  if (input.tapKeySig !== undefined) {
    const hashType = input.tapKeySig.length === 65 ? input.tapKeySig[64]! : SIGHASH_DEFAULT;
    if (!secp.verifySchnorr(ctx.taproot(index, hashType), outputKey, input.tapKeySig.subarray(0, 64))) badSignature(index, outputKey, 'does not verify against this transaction');
    return { done: { finalScriptWitness: [input.tapKeySig] } };
  }
  if (best !== undefined) return { missing: best };
  bad('psbt.unsupported_script', `input ${String(index)}: no multi_a tapLeafScript or key-path signature to finalize`, { input: index });
}

function finalizeInput(psbt: Psbt, index: number, ctx: SighashContext, deriver: WalletDeriver | undefined): Outcome {
  const input = psbt.inputs[index]!;
  const prevout = ctx.prevouts[index];
  if (prevout === undefined) bad('psbt.missing_utxo', `input ${String(index)} has no witnessUtxo or nonWitnessUtxo`, { input: index });
  const kind = classifyOutputScript(prevout.script);
  if (kind === 'p2tr') return finalizeTaproot(input, index, prevout, ctx, deriver);
  let witnessScript: Uint8Array | undefined;
  let redeemScript: Uint8Array | undefined;
  if (kind === 'p2sh') {
    redeemScript = input.redeemScript;
    if (redeemScript === undefined) bad('psbt.missing_field', `input ${String(index)} spends P2SH without a redeemScript`, { input: index });
    if (!equalBytes(p2shOutputScript(redeemScript), prevout.script)) bad('psbt.script_mismatch', `input ${String(index)}: redeemScript does not hash to the P2SH output`, { input: index });
    if (classifyOutputScript(redeemScript) === 'p2wsh') witnessScript = input.witnessScript;
    else {
      const r = multisigSignatures(input, index, redeemScript, (t) => ctx.legacy(index, redeemScript!, t), deriver);
      if ('missing' in r) return r;
      return { done: { finalScriptSig: concat(new Uint8Array([OP.OP_0]), ...r.sigs.map(pushData), pushData(redeemScript)) } };
    }
  } else if (kind === 'p2wsh') witnessScript = input.witnessScript;
  else bad('psbt.unsupported_script', `input ${String(index)} spends a ${kind} output; mofn finalizes multisig inputs only`, { input: index, kind });
  if (witnessScript === undefined) bad('psbt.missing_field', `input ${String(index)} spends P2WSH without a witnessScript`, { input: index });
  const program = redeemScript ?? prevout.script;
  if (!equalBytes(p2wshOutputScript(witnessScript), program)) bad('psbt.script_mismatch', `input ${String(index)}: witnessScript does not hash to the P2WSH program`, { input: index });
  const ws = witnessScript;
  const r = multisigSignatures(input, index, ws, (t) => ctx.segwitV0(index, ws, prevout.amount, t), deriver);
  if ('missing' in r) return r;
  return {
    done: {
      // CHECKMULTISIG pops one extra element (the "dummy"), which BIP-147 requires to be empty.
      finalScriptWitness: [new Uint8Array(0), ...r.sigs, ws],
      ...(redeemScript === undefined ? {} : { finalScriptSig: pushData(redeemScript) }),
    },
  };
}

/**
 * Finalizes every input: verifies each partial signature against the recomputed sighash, then
 * builds the scriptSig/witness with exactly M signatures in script order, and clears the other
 * fields (BIP-174 finalizer). Already-final inputs are kept.
 * @param deriver - the wallet, used to name the cosigners still missing (optional)
 * @throws NotReadyError `psbt.missing_signatures` listing, per input, the cosigners still missing
 * @throws InvalidPsbtError `psbt.bad_signature`, `psbt.missing_utxo`, `psbt.script_mismatch`,
 *   `psbt.unsupported_script`, `psbt.missing_field`, `psbt.prev_tx_mismatch`
 */
export function finalizePsbt(psbt: Psbt, deriver?: WalletDeriver): Psbt {
  const prevouts = psbt.inputs.map((_, i) => prevoutOf(psbt, i));
  const ctx = new SighashContext(psbt.tx, prevouts);
  const missing: MissingSignatures[] = [];
  const inputs = psbt.inputs.map((input, i): PsbtInput => {
    if (isFinalized(input)) return input;
    const outcome = finalizeInput(psbt, i, ctx, deriver);
    if ('missing' in outcome) {
      missing.push(outcome.missing);
      return input;
    }
    // A finalized input keeps only its UTXOs, the final scripts and unknown fields (BIP-174 finalizer).
    return {
      ...EMPTY_INPUT,
      unknown: input.unknown,
      ...(input.nonWitnessUtxo === undefined ? {} : { nonWitnessUtxo: input.nonWitnessUtxo }),
      ...(input.witnessUtxo === undefined ? {} : { witnessUtxo: input.witnessUtxo }),
      ...outcome.done,
    };
  });
  if (missing.length > 0) {
    const names = (m: MissingSignatures): string => m.missing.map((s) => s.fingerprint ?? s.pubkey.slice(0, 16)).join(', ');
    const first = missing.slice(0, 3).map((m) => `input ${String(m.input)} has ${String(m.signatures)}/${String(m.threshold)} (missing: ${names(m)})`);
    throw new NotReadyError('psbt.missing_signatures', `not enough signatures to finalize: ${first.join('; ')}${missing.length > 3 ? `; and ${String(missing.length - 3)} more inputs` : ''}`, {
      details: { inputs: missing },
      hint: 'collect signatures from more cosigners and combine them first',
    });
  }
  return { ...psbt, inputs };
}

/** A network-serialized transaction extracted from a finalized PSBT. */
export interface ExtractedTransaction {
  readonly transaction: Transaction;
  readonly bytes: Uint8Array;
  readonly hex: string;
  readonly txid: string;
  readonly wtxid: string;
  readonly weight: number;
  readonly vsize: number;
}

/**
 * The extractor role: builds the signed transaction from a fully finalized PSBT.
 * @throws NotReadyError `psbt.not_finalized` naming the inputs without final scripts
 */
export function extractTransaction(psbt: Psbt): ExtractedTransaction {
  const open = psbt.inputs.flatMap((input, i) => (isFinalized(input) ? [] : [i]));
  if (open.length > 0) {
    throw new NotReadyError('psbt.not_finalized', `inputs ${open.slice(0, 10).join(', ')}${open.length > 10 ? ', ...' : ''} are not finalized`, {
      details: { inputs: open },
      hint: 'finalize the PSBT first',
    });
  }
  const transaction: Transaction = {
    version: psbt.tx.version,
    locktime: psbt.tx.locktime,
    outputs: psbt.tx.outputs,
    inputs: psbt.tx.inputs.map((txin, i) => ({
      ...txin,
      scriptSig: psbt.inputs[i]!.finalScriptSig ?? new Uint8Array(0),
      witness: psbt.inputs[i]!.finalScriptWitness ?? [],
    })),
  };
  const bytes = serializeTransaction(transaction);
  return {
    transaction,
    bytes,
    hex: toHex(bytes),
    txid: transactionId(transaction),
    wtxid: transactionWitnessId(transaction),
    weight: transactionWeight(transaction),
    vsize: transactionVsize(transaction),
  };
}
