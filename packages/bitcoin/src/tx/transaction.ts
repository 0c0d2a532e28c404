/**
 * Bitcoin transactions: the wire format (legacy and BIP-144 segwit serialization), txid/wtxid,
 * and weight. Pure data, no signing.
 */
import { InvalidPsbtError } from '@mofn/core';
import { hash256 } from '../hash.ts';
import { ByteReader, ByteWriter, bytesToTxid, compactSizeLength, fromHex, toHex, txidToBytes } from './bytes.ts';

/** A transaction output: amount in satoshis and its locking script. */
export interface TxOutput {
  readonly amount: bigint;
  readonly script: Uint8Array;
}

/** A transaction input; `txid` is the display (big-endian hex) id of the transaction spent. */
export interface TxInput {
  readonly txid: string;
  readonly vout: number;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  /** BIP-141 witness stack (empty for non-witness inputs). */
  readonly witness: readonly Uint8Array[];
}

/** A decoded transaction. */
export interface Transaction {
  readonly version: number;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly locktime: number;
}

/** Options of {@link parseTransaction}. */
export interface ParseTransactionOptions {
  /** Accept the BIP-144 witness serialization (default true). PSBT's unsigned tx must not use it. */
  readonly allowWitness?: boolean;
  /** Error-code prefix (`tx` by default; the PSBT codec passes `psbt`). */
  readonly area?: string;
}

// The smallest serialized input (36 outpoint + 1 empty script + 4 sequence) and output (8 + 1).
const MIN_INPUT_SIZE = 41;
const MIN_OUTPUT_SIZE = 9;

function readInputs(r: ByteReader, count: number): { txid: string; vout: number; scriptSig: Uint8Array; sequence: number }[] {
  if (count * MIN_INPUT_SIZE > r.remaining) {
    throw new InvalidPsbtError(`${r.area}.truncated`, `transaction declares ${String(count)} inputs but only ${String(r.remaining)} bytes remain`);
  }
  const inputs = [];
  for (let i = 0; i < count; i++) {
    const txid = bytesToTxid(r.take(32, 'an input txid'));
    const vout = r.u32('an input index');
    const scriptSig = r.varBytes('a scriptSig').slice();
    const sequence = r.u32('a sequence');
    inputs.push({ txid, vout, scriptSig, sequence });
  }
  return inputs;
}

function readOutputs(r: ByteReader, count: number): TxOutput[] {
  if (count * MIN_OUTPUT_SIZE > r.remaining) {
    throw new InvalidPsbtError(`${r.area}.truncated`, `transaction declares ${String(count)} outputs but only ${String(r.remaining)} bytes remain`);
  }
  const outputs: TxOutput[] = [];
  for (let i = 0; i < count; i++) {
    const amount = r.u64('an output amount');
    const script = r.varBytes('an output script').slice();
    outputs.push({ amount, script });
  }
  return outputs;
}

/**
 * Decodes a transaction from its wire bytes, consuming them exactly.
 * @throws InvalidPsbtError `tx.truncated`, `tx.trailing_data`, `tx.invalid_witness` (BIP-144 flag errors)
 */
export function readTransaction(r: ByteReader, options: ParseTransactionOptions = {}): Transaction {
  const allowWitness = options.allowWitness ?? true;
  const version = r.u32('the transaction version');
  // Mirrors Bitcoin Core's UnserializeTransaction: with witness allowed, an empty input vector is
  // the BIP-144 marker and the next byte the flag; a zero flag means "no inputs, no outputs".
  let flags = 0;
  let rawInputs = readInputs(r, r.compactSize('the input count'));
  let outs: TxOutput[] = [];
  if (rawInputs.length === 0 && allowWitness) {
    flags = r.u8('the segwit flag');
    if (flags !== 0) {
      rawInputs = readInputs(r, r.compactSize('the input count'));
      outs = readOutputs(r, r.compactSize('the output count'));
    }
  } else {
    outs = readOutputs(r, r.compactSize('the output count'));
  }
  const witnesses: Uint8Array[][] = rawInputs.map(() => []);
  if (flags !== 0 && flags !== 1) {
    throw new InvalidPsbtError(`${r.area}.invalid_witness`, `unknown transaction flag byte 0x${flags.toString(16)}`);
  }
  if (flags === 1) {
    let any = false;
    for (let i = 0; i < rawInputs.length; i++) {
      const n = r.compactSize('a witness item count');
      if (n > r.remaining) throw new InvalidPsbtError(`${r.area}.truncated`, `witness declares ${String(n)} items but only ${String(r.remaining)} bytes remain`);
      const stack: Uint8Array[] = [];
      for (let j = 0; j < n; j++) stack.push(r.varBytes('a witness item').slice());
      if (n > 0) any = true;
      witnesses[i] = stack;
    }
    if (!any) throw new InvalidPsbtError(`${r.area}.invalid_witness`, 'segwit serialization with only empty witnesses (superfluous witness record)');
  }
  const locktime = r.u32('the locktime');
  const inputs: TxInput[] = rawInputs.map((inp, i) => ({ ...inp, witness: witnesses[i]! }));
  return { version, inputs, outputs: outs, locktime };
}

