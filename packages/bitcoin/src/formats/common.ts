/**
 * Shared plumbing of the wallet-file parsers: typed errors, bounded JSON parsing, and turning a
 * list of file-level cosigner entries into a validated {@link MultisigPolicy}.
 *
 * Every failure leaves here as an {@link InvalidWalletFileError} with a `walletfile.*` code; errors
 * of the key and policy layers are wrapped (their code kept in `details.reason`) so a caller
 * importing a file handles one error family. Messages never quote a whole key string: a file may
 * hold a private key by mistake.
 */
import { InvalidWalletFileError, isMofnError } from '@mofn/core';
import type { MofnErrorOptions } from '@mofn/core';
import { encodeExtendedPublicKey, fingerprintOf, formatDerivationPath, parseDerivationPath, parseExtendedPublicKey } from '../keys/index.ts';
import { versionNetworkOf } from '../network.ts';
import { HARDENED } from '../types.ts';
import type { ExtendedPublicKey, MultisigPolicy, Network, ScriptType } from '../types.ts';
import { createPolicy } from '../wallet/index.ts';

/** Largest wallet file the parsers read (a 20-key file is a few KiB). */
export const MAX_WALLET_FILE_CHARS = 256 * 1024;

/** Builds a wallet-file error. */
export function fileError(code: string, message: string, options: MofnErrorOptions = {}): InvalidWalletFileError {
  return new InvalidWalletFileError(code, message, options);
}

/** Throws `walletfile.too_large` / `walletfile.empty` / `walletfile.not_text` for unusable input. */
export function assertFileText(text: unknown, format: string): asserts text is string {
  if (typeof text !== 'string') throw fileError('walletfile.not_text', `${format} file must be text, got ${typeof text}`);
  if (text.length > MAX_WALLET_FILE_CHARS) {
    throw fileError('walletfile.too_large', `${format} file is ${text.length} characters, more than the ${MAX_WALLET_FILE_CHARS} a wallet file can be`);
  }
  if (text.trim().length === 0) throw fileError('walletfile.empty', `${format} file is empty`);
}

/** A JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object. Never throws. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property of a JSON object (never inherited ones such as `__proto__` or `constructor`). */
export function field(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** Own-property table look-up (a file's `"constructor"` must not reach Object.prototype). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/**
 * Parses text as a JSON object.
 * @throws InvalidWalletFileError `walletfile.bad_json`, `walletfile.not_object` (plus {@link assertFileText}'s codes)
 */
export function parseJsonObject(text: unknown, format: string): JsonObject {
  assertFileText(text, format);
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/u, ''));
  } catch (cause) {
    throw fileError('walletfile.bad_json', `${format} file is not valid JSON`, { cause });
  }
  if (!isJsonObject(value)) throw fileError('walletfile.not_object', `${format} file must hold a JSON object`);
  return value;
}

/** A short, safe-to-print label for a key string (never the whole key: it could be private). */
export function keyPreview(text: string): string {
  return text.length <= 12 ? text : `${text.slice(0, 8)}…`;
}

/**
 * Parses a derivation path written in a wallet file (`m/48'/1'/0'/2'`, `48h/1h/0h/2h`, `m`).
 * @throws InvalidWalletFileError `walletfile.bad_path`
 */
export function parseFilePath(text: string, where: string): number[] {
  try {
    const trimmed = text.trim();
    if (trimmed === 'm' || trimmed === 'M') return [];
    return parseDerivationPath(trimmed);
  } catch (cause) {
    throw fileError('walletfile.bad_path', `${where}: bad derivation path '${text.slice(0, 60)}'`, {
      cause,
      details: { where, ...(isMofnError(cause) ? { reason: cause.code } : {}) },
      hint: "write paths like m/48'/1'/0'/2'",
    });
  }
}

/** Formats a path as `m/48'/1'/0'/2'` (the style Caravan and Coldcard write). */
export function formatFilePath(path: readonly number[]): string {
  return path.length === 0 ? 'm' : `m/${formatDerivationPath(path, { marker: "'", prefix: false })}`;
}

/** Normalises an 8-hex-digit fingerprint to lower case. @throws `walletfile.bad_fingerprint` */
export function parseFingerprint(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{8}$/u.test(value.trim())) {
    throw fileError('walletfile.bad_fingerprint', `${where}: master fingerprint must be 8 hex digits`, { details: { where } });
  }
  return value.trim().toLowerCase();
}

