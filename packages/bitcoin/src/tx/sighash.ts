/**
 * Signature hashes for the three signing schemes mofn spends with:
 * legacy (pre-segwit, P2SH multisig), BIP-143 (segwit v0: P2WSH, P2SH-P2WSH) and
 * BIP-341 (taproot, key and script path).
 *
 * A {@link SighashContext} is built once per unsigned transaction and caches the
 * transaction-wide digests (BIP-143 hashPrevouts/hashSequence/hashOutputs, BIP-341
 * sha_prevouts/sha_amounts/sha_scriptpubkeys/sha_sequences/sha_outputs), so signing n inputs
 * costs O(n) hashing instead of the O(n^2) of recomputing them per input.
 */
import { InvalidPsbtError } from '@mofn/core';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { hash256, sha256, taggedHash } from '../hash.ts';
import { ByteWriter, txidToBytes } from './bytes.ts';
import { decompileScript } from './script.ts';
import type { TxOutput } from './transaction.ts';

/** BIP-341 default sighash (signs like ALL, 64-byte signature without a type byte). */
export const SIGHASH_DEFAULT = 0x00;
export { SIGHASH_ALL, SIGHASH_ANYONECANPAY, SIGHASH_NONE, SIGHASH_SINGLE } from '../keys/signature.ts';
import { SIGHASH_ALL, SIGHASH_ANYONECANPAY, SIGHASH_NONE, SIGHASH_SINGLE } from '../keys/signature.ts';

/** The parts of a transaction a signature hash commits to. */
export interface SighashTransaction {
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly { readonly txid: string; readonly vout: number; readonly sequence: number }[];
  readonly outputs: readonly TxOutput[];
}

const ZERO32: Uint8Array = new Uint8Array(32);
const OP_CODESEPARATOR = 0xab;

/** True for a BIP-341 hash type (0x00-0x03, 0x81-0x83). */
export function isTaprootSighashType(t: number): boolean {
  return t === 0 || (t >= 1 && t <= 3) || (t >= 0x81 && t <= 0x83);
}

/** Cached transaction-wide digests; see the module comment. */
export class SighashContext {
  readonly tx: SighashTransaction;
  /** Spent outputs by input index (amount + scriptPubKey); BIP-341 needs all of them. */
  readonly prevouts: readonly (TxOutput | undefined)[];
  private readonly outpoints: Uint8Array[];
  private shaPrevouts?: Uint8Array;
  private shaSequences?: Uint8Array;
  private shaOutputs?: Uint8Array;
  private shaAmounts?: Uint8Array;
  private shaScriptPubkeys?: Uint8Array;
  private serializedOutputs?: Uint8Array[];

  constructor(tx: SighashTransaction, prevouts: readonly (TxOutput | undefined)[] = []) {
    this.tx = tx;
    this.prevouts = prevouts;
    this.outpoints = tx.inputs.map((i) => {
      const o = new Uint8Array(36);
      o.set(txidToBytes(i.txid));
      new DataView(o.buffer).setUint32(32, i.vout, true);
      return o;
    });
  }

  private outputBytes(): Uint8Array[] {
    this.serializedOutputs ??= this.tx.outputs.map((o) => new ByteWriter(o.script.length + 9).u64(o.amount).varBytes(o.script).finish());
    return this.serializedOutputs;
  }

  private singleSha(parts: readonly Uint8Array[]): Uint8Array {
    const h = nobleSha256.create();
    for (const p of parts) h.update(p);
    return h.digest();
  }

  private prevoutsSha(): Uint8Array {
    this.shaPrevouts ??= this.singleSha(this.outpoints);
    return this.shaPrevouts;
  }

  private sequencesSha(): Uint8Array {
    if (this.shaSequences === undefined) {
      const w = new ByteWriter(this.tx.inputs.length * 4);
      for (const i of this.tx.inputs) w.u32(i.sequence);
      this.shaSequences = sha256(w.finish());
    }
    return this.shaSequences;
  }

