/**
 * BIP-380 descriptor checksum: a BCH code over the descriptor character set, 8 characters
 * from the bech32 alphabet, appended after `#`.
 */
import { InvalidDescriptorError } from '@mofn/core';

// BIP-380 "Character Set": three groups of 32 so a case error or a substitution within a
// group costs one symbol error. The position in this string is the symbol value.
const INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

// Lookup tables (charCode -> value, -1 when the character is outside the set).
const INPUT_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < INPUT_CHARSET.length; i++) INPUT_VALUE[INPUT_CHARSET.charCodeAt(i)] = i;
const CHECKSUM_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < CHECKSUM_CHARSET.length; i++) CHECKSUM_VALUE[CHECKSUM_CHARSET.charCodeAt(i)] = i;

// The polymod state is 40 bits: too wide for 32-bit bitwise ops, so it is kept as two halves
// (hi: bits 32..39, lo: bits 0..31) and the generator constants are split the same way.
const GEN_HI = [0xf5, 0xa9, 0x1b, 0x37, 0x64];
const GEN_LO = [0xdee51989, 0xfdca3312, 0xab10e32d, 0x06b1677a, 0x4d626ffd];

interface PolyState {
  hi: number;
  lo: number;
}

function polymodStep(s: PolyState, value: number): void {
  const top = s.hi >>> 3; // chk >> 35
  // chk = (chk & 0x7ffffffff) << 5 ^ value
  const hi = (((s.hi & 0x07) << 5) | (s.lo >>> 27)) & 0xff;
  let lo = ((s.lo << 5) ^ value) >>> 0;
  let h = hi;
  for (let i = 0; i < 5; i++) {
    if ((top >>> i) & 1) {
      h ^= GEN_HI[i]!;
      lo = (lo ^ GEN_LO[i]!) >>> 0;
    }
  }
  s.hi = h;
  s.lo = lo;
}

/** Index of the first character of `body` outside the BIP-380 character set, or -1. Never throws. */
export function findInvalidDescriptorChar(body: string): number {
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c >= 128 || INPUT_VALUE[c] === -1) return i;
  }
  return -1;
}

function polymodOfBody(body: string): PolyState {
  const s: PolyState = { hi: 0, lo: 1 };
  let groups = 0;
  let groupCount = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? INPUT_VALUE[c]! : -1;
    if (v < 0) {
      throw new InvalidDescriptorError(
        'descriptor.syntax',
        `invalid character '${body[i] ?? ''}' at position ${i} of the descriptor`,
        { details: { position: i }, hint: 'descriptors use only the BIP-380 character set (ASCII, no tabs or newlines)' },
      );
    }
    polymodStep(s, v & 31);
    // Every 3 characters, one extra symbol carries their group numbers (BIP-380 descsum_expand).
    groups = groups * 3 + (v >> 5);
    groupCount++;
    if (groupCount === 3) {
      polymodStep(s, groups);
      groups = 0;
      groupCount = 0;
    }
  }
  if (groupCount > 0) polymodStep(s, groups);
  return s;
}

/**
 * The 8-character BIP-380 checksum of a descriptor body (the text before `#`).
 * @param body - descriptor without `#checksum`
 * @returns checksum, e.g. `89f8spxm` for `raw(deadbeef)`
 * @throws InvalidDescriptorError `descriptor.syntax` if `body` has a character outside the BIP-380 set
 * @example descriptorChecksum('raw(deadbeef)') // '89f8spxm'
 */
export function descriptorChecksum(body: string): string {
  const s = polymodOfBody(body);
  for (let i = 0; i < 8; i++) polymodStep(s, 0);
  // checksum = polymod ^ 1, read 5 bits at a time from bit 35 down to bit 0
  const hi = s.hi;
  const lo = (s.lo ^ 1) >>> 0;
  let out = '';
  for (let i = 0; i < 8; i++) {
    const shift = 5 * (7 - i);
    let v: number;
    if (shift >= 32) v = (hi >>> (shift - 32)) & 31;
    else if (shift > 27) v = ((lo >>> shift) | (hi << (32 - shift))) & 31;
    else v = (lo >>> shift) & 31;
    out += CHECKSUM_CHARSET[v]!;
  }
  return out;
}

/** Options of {@link splitDescriptorChecksum}. */
export interface ChecksumOptions {
  /** Reject a descriptor without `#checksum` (`descriptor.missing_checksum`). Default false (BIP-380: optional). */
  readonly requireChecksum?: boolean;
}

/**
 * Splits `text` into body and checksum and verifies the checksum when there is one.
 * @returns the body and the checksum as written (undefined when absent)
 * @throws InvalidDescriptorError `descriptor.bad_checksum` (wrong, malformed, empty or repeated `#`;
 *   the message names the expected checksum), `descriptor.missing_checksum` when required and absent,
 *   `descriptor.syntax` for characters outside the BIP-380 set
 */
export function splitDescriptorChecksum(
  text: string,
  options: ChecksumOptions = {},
): { body: string; checksum: string | undefined } {
  const hash = text.indexOf('#');
  if (hash < 0) {
    if (options.requireChecksum) {
      throw new InvalidDescriptorError('descriptor.missing_checksum', 'the descriptor has no #checksum', {
        hint: `append '#${safeChecksum(text) ?? '<checksum>'}' (BIP-380) or export the descriptor again with its checksum`,
      });
    }
    descriptorChecksum(text); // validates the character set
    return { body: text, checksum: undefined };
  }
  const body = text.slice(0, hash);
  const checksum = text.slice(hash + 1);
  const expected = descriptorChecksum(body);
  if (checksum.includes('#')) {
    throw new InvalidDescriptorError('descriptor.bad_checksum', `more than one '#' in the descriptor, expected '${body}#${expected}'`, {
      details: { expected },
    });
  }
  if (checksum.length !== 8) {
    throw new InvalidDescriptorError(
      'descriptor.bad_checksum',
      `the checksum must be 8 characters, got ${checksum.length} ('${checksum}'), expected '${expected}'`,
      { details: { expected, got: checksum } },
    );
  }
  if (checksum !== expected) {
    throw new InvalidDescriptorError('descriptor.bad_checksum', `checksum mismatch: got '${checksum}', expected '${expected}'`, {
      details: { expected, got: checksum },
      hint: 'the descriptor was altered or mistyped: copy it again from its source rather than fixing the checksum',
    });
  }
  return { body, checksum };
}

function safeChecksum(body: string): string | undefined {
  return findInvalidDescriptorChar(body) < 0 ? descriptorChecksum(body) : undefined;
}

/**
 * True if `text` is `BODY#CHECKSUM` with a correct checksum. Never throws.
 */
export function isValidDescriptorChecksum(text: string): boolean {
  const hash = text.lastIndexOf('#');
  if (hash < 0 || text.length - hash !== 9) return false;
  const body = text.slice(0, hash);
  if (findInvalidDescriptorChar(body) >= 0) return false;
  for (let i = hash + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || CHECKSUM_VALUE[c] === -1) return false;
  }
  return descriptorChecksum(body) === text.slice(hash + 1);
}

/**
 * Appends `#checksum` to a descriptor body.
 * @throws InvalidDescriptorError `descriptor.syntax` for characters outside the BIP-380 set
 */
export function addDescriptorChecksum(body: string): string {
  return `${body}#${descriptorChecksum(body)}`;
}