/**
 * Parses a serialized transaction (bytes or hex).
 * @throws InvalidPsbtError `tx.truncated`, `tx.trailing_data`, `tx.invalid_witness`, `tx.invalid_hex`
 * @example parseTransaction('0200000001...')
 */
export function parseTransaction(raw: Uint8Array | string, options: ParseTransactionOptions = {}): Transaction {
  const area = options.area ?? 'tx';
  const bytes = typeof raw === 'string' ? fromHex(raw.trim(), area) : raw;
  const r = new ByteReader(bytes, area);
  const tx = readTransaction(r, options);
  if (!r.done) {
    throw new InvalidPsbtError(`${area}.trailing_data`, `${String(r.remaining)} unexpected bytes after the transaction`);
  }
  return tx;
}

/** True if any input carries a witness. */
export function hasWitness(tx: Transaction): boolean {
  return tx.inputs.some((i) => i.witness.length > 0);
}

/** Writes the outpoint (32-byte internal hash + index) of an input. */
export function writeOutpoint(w: ByteWriter, txid: string, vout: number): void {
  w.bytes(txidToBytes(txid)).u32(vout);
}

/** Writes one output (amount + script). */
export function writeOutput(w: ByteWriter, o: TxOutput): void {
  w.u64(o.amount).varBytes(o.script);
}

/**
 * Serializes a transaction; with `witness` (default: when any input has one) in BIP-144 format.
 * A transaction without inputs is always written without witness (BIP-144 ambiguity).
 */
export function serializeTransaction(tx: Transaction, options: { witness?: boolean } = {}): Uint8Array {
  const witness = (options.witness ?? true) && hasWitness(tx);
  const w = new ByteWriter(64 + tx.inputs.length * 160 + tx.outputs.length * 40);
  w.u32(tx.version);
  if (witness) w.u8(0).u8(1);
  w.compactSize(tx.inputs.length);
  for (const i of tx.inputs) {
    writeOutpoint(w, i.txid, i.vout);
    w.varBytes(i.scriptSig).u32(i.sequence);
  }
  w.compactSize(tx.outputs.length);
  for (const o of tx.outputs) writeOutput(w, o);
  if (witness) {
    for (const i of tx.inputs) {
      w.compactSize(i.witness.length);
      for (const item of i.witness) w.varBytes(item);
    }
  }
  w.u32(tx.locktime);
  return w.finish();
}

/** Display txid (hash256 of the non-witness serialization, byte-reversed hex). */
export function transactionId(tx: Transaction): string {
  return bytesToTxid(hash256(serializeTransaction(tx, { witness: false })));
}

/** Display wtxid (hash256 of the witness serialization). */
export function transactionWitnessId(tx: Transaction): string {
  return bytesToTxid(hash256(serializeTransaction(tx)));
}

/** BIP-141 weight: 3 x stripped size + total size. */
export function transactionWeight(tx: Transaction): number {
  let base = 4 + compactSizeLength(tx.inputs.length) + compactSizeLength(tx.outputs.length) + 4;
  for (const i of tx.inputs) base += 40 + compactSizeLength(i.scriptSig.length) + i.scriptSig.length;
  for (const o of tx.outputs) base += 8 + compactSizeLength(o.script.length) + o.script.length;
  let wit = 0;
  if (hasWitness(tx)) {
    wit = 2;
    for (const i of tx.inputs) {
      wit += compactSizeLength(i.witness.length);
      for (const item of i.witness) wit += compactSizeLength(item.length) + item.length;
    }
  }
  return base * 4 + wit;
}

/** Virtual size: weight / 4 rounded up (BIP-141). */
export function transactionVsize(tx: Transaction): number {
  return Math.ceil(transactionWeight(tx) / 4);
}

/** Hex of a serialized transaction (convenience for callers printing raw transactions). */
export function transactionHex(tx: Transaction): string {
  return toHex(serializeTransaction(tx));
}
