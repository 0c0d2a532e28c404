/**
 * Byte-level reading and writing for Bitcoin's wire formats (transactions, PSBT maps).
 * The reader throws typed {@link InvalidPsbtError}s (`<area>.truncated`, `<area>.non_canonical`)
 * so a malformed input never escapes as a RangeError.
 */
import { InvalidPsbtError } from '@mofn/core';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** Largest length prefix accepted anywhere (Bitcoin Core's MAX_SIZE, 32 MiB). */
export const MAX_COMPACT_SIZE = 0x02000000;

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/**
 * Bytes of a hex string.
 * @throws InvalidPsbtError `<area>.invalid_hex` when the text is not even-length hex
 */
export function fromHex(hex: string, area = 'tx'): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidPsbtError(`${area}.invalid_hex`, `'${hex.slice(0, 16)}${hex.length > 16 ? '...' : ''}' is not hex`);
  }
  return hexToBytes(hex);
}

/** Internal (little-endian) 32-byte hash of a display txid (big-endian hex). */
export function txidToBytes(txid: string): Uint8Array {
  if (txid.length !== 64) throw new InvalidPsbtError('tx.invalid_txid', `txid '${txid}' is not 64 hex characters`);
  return fromHex(txid, 'tx').reverse();
}

/** Display txid (big-endian hex) of an internal 32-byte hash. */
export function bytesToTxid(hash: Uint8Array): string {
  // Uint8Array.from copies even for a Buffer, whose slice() is a view: reversing it would edit the caller's bytes.
  return toHex(Uint8Array.from(hash).reverse());
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Serialized length of a CompactSize integer. */
export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Sequential reader over a byte array; errors carry the `area` prefix in their code. */
export class ByteReader {
  pos = 0;
  readonly bytes: Uint8Array;
  readonly area: string;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, area: string) {
    // A plain view of a Buffer: Buffer#slice shares memory, so subarrays handed out must be plain Uint8Arrays.
    this.bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.area = area;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new InvalidPsbtError(
        `${this.area}.truncated`,
        `${this.area === 'psbt' ? 'PSBT' : 'transaction'} ends early: needed ${String(n)} bytes for ${what} at offset ${String(this.pos)}, ${String(this.remaining)} left`,
        { details: { offset: this.pos, needed: n, remaining: this.remaining } },
      );
    }
  }

  u8(what = 'a byte'): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }

  u32(what = 'a 32-bit integer'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what = 'a 64-bit integer'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a CompactSize; rejects non-canonical encodings and values above {@link MAX_COMPACT_SIZE} (as Bitcoin Core). */
  compactSize(what = 'a length'): number {
    const first = this.u8(what);
    let v: number;
    let min: number;
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2, what);
      v = this.view.getUint16(this.pos, true);
      this.pos += 2;
      min = 0xfd;
    } else if (first === 0xfe) {
      v = this.u32(what);
      min = 0x10000;
    } else {
      const big = this.u64(what);
      if (big > BigInt(MAX_COMPACT_SIZE)) this.tooLarge(what, big);
      v = Number(big);
      min = 0x100000000;
    }
    if (v < min) {
      throw new InvalidPsbtError(`${this.area}.non_canonical`, `non-canonical CompactSize for ${what} at offset ${String(this.pos)}`);
    }
    if (v > MAX_COMPACT_SIZE) this.tooLarge(what, BigInt(v));
    return v;
  }

  private tooLarge(what: string, v: bigint): never {
    throw new InvalidPsbtError(`${this.area}.too_large`, `${what} of ${String(v)} exceeds the limit ${String(MAX_COMPACT_SIZE)}`);
  }

  /** Reads exactly `n` bytes (a view into the input: copy before keeping it if the input may change). */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** CompactSize length followed by that many bytes. */
  varBytes(what = 'a byte string'): Uint8Array {
    const n = this.compactSize(what);
    return this.take(n, what);
  }
}

/** Growable writer for wire formats. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  compactSize(n: number): this {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) {
      this.ensure(3);
      this.buf[this.len] = 0xfd;
      this.view.setUint16(this.len + 1, n, true);
      this.len += 3;
      return this;
    }
    if (n <= 0xffffffff) return this.u8(0xfe).u32(n);
    return this.u8(0xff).u64(BigInt(n));
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  varBytes(b: Uint8Array): this {
    return this.compactSize(b.length).bytes(b);
  }

  get length(): number {
    return this.len;
  }

  /** A copy of the written bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
