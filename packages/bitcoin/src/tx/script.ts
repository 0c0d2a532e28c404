/**
 * Script building blocks: opcodes, minimal pushes, output templates, multisig script parsing
 * (CHECKMULTISIG and BIP-342 CHECKSIGADD forms) and BIP-341 taproot commitments.
 */
import { InvalidInputError, equalBytes } from '@mofn/core';
import { hash160, sha256, taggedHash } from '../hash.ts';
import { secp } from '../secp.ts';
import { concat } from './bytes.ts';

/** The opcodes mofn's scripts use. */
export const OP = Object.freeze({
  OP_0: 0x00,
  OP_PUSHDATA1: 0x4c,
  OP_PUSHDATA2: 0x4d,
  OP_PUSHDATA4: 0x4e,
  OP_1NEGATE: 0x4f,
  OP_1: 0x51,
  OP_16: 0x60,
  OP_RETURN: 0x6a,
  OP_DUP: 0x76,
  OP_EQUAL: 0x87,
  OP_EQUALVERIFY: 0x88,
  OP_NUMEQUAL: 0x9c,
  OP_HASH160: 0xa9,
  OP_CHECKSIG: 0xac,
  OP_CHECKMULTISIG: 0xae,
  OP_CHECKSIGADD: 0xba,
});

/** BIP-342 tapscript leaf version. */
export const TAPSCRIPT_LEAF_VERSION = 0xc0;

/** Length of the push opcode(s) that precede `n` bytes of data in a minimal push. */
export function pushPrefixLength(n: number): number {
  return n < OP.OP_PUSHDATA1 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
}

/** A data push (`len data`, PUSHDATA1/2/4 as needed). Empty data is OP_0. */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  const p = pushPrefixLength(n);
  const out = new Uint8Array(p + n);
  if (p === 1) out[0] = n;
  else if (p === 2) {
    out[0] = OP.OP_PUSHDATA1;
    out[1] = n;
  } else if (p === 3) {
    out[0] = OP.OP_PUSHDATA2;
    out[1] = n & 0xff;
    out[2] = n >>> 8;
  } else {
    out[0] = OP.OP_PUSHDATA4;
    new DataView(out.buffer).setUint32(1, n, true);
  }
  out.set(data, p);
  return out;
}

/** Minimal push of a non-negative script number (OP_0, OP_1..OP_16, else CScriptNum bytes). */
export function pushNumber(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidInputError('script.bad_number', `cannot push ${n}: expected a non-negative integer`);
  }
  if (n === 0) return new Uint8Array([OP.OP_0]);
  if (n >= 1 && n <= 16) return new Uint8Array([OP.OP_1 + n - 1]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if ((bytes[bytes.length - 1]! & 0x80) !== 0) bytes.push(0);
  return pushData(new Uint8Array(bytes));
}

/** One decoded script element: an opcode, or pushed data (with the opcode that pushed it). */
export type ScriptChunk = { readonly op: number; readonly data?: undefined } | { readonly op: number; readonly data: Uint8Array };

/** Splits a script into opcodes and pushes; undefined when a push runs past the end. */
export function decompileScript(script: Uint8Array): ScriptChunk[] | undefined {
  const out: ScriptChunk[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i++]!;
    let len = -1;
    if (op > OP.OP_0 && op < OP.OP_PUSHDATA1) len = op;
    else if (op === OP.OP_PUSHDATA1) {
      if (i + 1 > script.length) return undefined;
      len = script[i]!;
      i += 1;
    } else if (op === OP.OP_PUSHDATA2) {
      if (i + 2 > script.length) return undefined;
      len = script[i]! | (script[i + 1]! << 8);
      i += 2;
    } else if (op === OP.OP_PUSHDATA4) {
      if (i + 4 > script.length) return undefined;
      len = (script[i]! | (script[i + 1]! << 8) | (script[i + 2]! << 16) | (script[i + 3]! << 24)) >>> 0;
      i += 4;
    }
    if (len >= 0) {
      if (i + len > script.length) return undefined;
      out.push({ op, data: script.subarray(i, i + len) });
      i += len;
    } else out.push({ op });
  }
  return out;
}

