/**
 * BIP-32 derivation paths and key origins (`[fingerprint/path]`, BIP-380 KEY expressions),
 * and the default account paths of BIP-48 / BIP-45.
 */
import { InvalidInputError, InvalidKeyError } from '@mofn/core';
import { NETWORKS } from '../network.ts';
import { HARDENED, type KeyOrigin, type Network, type ScriptType } from '../types.ts';

/** Hardened marker when printing: `h` (descriptor style) or `'` (BIP-32 style). */
export type HardenedMarker = 'h' | "'";

// One path element: decimal digits, then an optional hardened marker (', h or H as BIP-380 allows).
const ELEMENT = /^([0-9]{1,10})(['hH]?)$/;
/** BIP-32 depth is one byte, so a path from the master has at most 255 steps. */
const MAX_DEPTH = 255;

function pathError(text: string, reason: string): InvalidKeyError {
  return new InvalidKeyError('key.invalid_path', `invalid derivation path '${text}': ${reason}`, {
    details: { path: text, reason },
    hint: "write it like m/48'/1'/0'/2' or 48h/1h/0h/2h",
  });
}

function parseElements(elements: readonly string[], original: string): number[] {
  if (elements.length > MAX_DEPTH) throw pathError(original, `more than ${String(MAX_DEPTH)} steps`);
  const out: number[] = [];
  for (const el of elements) {
    const m = ELEMENT.exec(el);
    if (m === null) throw pathError(original, el === '' ? 'empty step' : `'${el}' is not an index`);
    const n = Number(m[1]);
    if (n >= HARDENED) throw pathError(original, `index ${m[1]!} is above 2^31-1 (write a hardened index with a marker instead)`);
    out.push(m[2] === '' ? n : n + HARDENED);
  }
  return out;
}

/**
 * Parses a BIP-32 derivation path: optional `m/` prefix (`m` alone is the empty path), steps in
 * decimal, each at most 2^31-1, hardened with `'`, `h` or `H`.
 * @returns child numbers with the hardened bit set as `index + 0x80000000`
 * @throws InvalidKeyError `key.invalid_path` for anything else (`0f`, `-0`, `2147483648`, empty steps, spaces)
 * @example parseDerivationPath("m/48'/1'/0'/2'") // [0x80000030, 0x80000001, 0x80000000, 0x80000002]
 */
export function parseDerivationPath(text: string): number[] {
  if (typeof text !== 'string') throw pathError(String(text), 'not a string');
  if (text === 'm' || text === 'M') return [];
  let body = text;
  if (text.startsWith('m/') || text.startsWith('M/')) body = text.slice(2);
  if (body === '') throw pathError(text, 'empty');
  return parseElements(body.split('/'), text);
}

/** True if every element is an integer child number in 0..2^32-1. Never throws. */
export function isDerivationPath(path: unknown): path is readonly number[] {
  return Array.isArray(path) && path.length <= MAX_DEPTH && path.every((n) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff);
}

function assertPath(path: readonly number[]): void {
  if (!isDerivationPath(path)) {
    throw new InvalidKeyError('key.invalid_path', `invalid derivation path [${String(path)}]: every step must be an integer in 0..2^32-1`);
  }
}

/**
 * Formats child numbers as a path.
 * @param options.marker - hardened marker, default `'`
 * @param options.prefix - start with `m/` (default true; the empty path is then `m`)
 * @throws InvalidKeyError `key.invalid_path` if a step is not a 32-bit child number
 * @example formatDerivationPath([0x80000030, 0x80000001], { marker: 'h', prefix: false }) // "48h/1h"
 */
export function formatDerivationPath(path: readonly number[], options: { marker?: HardenedMarker; prefix?: boolean } = {}): string {
  assertPath(path);
  const marker = options.marker ?? "'";
  const prefix = options.prefix ?? true;
  const steps = path.map((n) => (n >= HARDENED ? `${String(n - HARDENED)}${marker}` : String(n)));
  if (!prefix) return steps.join('/');
  return steps.length === 0 ? 'm' : `m/${steps.join('/')}`;
}

function originError(text: string, reason: string, code = 'key.invalid_origin'): InvalidKeyError {
  return new InvalidKeyError(code, `invalid key origin '${text}': ${reason}`, {
    details: { origin: text, reason },
    hint: 'write it like [deadbeef/48h/1h/0h/2h]: the 8-hex-digit master fingerprint, then the path',
  });
}

/** True if `text` is a BIP-32 fingerprint: exactly 8 hex digits. Never throws. */
export function isFingerprint(text: unknown): boolean {
  return typeof text === 'string' && /^[0-9a-fA-F]{8}$/.test(text);
}

/**
 * Parses a key origin `[fingerprint/path]` (brackets optional): the master fingerprint as 8 hex
 * digits (returned lower-case), then zero or more path steps without `m/`.
 * @throws InvalidKeyError `key.invalid_fingerprint` or `key.invalid_origin` / `key.invalid_path`
 * @example parseKeyOrigin('[deadbeef/48h/1h/0h/2h]')
 */
export function parseKeyOrigin(text: string): KeyOrigin {
  if (typeof text !== 'string') throw originError(String(text), 'not a string');
  let body = text;
  if (text.startsWith('[') || text.endsWith(']')) {
    if (!(text.startsWith('[') && text.endsWith(']'))) throw originError(text, 'unbalanced brackets');
    body = text.slice(1, -1);
  }
  const slash = body.indexOf('/');
  const fp = slash === -1 ? body : body.slice(0, slash);
  if (!isFingerprint(fp)) {
    throw originError(text, `fingerprint '${fp}' is not 8 hex digits`, 'key.invalid_fingerprint');
  }
  const path = slash === -1 ? [] : parseElements(body.slice(slash + 1).split('/'), text);
  return Object.freeze({ fingerprint: fp.toLowerCase(), path: Object.freeze(path) });
}

/**
 * Formats a key origin as `[fingerprint/path]`.
 * @param marker - hardened marker, default `h` (the descriptor form mofn prints)
 * @throws InvalidKeyError `key.invalid_fingerprint` / `key.invalid_path`
 */
export function formatKeyOrigin(origin: KeyOrigin, marker: HardenedMarker = 'h'): string {
  if (!isFingerprint(origin.fingerprint)) {
    throw originError(origin.fingerprint, 'fingerprint is not 8 hex digits', 'key.invalid_fingerprint');
  }
  const path = formatDerivationPath(origin.path, { marker, prefix: false });
  return path === '' ? `[${origin.fingerprint.toLowerCase()}]` : `[${origin.fingerprint.toLowerCase()}/${path}]`;
}

// BIP-48 script type numbers (the fourth, hardened level).
const BIP48_SCRIPT: Readonly<Record<Exclude<ScriptType, 'sh'>, number>> = Object.freeze({ 'sh-wsh': 1, wsh: 2, tr: 3 });

/**
 * The account path mofn proposes for a cosigner:
 * BIP-48 `m/48'/coin'/account'/script'` with script 1' (sh-wsh), 2' (wsh), 3' (tr); for legacy
 * `sh` the BIP-45 purpose `m/45'` that Caravan and Coldcard use (no account level).
 * @param account - 0 .. 2^31-1 (must be 0 for `sh`)
 * @throws InvalidInputError `key.invalid_account`
 * @example defaultAccountPath('wsh', 'test') // m/48'/1'/0'/2'
 */
export function defaultAccountPath(type: ScriptType, network: Network, account = 0): number[] {
  if (!Number.isInteger(account) || account < 0 || account >= HARDENED) {
    throw new InvalidInputError('key.invalid_account', `account ${String(account)} is not an integer in 0..2^31-1`);
  }
  if (type === 'sh') {
    if (account !== 0) {
      throw new InvalidInputError('key.invalid_account', `P2SH (BIP-45, m/45') has no account level; account ${String(account)} is not possible`);
    }
    return [45 + HARDENED];
  }
  const script = BIP48_SCRIPT[type];
  return [48 + HARDENED, NETWORKS[network].coinType + HARDENED, account + HARDENED, script + HARDENED];
}
