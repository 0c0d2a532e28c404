/**
 * Wallet-independent signer checks (BIP-174 "Data Signers Check For") and the signature hash of
 * an input computed from the PSBT's own fields, for signers that are not an mofn wallet (hardware
 * adapters, test harnesses). The wallet signer (signPsbt) runs the checks too, on top of its
 * derivation checks.
 */
import { InvalidPsbtError, SigningRefusedError, equalBytes } from '@mofn/core';
import { classifyOutputScript, p2shOutputScript, p2wshOutputScript, witnessProgramOf } from '../tx/script.ts';
import { SIGHASH_ALL, SIGHASH_DEFAULT, SighashContext } from '../tx/sighash.ts';
import type { Psbt } from './types.ts';
import { allPrevouts, prevoutOf } from './wallet.ts';

function refuse(code: string, index: number, message: string): never {
  throw new SigningRefusedError(code, `input ${String(index)}: ${message}`, { details: { input: index } });
}

/**
 * Checks an input is consistent enough to sign (BIP-174 signer checks): the non-witness UTXO
 * hashes to the outpoint, a witness UTXO is given only for a witness spend, and the redeem and
 * witness scripts are those the spent output commits to.
 * @throws SigningRefusedError `signing.prev_tx_mismatch`, `signing.witness_utxo_non_witness`,
 *   `signing.redeem_script_mismatch`, `signing.witness_script_mismatch`, `signing.missing_utxo`
 */
export function assertInputSignable(psbt: Psbt, index: number): void {
  const input = psbt.inputs[index];
  if (input === undefined) throw new InvalidPsbtError('psbt.invalid_input_index', `input index ${String(index)} is out of range`);
  let prevout;
  try {
    prevout = prevoutOf(psbt, index);
  } catch (e) {
    if (e instanceof InvalidPsbtError) throw new SigningRefusedError('signing.prev_tx_mismatch', e.message, { cause: e, details: { input: index } });
    throw e;
  }
  if (prevout === undefined) refuse('signing.missing_utxo', index, 'neither witnessUtxo nor nonWitnessUtxo is present');
  const spk = prevout.script;
  const redeem = input.redeemScript;
  if (redeem !== undefined && !equalBytes(p2shOutputScript(redeem), spk)) refuse('signing.redeem_script_mismatch', index, 'the redeemScript is not the one the spent output commits to');
  const program = redeem ?? spk;
  if (input.witnessScript !== undefined && !equalBytes(p2wshOutputScript(input.witnessScript), program)) {
    refuse('signing.witness_script_mismatch', index, 'the witnessScript is not the one the spent output (or redeemScript) commits to');
  }
  if (input.nonWitnessUtxo === undefined && input.witnessUtxo !== undefined) {
    // A witness UTXO alone is only safe for a witness spend: a legacy sighash does not commit to the amount.
    const isWitness = witnessProgramOf(spk) !== undefined || (classifyOutputScript(spk) === 'p2sh' && redeem !== undefined && witnessProgramOf(redeem) !== undefined);
    if (!isWitness) refuse('signing.witness_utxo_non_witness', index, 'a witness UTXO is given for a non-witness spend (the full previous transaction is needed)');
  }
}

/** Options of {@link inputSighash}. */
export interface InputSighashOptions {
  /** Sighash type (default: the input's PSBT_IN_SIGHASH_TYPE, else ALL, or DEFAULT for taproot). */
  readonly hashType?: number;
  /** Taproot script path: the leaf hash signed for. */
  readonly leafHash?: Uint8Array;
}

/**
 * The signature hash of an input from the PSBT's own scripts and UTXOs: BIP-341 for taproot
 * outputs, BIP-143 for witness v0 (witnessScript, or P2WPKH's implied script), legacy otherwise.
 * @throws InvalidPsbtError `psbt.missing_utxo`, `psbt.missing_field`, `psbt.unsupported_script`
 */
export function inputSighash(psbt: Psbt, index: number, options: InputSighashOptions = {}, context?: SighashContext): Uint8Array {
  const ctx = context ?? new SighashContext(psbt.tx, allPrevouts(psbt));
  const input = psbt.inputs[index];
  const prevout = ctx.prevouts[index];
  if (input === undefined || prevout === undefined) {
    throw new InvalidPsbtError('psbt.missing_utxo', `input ${String(index)} has no known previous output`, { details: { input: index } });
  }
  const spk = prevout.script;
  if (classifyOutputScript(spk) === 'p2tr') return ctx.taproot(index, options.hashType ?? input.sighashType ?? SIGHASH_DEFAULT, options.leafHash);
  const hashType = options.hashType ?? input.sighashType ?? SIGHASH_ALL;
  const program = classifyOutputScript(spk) === 'p2sh' && input.redeemScript !== undefined ? input.redeemScript : spk;
  const wp = witnessProgramOf(program);
  if (wp !== undefined && wp.version === 0) {
    if (wp.program.length === 32) {
      if (input.witnessScript === undefined) throw new InvalidPsbtError('psbt.missing_field', `input ${String(index)} spends P2WSH without a witnessScript`);
      return ctx.segwitV0(index, input.witnessScript, prevout.amount, hashType);
    }
    // BIP-143: P2WPKH signs with the P2PKH script of the key hash.
    const code = new Uint8Array([0x76, 0xa9, 0x14, ...wp.program, 0x88, 0xac]);
    return ctx.segwitV0(index, code, prevout.amount, hashType);
  }
  if (wp !== undefined) throw new InvalidPsbtError('psbt.unsupported_script', `input ${String(index)} spends an unknown witness version ${String(wp.version)}`);
  return ctx.legacy(index, program, hashType);
}