/** Decodes a small non-negative number chunk (OP_0..OP_16 or a minimal CScriptNum push of up to 4 bytes). */
function chunkNumber(c: ScriptChunk | undefined): number | undefined {
  if (c === undefined) return undefined;
  if (c.data === undefined) {
    if (c.op === OP.OP_0) return 0;
    if (c.op >= OP.OP_1 && c.op <= OP.OP_16) return c.op - OP.OP_1 + 1;
    return undefined;
  }
  const d = c.data;
  if (d.length === 0 || d.length > 4) return undefined;
  // Minimal encoding (no needless 0x00 top byte) and non-negative.
  if ((d[d.length - 1]! & 0x80) !== 0) return undefined;
  if (d[d.length - 1] === 0 && (d.length === 1 || (d[d.length - 2]! & 0x80) === 0)) return undefined;
  let v = 0;
  for (let i = d.length - 1; i >= 0; i--) v = v * 256 + d[i]!;
  return v <= 16 ? undefined : v;
}

/** A parsed `OP_m <pk>... OP_n OP_CHECKMULTISIG` script. */
export interface MultisigScript {
  readonly threshold: number;
  /** Public keys in script order (33-byte compressed or 65-byte uncompressed). */
  readonly pubkeys: readonly Uint8Array[];
}

/** Parses a bare CHECKMULTISIG script; undefined when the script is anything else. */
export function parseMultisigScript(script: Uint8Array): MultisigScript | undefined {
  if (script[script.length - 1] !== OP.OP_CHECKMULTISIG) return undefined;
  const chunks = decompileScript(script);
  if (chunks === undefined || chunks.length < 4) return undefined;
  const m = chunkNumber(chunks[0]);
  const n = chunkNumber(chunks[chunks.length - 2]);
  if (m === undefined || n === undefined || n !== chunks.length - 3 || m < 1 || m > n || n > 20) return undefined;
  const pubkeys: Uint8Array[] = [];
  for (let i = 1; i <= n; i++) {
    const d = chunks[i]!.data;
    if (d === undefined || (d.length !== 33 && d.length !== 65)) return undefined;
    pubkeys.push(d);
  }
  return { threshold: m, pubkeys };
}

/** A parsed BIP-342 `<x1> CHECKSIG <x2> CHECKSIGADD ... <m> NUMEQUAL` (multi_a) leaf. */
export interface MultiAScript {
  readonly threshold: number;
  /** 32-byte x-only keys in script order. */
  readonly pubkeys: readonly Uint8Array[];
}

/** Parses a multi_a tapscript; undefined when the script is anything else. */
export function parseMultiAScript(script: Uint8Array): MultiAScript | undefined {
  if (script[script.length - 1] !== OP.OP_NUMEQUAL) return undefined;
  const chunks = decompileScript(script);
  if (chunks === undefined || chunks.length < 4 || chunks.length % 2 !== 0) return undefined;
  const n = (chunks.length - 2) / 2;
  const pubkeys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const key = chunks[2 * i]!;
    const op = chunks[2 * i + 1]!;
    if (key.data?.length !== 32) return undefined;
    if (op.data !== undefined || op.op !== (i === 0 ? OP.OP_CHECKSIG : OP.OP_CHECKSIGADD)) return undefined;
    pubkeys.push(key.data);
  }
  const m = chunkNumber(chunks[chunks.length - 2]);
  if (m === undefined || m < 1 || m > n) return undefined;
  return { threshold: m, pubkeys };
}

/** `OP_HASH160 <20> OP_EQUAL` for a redeem script. */
export function p2shOutputScript(redeemScript: Uint8Array): Uint8Array {
  return concat(new Uint8Array([OP.OP_HASH160, 20]), hash160(redeemScript), new Uint8Array([OP.OP_EQUAL]));
}

/** `OP_0 <32>` for a witness script. */
export function p2wshOutputScript(witnessScript: Uint8Array): Uint8Array {
  return concat(new Uint8Array([OP.OP_0, 32]), sha256(witnessScript));
}