/** One cosigner as a wallet file describes it. */
export interface FileKey {
  /** Where in the file (for messages): `key 2`, `line 9`... */
  readonly where: string;
  /** Extended public key as written (xpub/tpub or SLIP-132). */
  readonly xpub: string;
  /** Master fingerprint, lower-case hex; undefined when the file does not give one. */
  readonly fingerprint: string | undefined;
  /** Derivation path from the master; undefined when unknown. */
  readonly path: readonly number[] | undefined;
}

/** What a file says about the wallet; {@link buildPolicy} validates it. */
export interface FileWallet {
  readonly format: string;
  readonly type: ScriptType;
  readonly threshold: number;
  readonly keys: readonly FileKey[];
  /** Network the file states explicitly (Caravan); else inferred from the key versions. */
  readonly declaredNetwork?: Network;
  /** Network the caller expects. */
  readonly requestedNetwork?: Network | undefined;
  /** Expected number of keys the file states (Caravan totalSigners, Coldcard N). */
  readonly totalKeys?: number;
}

function parseKey(key: FileKey): ExtendedPublicKey {
  try {
    return parseExtendedPublicKey(key.xpub);
  } catch (cause) {
    const reason = isMofnError(cause) ? cause.code : 'key.invalid';
    throw fileError(
      reason === 'key.private_key' ? 'walletfile.private_key' : 'walletfile.bad_key',
      `${key.where}: ${isMofnError(cause) ? cause.message : `invalid extended public key '${keyPreview(key.xpub)}'`}`,
      { cause, details: { where: key.where, reason }, ...(isMofnError(cause) && cause.hint ? { hint: cause.hint } : {}) },
    );
  }
}

/**
 * Checks what can be checked of a key's origin without its private key: the path length equals
 * the xpub depth, a depth-1 key's parent fingerprint and child number match the origin, and a
 * depth-0 key's own fingerprint matches (BIP-32 "Key identifiers").
 */
function assertOriginConsistent(key: FileKey, xpub: ExtendedPublicKey): void {
  const { fingerprint, path } = key;
  if (path !== undefined && path.length !== xpub.depth) {
    throw fileError(
      'walletfile.path_depth_mismatch',
      `${key.where}: derivation path ${formatFilePath(path)} has ${path.length} steps but the xpub is at depth ${xpub.depth}`,
      { details: { where: key.where, pathLength: path.length, depth: xpub.depth } },
    );
  }
  if (fingerprint === undefined) return;
  if (xpub.depth === 0 && fingerprintOf(xpub.publicKey) !== fingerprint) {
    throw fileError('walletfile.fingerprint_mismatch', `${key.where}: master key's fingerprint is ${fingerprintOf(xpub.publicKey)}, the file says ${fingerprint}`, {
      details: { where: key.where, expected: fingerprint, actual: fingerprintOf(xpub.publicKey) },
    });
  }
  if (xpub.depth === 1) {
    const parent = xpub.parentFingerprint.toString(16).padStart(8, '0');
    if (parent !== fingerprint) {
      throw fileError('walletfile.fingerprint_mismatch', `${key.where}: depth-1 xpub's parent fingerprint is ${parent}, the file says ${fingerprint}`, {
        details: { where: key.where, expected: fingerprint, actual: parent },
      });
    }
    if (path !== undefined && path[0] !== xpub.childNumber) {
      throw fileError('walletfile.path_mismatch', `${key.where}: depth-1 xpub is child ${childLabel(xpub.childNumber)}, the path says ${formatFilePath(path)}`, {
        details: { where: key.where },
      });
    }
  }
}

function childLabel(n: number): string {
  return n >= HARDENED ? `${n - HARDENED}'` : String(n);
}

/** The cosigner key string createPolicy takes: `[fp/path]xpub` or a bare xpub. */
function keyString(key: FileKey, encoded: string): string {
  if (key.fingerprint === undefined || key.path === undefined) return encoded;
  const path = key.path.length === 0 ? '' : `/${formatDerivationPath(key.path, { marker: 'h', prefix: false })}`;
  return `[${key.fingerprint}${path}]${encoded}`;
}