  private outputsSha(): Uint8Array {
    this.shaOutputs ??= this.singleSha(this.outputBytes());
    return this.shaOutputs;
  }

  private prevout(index: number): TxOutput {
    const p = this.prevouts[index];
    if (p === undefined) {
      throw new InvalidPsbtError('psbt.missing_utxo', `input ${String(index)} has no known previous output (amount and script)`, {
        details: { input: index },
        hint: 'add witnessUtxo or nonWitnessUtxo for every input',
      });
    }
    return p;
  }

  private amountsSha(): Uint8Array {
    if (this.shaAmounts === undefined) {
      const w = new ByteWriter(this.tx.inputs.length * 8);
      for (let i = 0; i < this.tx.inputs.length; i++) w.u64(this.prevout(i).amount);
      this.shaAmounts = sha256(w.finish());
    }
    return this.shaAmounts;
  }

  private scriptPubkeysSha(): Uint8Array {
    if (this.shaScriptPubkeys === undefined) {
      const w = new ByteWriter(this.tx.inputs.length * 36);
      for (let i = 0; i < this.tx.inputs.length; i++) w.varBytes(this.prevout(i).script);
      this.shaScriptPubkeys = sha256(w.finish());
    }
    return this.shaScriptPubkeys;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.tx.inputs.length) {
      throw new InvalidPsbtError('psbt.invalid_input_index', `input index ${String(index)} is out of range (0..${String(this.tx.inputs.length - 1)})`);
    }
  }

  /**
   * Pre-segwit signature hash (Bitcoin Core's SignatureHash, SIGVERSION_BASE). `scriptCode` is the
   * redeem script for P2SH; OP_CODESEPARATORs are removed from it as the consensus code does.
   */
  legacy(index: number, scriptCode: Uint8Array, hashType: number): Uint8Array {
    this.checkIndex(index);
    const base = hashType & 0x1f;
    const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
    const tx = this.tx;
    // Consensus quirk: SIGHASH_SINGLE without a matching output signs the number 1.
    if (base === SIGHASH_SINGLE && index >= tx.outputs.length) {
      const one = new Uint8Array(32);
      one[0] = 1;
      return one;
    }
    const code = stripCodeSeparators(scriptCode);
    const w = new ByteWriter(128 + tx.inputs.length * 41 + tx.outputs.length * 34 + code.length);
    w.u32(tx.version);
    const ins = anyoneCanPay ? [index] : tx.inputs.map((_, i) => i);
    w.compactSize(ins.length);
    for (const i of ins) {
      const inp = tx.inputs[i]!;
      w.bytes(this.outpoints[i]!);
      if (i === index) w.varBytes(code);
      else w.u8(0);
      w.u32(i !== index && (base === SIGHASH_NONE || base === SIGHASH_SINGLE) ? 0 : inp.sequence);
    }
    if (base === SIGHASH_NONE) w.compactSize(0);
    else if (base === SIGHASH_SINGLE) {
      w.compactSize(index + 1);
      for (let i = 0; i < index; i++) w.u64(0xffffffffffffffffn).u8(0);
      w.bytes(this.outputBytes()[index]!);
    } else {
      w.compactSize(tx.outputs.length);
      for (const o of this.outputBytes()) w.bytes(o);
    }
    w.u32(tx.locktime);
    w.u32(hashType);
    return hash256(w.finish());
  }

  /** BIP-143 signature hash for a segwit v0 input spending `amount` with `scriptCode` (the witness script). */
  segwitV0(index: number, scriptCode: Uint8Array, amount: bigint, hashType: number): Uint8Array {
    this.checkIndex(index);
    const base = hashType & 0x1f;
    const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
    const tx = this.tx;
    const hashPrevouts = anyoneCanPay ? ZERO32 : sha256(this.prevoutsSha());
    const hashSequence = anyoneCanPay || base === SIGHASH_SINGLE || base === SIGHASH_NONE ? ZERO32 : sha256(this.sequencesSha());
    let hashOutputs: Uint8Array = ZERO32;
    if (base !== SIGHASH_SINGLE && base !== SIGHASH_NONE) hashOutputs = sha256(this.outputsSha());
    else if (base === SIGHASH_SINGLE && index < tx.outputs.length) hashOutputs = hash256(this.outputBytes()[index]!);
    const w = new ByteWriter(160 + scriptCode.length);
    w.u32(tx.version).bytes(hashPrevouts).bytes(hashSequence).bytes(this.outpoints[index]!);
    w.varBytes(scriptCode).u64(amount).u32(tx.inputs[index]!.sequence);
    w.bytes(hashOutputs).u32(tx.locktime).u32(hashType);
    return hash256(w.finish());
  }

  /**
   * BIP-341 signature hash (SigMsg with epoch 0). Pass `leafHash` for a BIP-342 script-path
   * spend (ext_flag 1, key_version 0, no OP_CODESEPARATOR executed unless `codeSeparatorPos`).
   * @throws InvalidPsbtError `psbt.invalid_sighash` for an undefined hash type or SINGLE without its output
   */
  taproot(index: number, hashType: number, leafHash?: Uint8Array, annex?: Uint8Array, codeSeparatorPos = 0xffffffff): Uint8Array {
    this.checkIndex(index);
    if (!isTaprootSighashType(hashType)) {
      throw new InvalidPsbtError('psbt.invalid_sighash', `sighash type 0x${hashType.toString(16)} is not defined for taproot (BIP-341)`);
    }
    const tx = this.tx;
    const outType = hashType === SIGHASH_DEFAULT ? SIGHASH_ALL : hashType & 3;
    const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
    const w = new ByteWriter(256);
    w.u8(0).u8(hashType).u32(tx.version).u32(tx.locktime);
    if (!anyoneCanPay) {
      w.bytes(this.prevoutsSha()).bytes(this.amountsSha()).bytes(this.scriptPubkeysSha()).bytes(this.sequencesSha());
    }
    if (outType !== SIGHASH_NONE && outType !== SIGHASH_SINGLE) w.bytes(this.outputsSha());
    const extFlag = leafHash === undefined ? 0 : 1;
    w.u8(extFlag * 2 + (annex === undefined ? 0 : 1));
    if (anyoneCanPay) {
      const p = this.prevout(index);
      w.bytes(this.outpoints[index]!).u64(p.amount).varBytes(p.script).u32(tx.inputs[index]!.sequence);
    } else w.u32(index);
    if (annex !== undefined) w.bytes(sha256(new ByteWriter(annex.length + 9).varBytes(annex).finish()));
    if (outType === SIGHASH_SINGLE) {
      const out = this.outputBytes()[index];
      if (out === undefined) {
        throw new InvalidPsbtError('psbt.invalid_sighash', `SIGHASH_SINGLE on input ${String(index)} without a matching output`);
      }
      w.bytes(sha256(out));
    }
    if (leafHash !== undefined) w.bytes(leafHash).u8(0).u32(codeSeparatorPos);
    return taggedHash('TapSighash', w.finish());
  }
}

function stripCodeSeparators(script: Uint8Array): Uint8Array {
  if (!script.includes(OP_CODESEPARATOR)) return script;
  const chunks = decompileScript(script);
  if (chunks === undefined) return script;
  const w = new ByteWriter(script.length);
  let pos = 0;
  for (const c of chunks) {
    // Re-emit every chunk byte for byte (its opcode, length bytes and data) except OP_CODESEPARATOR.
    const start = pos;
    pos += 1;
    if (c.data !== undefined) pos += (c.op === 0x4c ? 1 : c.op === 0x4d ? 2 : c.op === 0x4e ? 4 : 0) + c.data.length;
    if (c.data === undefined && c.op === OP_CODESEPARATOR) continue;
    w.bytes(script.subarray(start, pos));
  }
  return w.finish();
}