/** Output script kinds mofn distinguishes. */
export type OutputScriptKind = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness_unknown' | 'nulldata' | 'nonstandard';

/** The segwit version and program of a witness output script, if it is one (BIP-141). */
export function witnessProgramOf(script: Uint8Array): { version: number; program: Uint8Array } | undefined {
  if (script.length < 4 || script.length > 42) return undefined;
  const v = script[0]!;
  if (v !== OP.OP_0 && (v < OP.OP_1 || v > OP.OP_16)) return undefined;
  if (script[1] !== script.length - 2) return undefined;
  return { version: v === 0 ? 0 : v - OP.OP_1 + 1, program: script.subarray(2) };
}

/** Classifies an output script. */
export function classifyOutputScript(script: Uint8Array): OutputScriptKind {
  const n = script.length;
  if (n === 25 && script[0] === OP.OP_DUP && script[1] === OP.OP_HASH160 && script[2] === 20 && script[23] === OP.OP_EQUALVERIFY && script[24] === OP.OP_CHECKSIG) return 'p2pkh';
  if (n === 23 && script[0] === OP.OP_HASH160 && script[1] === 20 && script[22] === OP.OP_EQUAL) return 'p2sh';
  if (n >= 1 && script[0] === OP.OP_RETURN) return 'nulldata';
  const wp = witnessProgramOf(script);
  if (wp !== undefined) {
    if (wp.version === 0 && wp.program.length === 20) return 'p2wpkh';
    if (wp.version === 0 && wp.program.length === 32) return 'p2wsh';
    if (wp.version === 1 && wp.program.length === 32) return 'p2tr';
    return 'witness_unknown';
  }
  return 'nonstandard';
}

/** BIP-341 leaf hash: `TapLeaf(leafVersion || compact_size(len) || script)`. */
export function tapLeafHash(script: Uint8Array, leafVersion = TAPSCRIPT_LEAF_VERSION): Uint8Array {
  const len = script.length;
  const prefix =
    len < 0xfd ? new Uint8Array([leafVersion, len]) : len <= 0xffff ? new Uint8Array([leafVersion, 0xfd, len & 0xff, len >>> 8]) : new Uint8Array([leafVersion, 0xfe, len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24]);
  return taggedHash('TapLeaf', prefix, script);
}

/** BIP-341 branch hash: the two children sorted lexicographically. */
export function tapBranchHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? taggedHash('TapBranch', a, b) : taggedHash('TapBranch', b, a);
  }
  return taggedHash('TapBranch', a, b);
}

/** Merkle root implied by a control block for a leaf hash (BIP-341 script path). */
export function tapMerkleRootFromControlBlock(controlBlock: Uint8Array, leafHash: Uint8Array): Uint8Array {
  let k = leafHash;
  for (let off = 33; off + 32 <= controlBlock.length; off += 32) k = tapBranchHash(k, controlBlock.subarray(off, off + 32));
  return k;
}

/**
 * True if the control block proves `script` (at the control block's leaf version) is committed to by
 * the 32-byte taproot output key (BIP-341: Q = P + H_TapTweak(P || root)G, parity bit in byte 0).
 * Never throws.
 */
export function verifyTaprootCommitment(controlBlock: Uint8Array, script: Uint8Array, outputKey: Uint8Array): boolean {
  if (controlBlock.length < 33 || (controlBlock.length - 33) % 32 !== 0 || controlBlock.length > 33 + 128 * 32) return false;
  if (outputKey.length !== 32) return false;
  const leafVersion = controlBlock[0]! & 0xfe;
  const internal = controlBlock.subarray(1, 33);
  const root = tapMerkleRootFromControlBlock(controlBlock, tapLeafHash(script, leafVersion));
  try {
    const q = secp.xOnlyPointAddTweak(internal, taggedHash('TapTweak', internal, root));
    return q !== null && q.parity === (controlBlock[0]! & 1) && equalBytes(q.xOnly, outputKey);
  } catch {
    return false;
  }
}