/**
 * Validates a file's wallet and builds its policy (always sortedmulti: Caravan, Coldcard and
 * Electrum all sort keys per BIP-67).
 * @throws InvalidWalletFileError `walletfile.bad_quorum`, `walletfile.key_count`, `walletfile.bad_key`,
 *   `walletfile.private_key`, `walletfile.mixed_networks`, `walletfile.wrong_network`,
 *   `walletfile.path_depth_mismatch`, `walletfile.fingerprint_mismatch`, `walletfile.bad_policy`.
 */
export function buildPolicy(wallet: FileWallet): MultisigPolicy {
  const { keys, threshold, format } = wallet;
  if (keys.length === 0) throw fileError('walletfile.no_keys', `${format} file lists no keys`);
  if (wallet.totalKeys !== undefined && wallet.totalKeys !== keys.length) {
    throw fileError('walletfile.key_count', `${format} file says ${wallet.totalKeys} signers but lists ${keys.length} keys`, {
      details: { stated: wallet.totalKeys, listed: keys.length },
    });
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keys.length) {
    throw fileError('walletfile.bad_quorum', `${format} file: required signers must be 1..${keys.length}, got ${String(threshold)}`, {
      details: { threshold, keys: keys.length },
    });
  }
  const parsed = keys.map((k) => parseKey(k));
  const versionNetwork = parsed[0]!.versionNetwork;
  const other = parsed.findIndex((p) => p.versionNetwork !== versionNetwork);
  if (other !== -1) {
    throw fileError('walletfile.mixed_networks', `${format} file mixes mainnet and testnet keys (${keys[0]!.where} vs ${keys[other]!.where})`);
  }
  const network = resolveNetwork(format, versionNetwork, wallet.declaredNetwork, wallet.requestedNetwork);
  parsed.forEach((p, i) => {
    assertOriginConsistent(keys[i]!, p);
  });
  const keyStrings = parsed.map((p, i) => keyString(keys[i]!, encodeExtendedPublicKey(p, network)));
  try {
    return createPolicy({ type: wallet.type, threshold, keys: keyStrings, network, sorted: true });
  } catch (cause) {
    if (!isMofnError(cause)) throw cause;
    throw fileError('walletfile.bad_policy', `${format} file does not describe a valid wallet: ${cause.message}`, {
      cause,
      details: { reason: cause.code },
      ...(cause.hint ? { hint: cause.hint } : {}),
    });
  }
}

function resolveNetwork(format: string, keys: 'main' | 'test', declared: Network | undefined, requested: Network | undefined): Network {
  if (declared !== undefined && versionNetworkOf(declared) !== keys) {
    throw fileError('walletfile.wrong_network', `${format} file says network ${declared} but its keys are ${keys === 'main' ? 'mainnet (xpub)' : 'testnet (tpub)'} keys`, {
      details: { declared, keys },
    });
  }
  if (requested !== undefined) {
    if (declared !== undefined && declared !== requested) {
      throw fileError('walletfile.wrong_network', `${format} file is for ${declared}, expected ${requested}`, { details: { declared, requested } });
    }
    if (versionNetworkOf(requested) !== keys) {
      throw fileError('walletfile.wrong_network', `${format} file holds ${keys === 'main' ? 'mainnet' : 'testnet'} keys, expected a ${requested} wallet`, {
        details: { keys, requested },
      });
    }
    return requested;
  }
  return declared ?? keys;
}

/** Fails unless every key of a policy has a known origin (formats that require XFP + path). */
export function requireOrigins(policy: MultisigPolicy, format: string): void {
  const missing = policy.keys.findIndex((k) => k.origin === undefined);
  if (missing !== -1) {
    throw fileError('walletfile.missing_origin', `${format} export needs every key's master fingerprint and path; key ${missing + 1} has none`, {
      details: { key: missing + 1 },
    });
  }
}

/** Fails for policies a sortedmulti-only format cannot express. */
export function requireSortedMulti(policy: MultisigPolicy, format: string, types: readonly ScriptType[]): void {
  if (!types.includes(policy.type)) {
    throw fileError('walletfile.unsupported_type', `${format} files cannot describe ${policy.type} wallets (supported: ${types.join(', ')})`, {
      details: { type: policy.type },
    });
  }
  if (!policy.sorted) {
    throw fileError('walletfile.unsupported_unsorted', `${format} files describe sortedmulti (BIP-67) wallets only; this wallet uses multi()`, {
      hint: 'export it as a descriptor instead',
    });
  }
}
