/**
 * PSBT codec: BIP-174 (version 0) parse and serialize, BIP-370 (version 2) parse with conversion
 * to the version 0 model, BIP-371 taproot fields.
 *
 * A focused codec rather than @scure/btc-signer's RawPSBTV0/V2: it throws typed errors with
 * stable codes (scure throws plain Errors with free text), it keeps fields it does not know
 * verbatim, and it is the hot path of large PSBTs (parse and serialize run once per signer).
 *
 * Serialization order follows Bitcoin Core (PSBTInput/PSBTOutput::Serialize): fields by type,
 * the final scriptSig/witness after the taproot fields, unknown and proprietary pairs last;
 * entries of one type keep the model's array order.
 */
import { InvalidPsbtError, equalBytes } from '@mofn/core';
import { base64 } from '@scure/base';
import { ripemd160 as ripemd160Hash } from '@noble/hashes/legacy.js';
import { hash160, hash256, sha256 } from '../hash.ts';
import { ByteReader, ByteWriter, bytesToTxid, compactSizeLength, toHex } from '../tx/bytes.ts';
import { readTransaction, serializeTransaction, transactionId, type Transaction } from '../tx/transaction.ts';
import { EMPTY_INPUT } from './types.ts';
import type {
  Bip32Derivation,
  GlobalXpub,
  HashPreimage,
  PartialSig,
  Psbt,
  PsbtGlobal,
  PsbtInput,
  PsbtKeyValue,
  PsbtOutput,
  TapBip32Derivation,
  TapLeafScript,
  TapScriptSig,
  TapTreeLeaf,
  TxOutput,
  UnsignedTx,
  UnsignedTxInput,
} from './types.ts';

const MAGIC = new Uint8Array([0x70, 0x73, 0x62, 0x74, 0xff]);

/** Global key types (BIP-174, BIP-370). */
const G = { UNSIGNED_TX: 0x00, XPUB: 0x01, TX_VERSION: 0x02, FALLBACK_LOCKTIME: 0x03, INPUT_COUNT: 0x04, OUTPUT_COUNT: 0x05, TX_MODIFIABLE: 0x06, VERSION: 0xfb } as const;
/** Input key types (BIP-174, BIP-370, BIP-371). */
const I = {
  NON_WITNESS_UTXO: 0x00,
  WITNESS_UTXO: 0x01,
  PARTIAL_SIG: 0x02,
  SIGHASH_TYPE: 0x03,
  REDEEM_SCRIPT: 0x04,
  WITNESS_SCRIPT: 0x05,
  BIP32_DERIVATION: 0x06,
  FINAL_SCRIPTSIG: 0x07,
  FINAL_SCRIPTWITNESS: 0x08,
  RIPEMD160: 0x0a,
  SHA256: 0x0b,
  HASH160: 0x0c,
  HASH256: 0x0d,
  PREVIOUS_TXID: 0x0e,
  OUTPUT_INDEX: 0x0f,
  SEQUENCE: 0x10,
  REQUIRED_TIME_LOCKTIME: 0x11,
  REQUIRED_HEIGHT_LOCKTIME: 0x12,
  TAP_KEY_SIG: 0x13,
  TAP_SCRIPT_SIG: 0x14,
  TAP_LEAF_SCRIPT: 0x15,
  TAP_BIP32_DERIVATION: 0x16,
  TAP_INTERNAL_KEY: 0x17,
  TAP_MERKLE_ROOT: 0x18,
} as const;
/** Output key types (BIP-174, BIP-370, BIP-371). */
const O = { REDEEM_SCRIPT: 0x00, WITNESS_SCRIPT: 0x01, BIP32_DERIVATION: 0x02, AMOUNT: 0x03, SCRIPT: 0x04, TAP_INTERNAL_KEY: 0x05, TAP_TREE: 0x06, TAP_BIP32_DERIVATION: 0x07 } as const;

const LOCKTIME_THRESHOLD = 500_000_000;

function fail(code: string, message: string, details?: Record<string, unknown>): never {
  throw new InvalidPsbtError(code, message, details === undefined ? {} : { details });
}

// ---------------------------------------------------------------------------------------------
// Input decoding: bytes, hex or base64 text

function isMagic(b: Uint8Array): boolean {
  return b.length >= 5 && b[0] === 0x70 && b[1] === 0x73 && b[2] === 0x62 && b[3] === 0x74 && b[4] === 0xff;
}

/**
 * Bytes of a PSBT given as raw bytes, hex or base64 (text or the bytes of such text, e.g. a file).
 * @throws InvalidPsbtError `psbt.invalid_encoding`
 */
export function decodePsbtBytes(input: Uint8Array | string): Uint8Array {
  if (input instanceof Uint8Array) {
    if (isMagic(input)) return input;
    // A .psbt file may hold the base64 or hex text instead of the binary.
    const head = String.fromCharCode(...input.subarray(0, 10));
    if (head.startsWith('cHNidP') || head.toLowerCase().startsWith('70736274ff')) return decodePsbtBytes(new TextDecoder().decode(input));
    return input;
  }
  if (typeof input !== 'string') fail('psbt.invalid_encoding', 'a PSBT must be bytes, hex or base64 text');
  const text = input.trim();
  // Base64 PSBTs start with "cHNidP", which is not hex: any all-hex text is taken as hex.
  if (/^[0-9a-fA-F]+$/.test(text)) {
    if (text.length % 2 !== 0) fail('psbt.invalid_encoding', 'PSBT hex has an odd number of characters');
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  const compact = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  const fast = fastBase64(compact);
  if (fast !== undefined) return fast;
  try {
    return base64.decode(compact);
  } catch (cause) {
    throw new InvalidPsbtError('psbt.invalid_encoding', 'PSBT text is neither hex nor valid base64', {
      cause,
      hint: 'pass the PSBT as raw bytes, hex (starting 70736274ff) or base64 (starting cHNidP)',
    });
  }
}

/**
 * Node's native base64 decoder, where there is one: ~10x faster than @scure/base on a PSBT (the
 * coordinator decodes one per submission). It is lenient (it skips characters it does not know), so
 * its result counts only when it encodes back to exactly the text given, i.e. the text was canonical
 * base64; anything else goes to @scure/base's strict decoder, which accepts or refuses it as before.
 */
function fastBase64(text: string): Uint8Array | undefined {
  const B = (globalThis as { Buffer?: { from(s: string, enc: 'base64'): Uint8Array & { toString(enc: 'base64'): string } } }).Buffer;
  if (B === undefined) return undefined;
  const bytes = B.from(text, 'base64');
  // A copy: small Buffers are slices of a shared pool, and the parsed model keeps views into its bytes.
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Key-value maps

interface Entry {
  readonly type: number;
  readonly keyData: Uint8Array;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

function readMap(r: ByteReader, where: string): Entry[] {
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (;;) {
    if (r.done) fail('psbt.truncated', `PSBT ends inside the ${where} (no separator)`, { where });
    const keyLen = r.compactSize(`a key length in ${where}`);
    if (keyLen === 0) return entries;
    const key = r.take(keyLen, `a key in ${where}`);
    let type = key[0]!;
    let keyData = key.subarray(1);
    if (type >= 0xfd) {
      const kr = new ByteReader(key, 'psbt');
      type = kr.compactSize('a key type');
      keyData = key.subarray(kr.pos);
    }
    const value = r.varBytes(`a value in ${where}`);
    const id = toHex(key);
    if (seen.has(id)) fail('psbt.duplicate_key', `duplicate key ${id} in ${where}`, { where, key: id });
    seen.add(id);
    entries.push({ type, keyData, key, value });
  }
}

function noKeyData(e: Entry, name: string, where: string): void {
  if (e.keyData.length !== 0) fail('psbt.invalid_key', `${name} key in ${where} must be 1 byte, got ${String(e.key.length)}`, { where, key: toHex(e.key) });
}

function keyDataLength(e: Entry, lengths: readonly number[], name: string, where: string): void {
  if (!lengths.includes(e.keyData.length)) {
    fail('psbt.invalid_key', `${name} key data in ${where} must be ${lengths.join(' or ')} bytes, got ${String(e.keyData.length)}`, { where, key: toHex(e.key) });
  }
}

function valueLength(e: Entry, lengths: readonly number[], name: string, where: string): void {
  if (!lengths.includes(e.value.length)) {
    fail('psbt.invalid_value', `${name} value in ${where} must be ${lengths.join(' or ')} bytes, got ${String(e.value.length)}`, { where });
  }
}

function u32le(b: Uint8Array, off = 0): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function isPubkeyShape(p: Uint8Array): boolean {
  return (p.length === 33 && (p[0] === 2 || p[0] === 3)) || (p.length === 65 && p[0] === 4);
}

function pubkeyKey(e: Entry, name: string, where: string): Uint8Array {
  if (!isPubkeyShape(e.keyData)) {
    fail('psbt.invalid_key', `${name} key in ${where} does not hold a 33- or 65-byte public key (got ${String(e.keyData.length)} bytes)`, { where, key: toHex(e.key) });
  }
  return e.keyData;
}

function readOrigin(v: Uint8Array, where: string): { fingerprint: string; path: number[] } {
  if (v.length < 4 || v.length % 4 !== 0) fail('psbt.invalid_value', `key origin in ${where} must be 4 + 4n bytes, got ${String(v.length)}`, { where });
  const path: number[] = [];
  for (let off = 4; off < v.length; off += 4) path.push(u32le(v, off));
  return { fingerprint: toHex(v.subarray(0, 4)), path };
}

function writeOrigin(w: ByteWriter, fingerprint: string, path: readonly number[]): void {
  w.bytes(fingerprintBytes(fingerprint));
  for (const p of path) w.u32(p);
}

/** 4 bytes of an 8-hex-character fingerprint. */
export function fingerprintBytes(fp: string): Uint8Array {
  if (!/^[0-9a-fA-F]{8}$/.test(fp)) fail('psbt.invalid_fingerprint', `fingerprint '${fp}' is not 8 hex characters`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = parseInt(fp.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function readExact<T>(bytes: Uint8Array, what: string, where: string, fn: (r: ByteReader) => T): T {
  const r = new ByteReader(bytes, 'psbt');
  let out: T;
  try {
    out = fn(r);
  } catch (e) {
    if (e instanceof InvalidPsbtError && e.code === 'psbt.truncated') fail('psbt.invalid_value', `${what} in ${where} is shorter than its contents claim`, { where });
    throw e;
  }
  if (!r.done) fail('psbt.invalid_value', `${what} in ${where} has ${String(r.remaining)} extra bytes`, { where });
  return out;
}

function readTxOutput(v: Uint8Array, where: string): TxOutput {
  return readExact(v, 'witness UTXO', where, (r) => {
    const amount = r.u64('an amount');
    const script = r.varBytes('a script');
    return { amount, script };
  });
}

function readWitnessStack(v: Uint8Array, where: string): Uint8Array[] {
  return readExact(v, 'final script witness', where, (r) => {
    const n = r.compactSize('a witness item count');
    if (n > r.remaining) fail('psbt.invalid_value', `final script witness in ${where} declares ${String(n)} items in ${String(r.remaining)} bytes`, { where });
    const items: Uint8Array[] = [];
    for (let i = 0; i < n; i++) items.push(r.varBytes('a witness item'));
    return items;
  });
}

function readTapBip32(e: Entry, where: string): TapBip32Derivation {
  keyDataLength(e, [32], 'taproot BIP-32 derivation', where);
  return readExact(e.value, 'taproot BIP-32 derivation', where, (r) => {
    const n = r.compactSize('a leaf hash count');
    if (n * 32 > r.remaining) fail('psbt.invalid_value', `taproot BIP-32 derivation in ${where} declares ${String(n)} leaf hashes in ${String(r.remaining)} bytes`, { where });
    const leafHashes: Uint8Array[] = [];
    for (let i = 0; i < n; i++) leafHashes.push(r.take(32));
    const origin = readOrigin(r.take(r.remaining), where);
    return { pubkey: e.keyData, leafHashes, ...origin };
  });
}

function writeTapBip32Value(d: TapBip32Derivation): Uint8Array {
  const w = new ByteWriter(8 + d.leafHashes.length * 32 + d.path.length * 4);
  w.compactSize(d.leafHashes.length);
  for (const h of d.leafHashes) w.bytes(h);
  writeOrigin(w, d.fingerprint, d.path);
  return w.finish();
}

function readTapTree(v: Uint8Array, where: string): TapTreeLeaf[] {
  return readExact(v, 'taproot tree', where, (r) => {
    const leaves: TapTreeLeaf[] = [];
    while (!r.done) {
      const depth = r.u8('a leaf depth');
      const leafVersion = r.u8('a leaf version');
      const script = r.varBytes('a leaf script');
      if (depth > 128) fail('psbt.invalid_value', `taproot tree leaf depth ${String(depth)} exceeds 128`, { where });
      if ((leafVersion & 1) !== 0) fail('psbt.invalid_value', `taproot tree leaf version 0x${leafVersion.toString(16)} is odd`, { where });
      leaves.push({ depth, leafVersion, script });
    }
    if (leaves.length === 0) fail('psbt.invalid_value', `taproot tree in ${where} is empty`, { where });
    assertCompleteTree(leaves, where);
    return leaves;
  });
}

// BIP-371: the leaves, depth first, must form a complete binary tree (as Bitcoin Core's TaprootBuilder checks).
function assertCompleteTree(leaves: readonly TapTreeLeaf[], where: string): void {
  const stack: number[] = [];
  for (const leaf of leaves) {
    let d = leaf.depth;
    while (stack.length > 0 && stack[stack.length - 1] === d) {
      stack.pop();
      if (d === 0) fail('psbt.invalid_value', `taproot tree in ${where} is not a valid tree`, { where });
      d -= 1;
    }
    stack.push(d);
  }
  if (stack.length !== 1 || stack[0] !== 0) fail('psbt.invalid_value', `taproot tree in ${where} is incomplete`, { where });
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface V2InputFields {
  prevTxid?: string;
  outputIndex?: number;
  sequence?: number;
  requiredTime?: number;
  requiredHeight?: number;
}

function parseInputMap(entries: readonly Entry[], index: number, psbtVersion: number): { input: PsbtInput; v2: V2InputFields } {
  const where = `input ${String(index)}`;
  const input: Mutable<PsbtInput> = { ...EMPTY_INPUT };
  const partialSigs: PartialSig[] = [];
  const bip32: Bip32Derivation[] = [];
  const pre: Record<'ripemd160' | 'sha256' | 'hash160' | 'hash256', HashPreimage[]> = { ripemd160: [], sha256: [], hash160: [], hash256: [] };
  const tapScriptSigs: TapScriptSig[] = [];
  const tapLeafScripts: TapLeafScript[] = [];
  const tapBip32: TapBip32Derivation[] = [];
  const unknown: PsbtKeyValue[] = [];
  const v2: V2InputFields = {};
  const onlyV2 = (e: Entry, name: string): void => {
    if (psbtVersion < 2) fail('psbt.field_not_allowed', `${name} in ${where} is a PSBT version 2 field, not allowed in version ${String(psbtVersion)}`, { where, key: toHex(e.key) });
    noKeyData(e, name, where);
  };
  for (const e of entries) {
    switch (e.type) {
      case I.NON_WITNESS_UTXO: {
        noKeyData(e, 'non-witness UTXO', where);
        parseNonWitnessUtxo(e.value, index);
        input.nonWitnessUtxo = e.value;
        break;
      }
      case I.WITNESS_UTXO:
        noKeyData(e, 'witness UTXO', where);
        input.witnessUtxo = readTxOutput(e.value, where);
        break;
      case I.PARTIAL_SIG:
        partialSigs.push({ pubkey: pubkeyKey(e, 'partial signature', where), signature: e.value });
        break;
      case I.SIGHASH_TYPE:
        noKeyData(e, 'sighash type', where);
        valueLength(e, [4], 'sighash type', where);
        input.sighashType = u32le(e.value);
        break;
      case I.REDEEM_SCRIPT:
        noKeyData(e, 'redeem script', where);
        input.redeemScript = e.value;
        break;
      case I.WITNESS_SCRIPT:
        noKeyData(e, 'witness script', where);
        input.witnessScript = e.value;
        break;
      case I.BIP32_DERIVATION:
        bip32.push({ pubkey: pubkeyKey(e, 'BIP-32 derivation', where), ...readOrigin(e.value, where) });
        break;
      case I.FINAL_SCRIPTSIG:
        noKeyData(e, 'final scriptSig', where);
        input.finalScriptSig = e.value;
        break;
      case I.FINAL_SCRIPTWITNESS:
        noKeyData(e, 'final script witness', where);
        input.finalScriptWitness = readWitnessStack(e.value, where);
        break;
      case I.RIPEMD160:
      case I.SHA256:
      case I.HASH160:
      case I.HASH256: {
        const kind = e.type === I.RIPEMD160 ? 'ripemd160' : e.type === I.SHA256 ? 'sha256' : e.type === I.HASH160 ? 'hash160' : 'hash256';
        keyDataLength(e, [kind === 'ripemd160' || kind === 'hash160' ? 20 : 32], `${kind} preimage`, where);
        const fn = kind === 'ripemd160' ? ripemd160Hash : kind === 'sha256' ? sha256 : kind === 'hash160' ? hash160 : hash256;
        if (toHex(fn(e.value)) !== toHex(e.keyData)) fail('psbt.invalid_value', `${kind} preimage in ${where} does not hash to its key`, { where });
        pre[kind].push({ hash: e.keyData, preimage: e.value });
        break;
      }
      case I.PREVIOUS_TXID:
        onlyV2(e, 'PSBT_IN_PREVIOUS_TXID');
        valueLength(e, [32], 'previous txid', where);
        v2.prevTxid = bytesToTxid(e.value);
        break;
      case I.OUTPUT_INDEX:
        onlyV2(e, 'PSBT_IN_OUTPUT_INDEX');
        valueLength(e, [4], 'output index', where);
        v2.outputIndex = u32le(e.value);
        break;
      case I.SEQUENCE:
        onlyV2(e, 'PSBT_IN_SEQUENCE');
        valueLength(e, [4], 'sequence', where);
        v2.sequence = u32le(e.value);
        break;
      case I.REQUIRED_TIME_LOCKTIME: {
        onlyV2(e, 'PSBT_IN_REQUIRED_TIME_LOCKTIME');
        valueLength(e, [4], 'required time locktime', where);
        const t = u32le(e.value);
        if (t < LOCKTIME_THRESHOLD) fail('psbt.invalid_value', `required time locktime ${String(t)} in ${where} is below 500000000 (that is a height)`, { where });
        v2.requiredTime = t;
        break;
      }
      case I.REQUIRED_HEIGHT_LOCKTIME: {
        onlyV2(e, 'PSBT_IN_REQUIRED_HEIGHT_LOCKTIME');
        valueLength(e, [4], 'required height locktime', where);
        const h = u32le(e.value);
        if (h === 0 || h >= LOCKTIME_THRESHOLD) fail('psbt.invalid_value', `required height locktime ${String(h)} in ${where} must be in 1..499999999`, { where });
        v2.requiredHeight = h;
        break;
      }
      case I.TAP_KEY_SIG:
        noKeyData(e, 'taproot key signature', where);
        valueLength(e, [64, 65], 'taproot key signature', where);
        input.tapKeySig = e.value;
        break;
      case I.TAP_SCRIPT_SIG:
        keyDataLength(e, [64], 'taproot script signature', where);
        valueLength(e, [64, 65], 'taproot script signature', where);
        tapScriptSigs.push({ pubkey: e.keyData.subarray(0, 32), leafHash: e.keyData.subarray(32, 64), signature: e.value });
        break;
      case I.TAP_LEAF_SCRIPT: {
        const cb = e.keyData;
        if (cb.length < 33 || (cb.length - 33) % 32 !== 0 || cb.length > 33 + 128 * 32) {
          fail('psbt.invalid_key', `taproot leaf script control block in ${where} must be 33 + 32m bytes (m <= 128), got ${String(cb.length)}`, { where, key: toHex(e.key) });
        }
        if (e.value.length < 1) fail('psbt.invalid_value', `taproot leaf script in ${where} is empty (needs at least the leaf version)`, { where });
        tapLeafScripts.push({ controlBlock: cb, script: e.value.subarray(0, -1), leafVersion: e.value[e.value.length - 1]! });
        break;
      }
      case I.TAP_BIP32_DERIVATION:
        tapBip32.push(readTapBip32(e, where));
        break;
      case I.TAP_INTERNAL_KEY:
        noKeyData(e, 'taproot internal key', where);
        valueLength(e, [32], 'taproot internal key', where);
        input.tapInternalKey = e.value;
        break;
      case I.TAP_MERKLE_ROOT:
        noKeyData(e, 'taproot merkle root', where);
        valueLength(e, [32], 'taproot merkle root', where);
        input.tapMerkleRoot = e.value;
        break;
      default:
        unknown.push({ key: e.key, value: e.value });
    }
  }
  input.partialSigs = partialSigs;
  input.bip32Derivation = bip32;
  input.ripemd160Preimages = pre.ripemd160;
  input.sha256Preimages = pre.sha256;
  input.hash160Preimages = pre.hash160;
  input.hash256Preimages = pre.hash256;
  input.tapScriptSigs = tapScriptSigs;
  input.tapLeafScripts = tapLeafScripts;
  input.tapBip32Derivation = tapBip32;
  input.unknown = unknown;
  return { input, v2 };
}

function parseOutputMap(entries: readonly Entry[], index: number, psbtVersion: number): { output: PsbtOutput; amount?: bigint; script?: Uint8Array } {
  const where = `output ${String(index)}`;
  const output: Mutable<PsbtOutput> = { bip32Derivation: [], tapBip32Derivation: [], unknown: [] };
  const bip32: Bip32Derivation[] = [];
  const tapBip32: TapBip32Derivation[] = [];
  const unknown: PsbtKeyValue[] = [];
  let amount: bigint | undefined;
  let script: Uint8Array | undefined;
  for (const e of entries) {
    switch (e.type) {
      case O.REDEEM_SCRIPT:
        noKeyData(e, 'redeem script', where);
        output.redeemScript = e.value;
        break;
      case O.WITNESS_SCRIPT:
        noKeyData(e, 'witness script', where);
        output.witnessScript = e.value;
        break;
      case O.BIP32_DERIVATION:
        bip32.push({ pubkey: pubkeyKey(e, 'BIP-32 derivation', where), ...readOrigin(e.value, where) });
        break;
      case O.AMOUNT: {
        if (psbtVersion < 2) fail('psbt.field_not_allowed', `PSBT_OUT_AMOUNT in ${where} is a PSBT version 2 field`, { where });
        noKeyData(e, 'amount', where);
        valueLength(e, [8], 'amount', where);
        const v = new DataView(e.value.buffer, e.value.byteOffset, 8).getBigInt64(0, true);
        if (v < 0n) fail('psbt.invalid_value', `output amount ${v} in ${where} is negative`, { where });
        amount = v;
        break;
      }
      case O.SCRIPT:
        if (psbtVersion < 2) fail('psbt.field_not_allowed', `PSBT_OUT_SCRIPT in ${where} is a PSBT version 2 field`, { where });
        noKeyData(e, 'script', where);
        script = e.value;
        break;
      case O.TAP_INTERNAL_KEY:
        noKeyData(e, 'taproot internal key', where);
        valueLength(e, [32], 'taproot internal key', where);
        output.tapInternalKey = e.value;
        break;
      case O.TAP_TREE:
        noKeyData(e, 'taproot tree', where);
        output.tapTree = readTapTree(e.value, where);
        break;
      case O.TAP_BIP32_DERIVATION:
        tapBip32.push(readTapBip32(e, where));
        break;
      default:
        unknown.push({ key: e.key, value: e.value });
    }
  }
  output.bip32Derivation = bip32;
  output.tapBip32Derivation = tapBip32;
  output.unknown = unknown;
  return { output, ...(amount === undefined ? {} : { amount }), ...(script === undefined ? {} : { script }) };
}

/**
 * BIP-370 locktime determination: the lock type every input with a requirement accepts
 * (height when both are possible), at its maximum; else the fallback locktime (default 0).
 * @throws InvalidPsbtError `psbt.locktime_conflict` when inputs require different lock types
 */
export function determineLocktime(inputs: readonly { requiredTime?: number; requiredHeight?: number }[], fallback = 0): number {
  const constrained = inputs.filter((i) => i.requiredTime !== undefined || i.requiredHeight !== undefined);
  if (constrained.length === 0) return fallback;
  const heightOk = constrained.every((i) => i.requiredHeight !== undefined);
  const timeOk = constrained.every((i) => i.requiredTime !== undefined);
  if (heightOk) return Math.max(...constrained.map((i) => i.requiredHeight!));
  if (timeOk) return Math.max(...constrained.map((i) => i.requiredTime!));
  fail('psbt.locktime_conflict', 'inputs require both a height-based and a time-based locktime; no single locktime satisfies all of them');
}

function parseGlobal(entries: readonly Entry[]): {
  global: PsbtGlobal;
  psbtVersion: number;
  tx?: Transaction;
  txVersion?: number;
  fallbackLocktime?: number;
  inputCount?: number;
  outputCount?: number;
} {
  const where = 'the global map';
  let psbtVersion = 0;
  let versionField: number | undefined;
  const versionEntry = entries.find((e) => e.type === G.VERSION);
  if (versionEntry !== undefined) {
    noKeyData(versionEntry, 'PSBT version', where);
    valueLength(versionEntry, [4], 'PSBT version', where);
    psbtVersion = u32le(versionEntry.value);
    versionField = psbtVersion;
    if (psbtVersion !== 0 && psbtVersion !== 2) {
      fail('psbt.version', `PSBT version ${String(psbtVersion)} is not supported (only 0 and 2)`, { version: psbtVersion });
    }
  }
  const xpubs: GlobalXpub[] = [];
  const unknown: PsbtKeyValue[] = [];
  let tx: Transaction | undefined;
  let txVersion: number | undefined;
  let fallbackLocktime: number | undefined;
  let inputCount: number | undefined;
  let outputCount: number | undefined;
  const onlyV2 = (e: Entry, name: string): void => {
    if (psbtVersion !== 2) fail('psbt.field_not_allowed', `${name} is a PSBT version 2 field, not allowed in version ${String(psbtVersion)}`, { key: toHex(e.key) });
    noKeyData(e, name, where);
  };
  const compactValue = (e: Entry, name: string): number => readExact(e.value, name, where, (r) => r.compactSize(name));
  for (const e of entries) {
    switch (e.type) {
      case G.UNSIGNED_TX: {
        noKeyData(e, 'unsigned transaction', where);
        if (psbtVersion === 2) fail('psbt.field_not_allowed', 'PSBT_GLOBAL_UNSIGNED_TX is not allowed in PSBT version 2');
        // BIP-174: the unsigned transaction is in the network serialization without witness.
        tx = readExact(e.value, 'unsigned transaction', where, (r) => readTransaction(r, { allowWitness: false, area: 'psbt' }));
        if (tx.inputs.some((i) => i.scriptSig.length > 0 || i.witness.length > 0)) {
          fail('psbt.unsigned_tx_not_empty', 'the unsigned transaction has a non-empty scriptSig or witness');
        }
        break;
      }
      case G.XPUB: {
        if (e.keyData.length !== 78) fail('psbt.invalid_key', `global xpub key data must be 78 bytes, got ${String(e.keyData.length)}`, { key: toHex(e.key) });
        if (!isPubkeyShape(e.keyData.subarray(45))) fail('psbt.invalid_key', 'global xpub does not hold a valid compressed public key', { key: toHex(e.key) });
        xpubs.push({ extendedKey: e.keyData, ...readOrigin(e.value, where) });
        break;
      }
      case G.TX_VERSION:
        onlyV2(e, 'PSBT_GLOBAL_TX_VERSION');
        valueLength(e, [4], 'transaction version', where);
        txVersion = u32le(e.value);
        break;
      case G.FALLBACK_LOCKTIME:
        onlyV2(e, 'PSBT_GLOBAL_FALLBACK_LOCKTIME');
        valueLength(e, [4], 'fallback locktime', where);
        fallbackLocktime = u32le(e.value);
        break;
      case G.INPUT_COUNT:
        onlyV2(e, 'PSBT_GLOBAL_INPUT_COUNT');
        inputCount = compactValue(e, 'input count');
        break;
      case G.OUTPUT_COUNT:
        onlyV2(e, 'PSBT_GLOBAL_OUTPUT_COUNT');
        outputCount = compactValue(e, 'output count');
        break;
      case G.TX_MODIFIABLE:
        onlyV2(e, 'PSBT_GLOBAL_TX_MODIFIABLE');
        valueLength(e, [1], 'tx modifiable flags', where);
        break;
      case G.VERSION:
        break;
      default:
        unknown.push({ key: e.key, value: e.value });
    }
  }
  // Version 2 converts to a version 0 model, which does not carry PSBT_GLOBAL_VERSION.
  const global: PsbtGlobal = { xpubs, unknown, ...(versionField !== undefined && psbtVersion === 0 ? { version: versionField } : {}) };
  return {
    global,
    psbtVersion,
    ...(tx === undefined ? {} : { tx }),
    ...(txVersion === undefined ? {} : { txVersion }),
    ...(fallbackLocktime === undefined ? {} : { fallbackLocktime }),
    ...(inputCount === undefined ? {} : { inputCount }),
    ...(outputCount === undefined ? {} : { outputCount }),
  };
}

/**
 * Parses a PSBT (version 0, or version 2 converted to the version 0 model) from raw bytes,
 * hex or base64.
 * @throws InvalidPsbtError with codes `psbt.invalid_encoding`, `psbt.bad_magic`, `psbt.truncated`,
 *   `psbt.trailing_data`, `psbt.duplicate_key`, `psbt.invalid_key`, `psbt.invalid_value`,
 *   `psbt.version`, `psbt.field_not_allowed`, `psbt.missing_field`, `psbt.missing_unsigned_tx`,
 *   `psbt.unsigned_tx_not_empty`, `psbt.prev_tx_mismatch`, `psbt.locktime_conflict`,
 *   `psbt.non_canonical`, `psbt.too_large`
 * @example parsePsbt('cHNidP8BAH...')
 */
export function parsePsbt(input: Uint8Array | string): Psbt {
  // One private copy: every byte string of the model is a view into it, so later changes to the
  // caller's buffer cannot reach the model (and parsing allocates far less).
  const bytes = input instanceof Uint8Array ? decodePsbtBytes(input).slice() : decodePsbtBytes(input);
  if (!isMagic(bytes)) fail('psbt.bad_magic', 'not a PSBT: the data does not start with the magic bytes 70 73 62 74 ff');
  const r = new ByteReader(bytes, 'psbt');
  r.pos = MAGIC.length;
  const g = parseGlobal(readMap(r, 'global map'));
  let unsigned: UnsignedTx;
  let inputCount: number;
  let outputCount: number;
  if (g.psbtVersion === 0) {
    if (g.tx === undefined) fail('psbt.missing_unsigned_tx', 'PSBT version 0 without PSBT_GLOBAL_UNSIGNED_TX');
    unsigned = {
      version: g.tx.version,
      locktime: g.tx.locktime,
      inputs: g.tx.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sequence: i.sequence })),
      outputs: g.tx.outputs,
    };
    inputCount = g.tx.inputs.length;
    outputCount = g.tx.outputs.length;
  } else {
    if (g.txVersion === undefined) fail('psbt.missing_field', 'PSBT version 2 without PSBT_GLOBAL_TX_VERSION');
    if (g.inputCount === undefined) fail('psbt.missing_field', 'PSBT version 2 without PSBT_GLOBAL_INPUT_COUNT');
    if (g.outputCount === undefined) fail('psbt.missing_field', 'PSBT version 2 without PSBT_GLOBAL_OUTPUT_COUNT');
    unsigned = { version: g.txVersion, locktime: 0, inputs: [], outputs: [] };
    inputCount = g.inputCount;
    outputCount = g.outputCount;
  }
  // Every map is at least its separator byte: reject absurd counts before allocating.
  if (inputCount + outputCount > r.remaining) {
    fail('psbt.truncated', `PSBT declares ${String(inputCount)} inputs and ${String(outputCount)} outputs but only ${String(r.remaining)} bytes remain`);
  }
  const inputs: PsbtInput[] = [];
  const v2Inputs: V2InputFields[] = [];
  for (let i = 0; i < inputCount; i++) {
    const { input, v2 } = parseInputMap(readMap(r, `input ${String(i)} map`), i, g.psbtVersion);
    inputs.push(input);
    v2Inputs.push(v2);
  }
  const outputs: PsbtOutput[] = [];
  const v2Outputs: TxOutput[] = [];
  for (let i = 0; i < outputCount; i++) {
    const { output, amount, script } = parseOutputMap(readMap(r, `output ${String(i)} map`), i, g.psbtVersion);
    outputs.push(output);
    if (g.psbtVersion === 2) {
      if (amount === undefined) fail('psbt.missing_field', `PSBT version 2 output ${String(i)} without PSBT_OUT_AMOUNT`);
      if (script === undefined) fail('psbt.missing_field', `PSBT version 2 output ${String(i)} without PSBT_OUT_SCRIPT`);
      v2Outputs.push({ amount, script });
    }
  }
  if (!r.done) fail('psbt.trailing_data', `${String(r.remaining)} unexpected bytes after the last output map`);
  if (g.psbtVersion === 2) {
    const txInputs: UnsignedTxInput[] = v2Inputs.map((v, i) => {
      if (v.prevTxid === undefined) fail('psbt.missing_field', `PSBT version 2 input ${String(i)} without PSBT_IN_PREVIOUS_TXID`);
      if (v.outputIndex === undefined) fail('psbt.missing_field', `PSBT version 2 input ${String(i)} without PSBT_IN_OUTPUT_INDEX`);
      return { txid: v.prevTxid, vout: v.outputIndex, sequence: v.sequence ?? 0xffffffff };
    });
    unsigned = { version: unsigned.version, locktime: determineLocktime(v2Inputs, g.fallbackLocktime ?? 0), inputs: txInputs, outputs: v2Outputs };
  }
  const psbt: Psbt = { tx: unsigned, global: g.global, inputs, outputs };
  assertUtxosMatchOutpoints(psbt);
  return psbt;
}

/**
 * Checks every non-witness UTXO hashes to its input's txid and has the spent output (as
 * Bitcoin Core does when it reads a PSBT).
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch`
 */
function assertUtxosMatchOutpoints(psbt: Psbt): void {
  psbt.inputs.forEach((input, i) => {
    if (input.nonWitnessUtxo === undefined) return;
    const txin = psbt.tx.inputs[i]!;
    const { tx: prev, txid } = parsedPrevTx(input.nonWitnessUtxo, i);
    if (txid !== txin.txid) {
      fail('psbt.prev_tx_mismatch', `input ${String(i)}: non-witness UTXO has txid ${txid}, the input spends ${txin.txid}`, { input: i, expected: txin.txid, actual: txid });
    }
    if (txin.vout >= prev.outputs.length) {
      fail('psbt.prev_tx_mismatch', `input ${String(i)} spends output ${String(txin.vout)} but its previous transaction has ${String(prev.outputs.length)} outputs`, { input: i });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Serialization

function writeKey(w: ByteWriter, type: number, keyData?: Uint8Array): void {
  const kd = keyData?.length ?? 0;
  w.compactSize(compactSizeLength(type) + kd).compactSize(type);
  if (keyData !== undefined) w.bytes(keyData);
}

function writePair(w: ByteWriter, type: number, keyData: Uint8Array | undefined, value: Uint8Array): void {
  writeKey(w, type, keyData);
  w.varBytes(value);
}

function originValue(fingerprint: string, path: readonly number[]): Uint8Array {
  const w = new ByteWriter(4 + path.length * 4);
  writeOrigin(w, fingerprint, path);
  return w.finish();
}

function u32Value(v: number): Uint8Array {
  return new ByteWriter(4).u32(v).finish();
}

function writeUnknown(w: ByteWriter, unknown: readonly PsbtKeyValue[]): void {
  for (const kv of unknown) {
    w.varBytes(kv.key);
    w.varBytes(kv.value);
  }
}

/** Serialized unsigned transaction (legacy format, as PSBT_GLOBAL_UNSIGNED_TX holds it). */
export function serializeUnsignedTx(tx: UnsignedTx): Uint8Array {
  return serializeTransaction(
    { version: tx.version, locktime: tx.locktime, outputs: tx.outputs, inputs: tx.inputs.map((i) => ({ ...i, scriptSig: new Uint8Array(0), witness: [] })) },
    { witness: false },
  );
}

function writeInput(w: ByteWriter, input: PsbtInput): void {
  if (input.nonWitnessUtxo !== undefined) writePair(w, I.NON_WITNESS_UTXO, undefined, input.nonWitnessUtxo);
  if (input.witnessUtxo !== undefined) {
    writeKey(w, I.WITNESS_UTXO);
    const s = input.witnessUtxo.script;
    w.compactSize(8 + compactSizeLength(s.length) + s.length).u64(input.witnessUtxo.amount).varBytes(s);
  }
  for (const s of input.partialSigs) writePair(w, I.PARTIAL_SIG, s.pubkey, s.signature);
  if (input.sighashType !== undefined) writePair(w, I.SIGHASH_TYPE, undefined, u32Value(input.sighashType));
  if (input.redeemScript !== undefined) writePair(w, I.REDEEM_SCRIPT, undefined, input.redeemScript);
  if (input.witnessScript !== undefined) writePair(w, I.WITNESS_SCRIPT, undefined, input.witnessScript);
  for (const d of input.bip32Derivation) writePair(w, I.BIP32_DERIVATION, d.pubkey, originValue(d.fingerprint, d.path));
  for (const p of input.ripemd160Preimages) writePair(w, I.RIPEMD160, p.hash, p.preimage);
  for (const p of input.sha256Preimages) writePair(w, I.SHA256, p.hash, p.preimage);
  for (const p of input.hash160Preimages) writePair(w, I.HASH160, p.hash, p.preimage);
  for (const p of input.hash256Preimages) writePair(w, I.HASH256, p.hash, p.preimage);
  if (input.tapKeySig !== undefined) writePair(w, I.TAP_KEY_SIG, undefined, input.tapKeySig);
  for (const s of input.tapScriptSigs) {
    writeKey(w, I.TAP_SCRIPT_SIG, new Uint8Array([...s.pubkey, ...s.leafHash]));
    w.varBytes(s.signature);
  }
  for (const l of input.tapLeafScripts) {
    writeKey(w, I.TAP_LEAF_SCRIPT, l.controlBlock);
    w.compactSize(l.script.length + 1).bytes(l.script).u8(l.leafVersion);
  }
  for (const d of input.tapBip32Derivation) writePair(w, I.TAP_BIP32_DERIVATION, d.pubkey, writeTapBip32Value(d));
  if (input.tapInternalKey !== undefined) writePair(w, I.TAP_INTERNAL_KEY, undefined, input.tapInternalKey);
  if (input.tapMerkleRoot !== undefined) writePair(w, I.TAP_MERKLE_ROOT, undefined, input.tapMerkleRoot);
  if (input.finalScriptSig !== undefined) writePair(w, I.FINAL_SCRIPTSIG, undefined, input.finalScriptSig);
  if (input.finalScriptWitness !== undefined) {
    const ww = new ByteWriter(256);
    ww.compactSize(input.finalScriptWitness.length);
    for (const item of input.finalScriptWitness) ww.varBytes(item);
    writePair(w, I.FINAL_SCRIPTWITNESS, undefined, ww.finish());
  }
  writeUnknown(w, input.unknown);
  w.u8(0);
}

function writeOutputMap(w: ByteWriter, output: PsbtOutput): void {
  if (output.redeemScript !== undefined) writePair(w, O.REDEEM_SCRIPT, undefined, output.redeemScript);
  if (output.witnessScript !== undefined) writePair(w, O.WITNESS_SCRIPT, undefined, output.witnessScript);
  for (const d of output.bip32Derivation) writePair(w, O.BIP32_DERIVATION, d.pubkey, originValue(d.fingerprint, d.path));
  if (output.tapInternalKey !== undefined) writePair(w, O.TAP_INTERNAL_KEY, undefined, output.tapInternalKey);
  if (output.tapTree !== undefined) {
    const tw = new ByteWriter(64);
    for (const l of output.tapTree) tw.u8(l.depth).u8(l.leafVersion).varBytes(l.script);
    writePair(w, O.TAP_TREE, undefined, tw.finish());
  }
  for (const d of output.tapBip32Derivation) writePair(w, O.TAP_BIP32_DERIVATION, d.pubkey, writeTapBip32Value(d));
  writeUnknown(w, output.unknown);
  w.u8(0);
}

/**
 * Serializes a PSBT (BIP-174 version 0).
 * @throws InvalidPsbtError `psbt.count_mismatch` when the input/output maps do not match the transaction
 */
export function serializePsbt(psbt: Psbt): Uint8Array {
  const { tx } = psbt;
  if (psbt.inputs.length !== tx.inputs.length || psbt.outputs.length !== tx.outputs.length) {
    fail('psbt.count_mismatch', `PSBT has ${String(psbt.inputs.length)}/${String(psbt.outputs.length)} input/output maps for a transaction with ${String(tx.inputs.length)}/${String(tx.outputs.length)}`);
  }
  const w = new ByteWriter(1024 + tx.inputs.length * 512);
  w.bytes(MAGIC);
  writePair(w, G.UNSIGNED_TX, undefined, serializeUnsignedTx(tx));
  for (const x of psbt.global.xpubs) writePair(w, G.XPUB, x.extendedKey, originValue(x.fingerprint, x.path));
  if (psbt.global.version !== undefined) writePair(w, G.VERSION, undefined, u32Value(psbt.global.version));
  writeUnknown(w, psbt.global.unknown);
  w.u8(0);
  for (const i of psbt.inputs) writeInput(w, i);
  for (const o of psbt.outputs) writeOutputMap(w, o);
  return w.finish();
}

/** Base64 text of a PSBT (the usual interchange form). */
export function psbtToBase64(psbt: Psbt): string {
  return base64.encode(serializePsbt(psbt));
}

/** Hex of a PSBT. */
export function psbtToHex(psbt: Psbt): string {
  return toHex(serializePsbt(psbt));
}

/** Internal byte order of an input's previous txid (for sighash and outpoint maps). */
export function outpointKey(txid: string, vout: number): string {
  return `${txid}:${String(vout)}`;
}

const prevTxCache = new WeakMap<Uint8Array, { readonly copy: Uint8Array; readonly tx: Transaction; readonly txid: string }>();

/**
 * A decoded nonWitnessUtxo and its txid, cached per byte array. A hit is used only while the
 * bytes still equal the copy taken when it was cached, so bytes changed in place are re-parsed.
 */
export function parsedPrevTx(bytes: Uint8Array, index: number): { readonly tx: Transaction; readonly txid: string } {
  let hit = prevTxCache.get(bytes);
  if (hit === undefined || !equalBytes(hit.copy, bytes)) {
    const tx = readExact(bytes, 'non-witness UTXO', `input ${String(index)}`, (r) => readTransaction(r, { area: 'psbt' }));
    hit = { copy: bytes.slice(), tx, txid: transactionId(tx) };
    prevTxCache.set(bytes, hit);
  }
  return hit;
}

/**
 * Decoded previous transaction of an input's nonWitnessUtxo.
 * @throws InvalidPsbtError `psbt.invalid_value`, `psbt.truncated` when it is not one transaction
 */
export function parseNonWitnessUtxo(bytes: Uint8Array, index: number): Transaction {
  return parsedPrevTx(bytes, index).tx;
}
