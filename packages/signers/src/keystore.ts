/**
 * Encrypted software keystore: a versioned JSON file holding one BIP-39 mnemonic (and optional
 * BIP-39 passphrase), encrypted with XChaCha20-Poly1305 under a scrypt key.
 *
 * File shape (version 1):
 * ```json
 * { "format": "mofn-keystore", "version": 1, "network": "test", "fingerprint": "0f056943",
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<32 bytes hex>" },
 *   "cipher": { "name": "xchacha20-poly1305", "nonce": "<24 bytes hex>" },
 *   "ciphertext": "<hex>" }
 * ```
 * Network and master fingerprint are in clear so a tool can show which key a file holds without
 * the password. Every header field is bound to the ciphertext as AEAD associated data, so changing
 * any of them (weaker KDF, other network, other fingerprint) makes decryption fail; unknown fields
 * are refused because they would not be authenticated.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { KeystoreError } from '@mofn/core';
import {
  derivePrivatePath,
  encodeExtendedPublicKey,
  formatDerivationPath,
  hdNodeFromSeed,
  isNetwork,
  masterFingerprint,
  neuterNode,
  parseDerivationPath,
} from '@mofn/bitcoin';
import type { HDPrivateNode, Network } from '@mofn/bitcoin';
import { isBip39Language, mnemonicToSeed, parseMnemonic } from './mnemonic.ts';
import type { Bip39Language } from './mnemonic.ts';


/**
 * A value from an untrusted file, made safe to put in a message: numbers and short strings as they
 * are, anything else by its type (String() on a hostile object can throw or run its toString).
 */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.slice(0, 40)}'`;
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
}

/** The `format` tag of a keystore file. */
export const KEYSTORE_FORMAT = 'mofn-keystore';
/** The keystore file version this code writes (and the only one it reads). */
export const KEYSTORE_VERSION = 1;

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * Default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB of memory; measured on the 2-core
 * reference machine with @noble/hashes: about 0.4-0.5 s per create or unlock).
 */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Lowest and highest log2(N) accepted when reading or creating a keystore. */
const MIN_LOG_N = 10;
const MAX_LOG_N = 20;
/** scrypt's working memory is 128·N·r bytes; refuse files asking for more than 1 GiB. */
const MAX_SCRYPT_MEMORY = 2 ** 30;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const MAX_CIPHERTEXT_BYTES = 4096;
const TOP_LEVEL_KEYS = ['format', 'version', 'network', 'fingerprint', 'kdf', 'cipher', 'ciphertext'] as const;

/** A keystore file as stored on disk (public data only; the secrets are in `ciphertext`). */
export interface KeystoreFile {
  readonly format: typeof KEYSTORE_FORMAT;
  readonly version: typeof KEYSTORE_VERSION;
  readonly network: Network;
  /** BIP-32 master key fingerprint, 8 lower-case hex characters. */
  readonly fingerprint: string;
  readonly kdf: { readonly name: 'scrypt'; readonly N: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: { readonly name: 'xchacha20-poly1305'; readonly nonce: string };
  readonly ciphertext: string;
}

/** An unlocked keystore. Holds secrets: call {@link lockKeystore} when done. */
export interface UnlockedKeystore {
  readonly root: HDPrivateNode;
  /** Canonical mnemonic (NFKD, single spaces). */
  readonly mnemonic: string;
  readonly language: Bip39Language;
  readonly hasPassphrase: boolean;
  readonly network: Network;
  readonly fingerprint: string;
}

/** Options of {@link createKeystore}. */
export interface CreateKeystoreOptions {
  readonly mnemonic: string;
  /** Optional BIP-39 passphrase ("25th word"); part of the seed, stored encrypted. */
  readonly passphrase?: string;
  /** Password that encrypts the file. */
  readonly password: string;
  readonly network: Network;
  /** Word list of the mnemonic; detected when omitted. */
  readonly language?: Bip39Language;
  /** scrypt cost; defaults to {@link DEFAULT_SCRYPT}. Lower N only for tests. */
  readonly kdf?: Partial<ScryptParams>;
  /** Progress of the key derivation, 0..1. */
  readonly onProgress?: (fraction: number) => void;
}

/** Options of {@link unlockKeystore}. */
export interface UnlockKeystoreOptions {
  /** Progress of the key derivation, 0..1. */
  readonly onProgress?: (fraction: number) => void;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** @internal */
export function malformed(message: string, details?: Record<string, unknown>): KeystoreError {
  return new KeystoreError('keystore.malformed', `malformed keystore file: ${message}`, details ? { details } : {});
}

/** @internal */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHex(value: unknown, bytes?: { min: number; max: number }): value is string {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9a-f]*$/u.test(value)) return false;
  return bytes === undefined || (value.length / 2 >= bytes.min && value.length / 2 <= bytes.max);
}

function assertScryptParams(N: unknown, r: unknown, p: unknown, onError: (message: string) => KeystoreError): ScryptParams {
  if (typeof N !== 'number' || !Number.isSafeInteger(N) || N < 2 ** MIN_LOG_N || N > 2 ** MAX_LOG_N || (N & (N - 1)) !== 0) {
    throw onError(`scrypt N must be a power of two from 2^${MIN_LOG_N} to 2^${MAX_LOG_N}, got ${shown(N)}`);
  }
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1 || r > 32) {
    throw onError(`scrypt r must be an integer from 1 to 32, got ${shown(r)}`);
  }
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1 || p > 16) {
    throw onError(`scrypt p must be an integer from 1 to 16, got ${shown(p)}`);
  }
  if (128 * N * r > MAX_SCRYPT_MEMORY) {
    throw onError(`scrypt N=${N}, r=${r} needs ${(128 * N * r) / 2 ** 20} MiB, more than the 1024 MiB limit`);
  }
  return { N, r, p };
}

/**
 * Validates an untrusted value (parsed JSON) as a {@link KeystoreFile}.
 * @throws KeystoreError `keystore.malformed`, `keystore.unsupported_version`.
 */
export function parseKeystoreFile(value: unknown): KeystoreFile {
  if (!isPlainObject(value)) throw malformed('expected a JSON object');
  if (value['format'] !== KEYSTORE_FORMAT) {
    throw malformed(`'format' must be '${KEYSTORE_FORMAT}'`, { format: typeof value['format'] === 'string' ? value['format'] : typeof value['format'] });
  }
  const version = value['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw malformed("'version' must be a positive integer");
  if (version !== KEYSTORE_VERSION) {
    throw new KeystoreError('keystore.unsupported_version', `keystore file version ${version} is not supported (this mofn reads version ${KEYSTORE_VERSION})`, {
      details: { version },
      hint: 'upgrade mofn to open this keystore',
    });
  }
  for (const key of Object.keys(value)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) throw malformed(`unknown field '${key.slice(0, 40)}'`);
  }
  const network = value['network'];
  if (!isNetwork(network)) throw malformed("'network' must be main, test, signet or regtest");
  const fingerprint = value['fingerprint'];
  if (!isHex(fingerprint, { min: 4, max: 4 })) throw malformed("'fingerprint' must be 8 lower-case hex characters");

  const kdf = value['kdf'];
  if (!isPlainObject(kdf)) throw malformed("'kdf' must be an object");
  if (Object.keys(kdf).some((k) => !['name', 'N', 'r', 'p', 'salt'].includes(k))) throw malformed("'kdf' has unknown fields");
  if (kdf['name'] !== 'scrypt') throw malformed("'kdf.name' must be 'scrypt'");
  const params = assertScryptParams(kdf['N'], kdf['r'], kdf['p'], (m) => malformed(m));
  const salt = kdf['salt'];
  if (!isHex(salt, { min: 16, max: 64 })) throw malformed("'kdf.salt' must be 16 to 64 bytes of lower-case hex");

  const cipher = value['cipher'];
  if (!isPlainObject(cipher)) throw malformed("'cipher' must be an object");
  if (Object.keys(cipher).some((k) => !['name', 'nonce'].includes(k))) throw malformed("'cipher' has unknown fields");
  if (cipher['name'] !== 'xchacha20-poly1305') throw malformed("'cipher.name' must be 'xchacha20-poly1305'");
  const nonce = cipher['nonce'];
  if (!isHex(nonce, { min: NONCE_BYTES, max: NONCE_BYTES })) throw malformed(`'cipher.nonce' must be ${NONCE_BYTES} bytes of lower-case hex`);

  const ciphertext = value['ciphertext'];
  if (!isHex(ciphertext, { min: TAG_BYTES + 1, max: MAX_CIPHERTEXT_BYTES })) {
    throw malformed(`'ciphertext' must be ${TAG_BYTES + 1} to ${MAX_CIPHERTEXT_BYTES} bytes of lower-case hex`);
  }
  return Object.freeze({
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    network,
    fingerprint,
    kdf: Object.freeze({ name: 'scrypt', N: params.N, r: params.r, p: params.p, salt }),
    cipher: Object.freeze({ name: 'xchacha20-poly1305', nonce }),
    ciphertext,
  });
}

/** True if `value` is a well-formed keystore file of a supported version. Never throws. */
export function isKeystoreFile(value: unknown): value is KeystoreFile {
  try {
    parseKeystoreFile(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Associated data: every header field in a fixed order, so that no header field can be changed
 * without failing Poly1305 authentication (the nonce is authenticated by construction).
 */
function associatedData(file: Omit<KeystoreFile, 'ciphertext'>): Uint8Array {
  return utf8.encode(
    JSON.stringify([
      file.format,
      file.version,
      file.network,
      file.fingerprint,
      file.kdf.name,
      file.kdf.N,
      file.kdf.r,
      file.kdf.p,
      file.kdf.salt,
      file.cipher.name,
      file.cipher.nonce,
    ]),
  );
}

function passwordBytes(password: unknown): Uint8Array {
  if (typeof password !== 'string' || password.length === 0) {
    throw new KeystoreError('keystore.bad_password', 'the keystore password must be a non-empty string');
  }
  // NFKD so the same password typed on different systems gives the same key (as BIP-39 does).
  try {
    return utf8.encode(password.normalize('NFKD'));
  } catch (cause) {
    throw new KeystoreError('keystore.bad_password', 'the keystore password is not well-formed text', { cause });
  }
}

async function deriveKey(password: unknown, salt: Uint8Array, params: ScryptParams, onProgress?: (f: number) => void): Promise<Uint8Array> {
  const pw = passwordBytes(password);
  try {
    return await scryptAsync(pw, salt, {
      N: params.N,
      r: params.r,
      p: params.p,
      dkLen: KEY_BYTES,
      maxmem: MAX_SCRYPT_MEMORY + 128 * params.r * params.p + 1024 * 1024,
      ...(onProgress ? { onProgress } : {}),
    });
  } finally {
    pw.fill(0);
  }
}

interface Payload {
  readonly mnemonic: string;
  readonly passphrase: string;
  readonly language: Bip39Language;
}

/**
 * Encrypts a mnemonic into a new keystore file (in memory; see {@link writeKeystore}).
 * Validates the mnemonic first and records the master fingerprint of mnemonic + passphrase.
 * @throws KeystoreError `keystore.bad_mnemonic`, `keystore.bad_password`, `keystore.bad_kdf`,
 *   `keystore.bad_network`, `keystore.bad_passphrase`.
 * @example const file = await createKeystore({ mnemonic, password, network: 'test' });
 */
export async function createKeystore(options: CreateKeystoreOptions): Promise<KeystoreFile> {
  const { password, network } = options;
  const passphrase = options.passphrase ?? '';
  if (!isNetwork(network)) {
    throw new KeystoreError('keystore.bad_network', `unknown network ${shown(network)}`, { hint: 'use main, test, signet or regtest' });
  }
  if (typeof passphrase !== 'string') throw new KeystoreError('keystore.bad_passphrase', 'BIP-39 passphrase must be a string');
  passwordBytes(password).fill(0);
  const params = assertScryptParams(
    options.kdf?.N ?? DEFAULT_SCRYPT.N,
    options.kdf?.r ?? DEFAULT_SCRYPT.r,
    options.kdf?.p ?? DEFAULT_SCRYPT.p,
    (m) => new KeystoreError('keystore.bad_kdf', m),
  );
  const parsed = parseMnemonic(options.mnemonic, options.language);
  const seed = mnemonicToSeed(parsed.mnemonic, passphrase, parsed.language);
  let fingerprint: string;
  try {
    const root = hdNodeFromSeed(seed);
    fingerprint = masterFingerprint(root);
    wipeNode(root);
  } finally {
    seed.fill(0);
  }

  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const header = {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    network,
    fingerprint,
    kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: bytesToHex(salt) },
    cipher: { name: 'xchacha20-poly1305', nonce: bytesToHex(nonce) },
  } as const;
  const payload: Payload = { mnemonic: parsed.mnemonic, passphrase, language: parsed.language };
  const plaintext = utf8.encode(JSON.stringify(payload));
  const key = await deriveKey(password, salt, params, options.onProgress);
  try {
    const ciphertext = xchacha20poly1305(key, nonce, associatedData(header)).encrypt(plaintext);
    return parseKeystoreFile({ ...header, ciphertext: bytesToHex(ciphertext) });
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
}

function parsePayload(plaintext: Uint8Array): Payload {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(plaintext));
  } catch {
    value = undefined;
  }
  if (
    !isPlainObject(value) ||
    typeof value['mnemonic'] !== 'string' ||
    typeof value['passphrase'] !== 'string' ||
    !isBip39Language(value['language'])
  ) {
    // Authenticated yet unreadable: written by something other than createKeystore.
    throw new KeystoreError('keystore.corrupt', 'keystore decrypted but its contents are not a mofn keystore payload');
  }
  return { mnemonic: value['mnemonic'], passphrase: value['passphrase'], language: value['language'] };
}

/**
 * Decrypts a keystore with its password and rebuilds the BIP-32 root key.
 * @throws KeystoreError `keystore.wrong_password` (wrong password or altered file: AEAD cannot
 *   tell them apart), `keystore.malformed`, `keystore.unsupported_version`, `keystore.corrupt`,
 *   `keystore.fingerprint_mismatch` (the seed does not match the fingerprint in the header).
 */
export async function unlockKeystore(file: KeystoreFile, password: string, options: UnlockKeystoreOptions = {}): Promise<UnlockedKeystore> {
  const checked = parseKeystoreFile(file);
  const key = await deriveKey(password, hexToBytes(checked.kdf.salt), checked.kdf, options.onProgress);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(key, hexToBytes(checked.cipher.nonce), associatedData(checked)).decrypt(hexToBytes(checked.ciphertext));
  } catch (cause) {
    throw new KeystoreError('keystore.wrong_password', `cannot unlock keystore ${checked.fingerprint}: wrong password, or the file was altered`, {
      cause,
      details: { fingerprint: checked.fingerprint },
    });
  } finally {
    key.fill(0);
  }
  let payload: Payload;
  try {
    payload = parsePayload(plaintext);
  } finally {
    plaintext.fill(0);
  }
  let parsed;
  try {
    parsed = parseMnemonic(payload.mnemonic, payload.language);
  } catch (cause) {
    throw new KeystoreError('keystore.corrupt', 'keystore decrypted but holds an invalid mnemonic', { cause });
  }
  const seed = mnemonicToSeed(parsed.mnemonic, payload.passphrase, parsed.language);
  let root: HDPrivateNode;
  try {
    root = hdNodeFromSeed(seed);
  } finally {
    seed.fill(0);
  }
  const fingerprint = masterFingerprint(root);
  if (fingerprint !== checked.fingerprint) {
    wipeNode(root);
    throw new KeystoreError(
      'keystore.fingerprint_mismatch',
      `keystore header says master fingerprint ${checked.fingerprint} but its seed has ${fingerprint}`,
      { details: { expected: checked.fingerprint, actual: fingerprint } },
    );
  }
  return {
    root,
    mnemonic: parsed.mnemonic,
    language: parsed.language,
    hasPassphrase: payload.passphrase.length > 0,
    network: checked.network,
    fingerprint,
  };
}

function wipeNode(node: HDPrivateNode): void {
  node.privateKey.fill(0);
  node.chainCode.fill(0);
}

/**
 * Zeroes the private key and chain code of an unlocked keystore's root node. The mnemonic
 * string cannot be wiped (JavaScript strings are immutable); drop every reference to it.
 */
export function lockKeystore(unlocked: UnlockedKeystore): void {
  wipeNode(unlocked.root);
}

/**
 * The cosigner key string `[fingerprint/path]xpub` (tpub on test networks) of an account path,
 * as used in descriptors and by `createPolicy`.
 * @throws InvalidKeyError from the path parser for a malformed path.
 * @example keystoreXpub(unlocked, "m/48'/1'/0'/2'") // "[0f056943/48h/1h/0h/2h]tpubDF2r..."
 */
export function keystoreXpub(unlocked: UnlockedKeystore, path: string | readonly number[]): string {
  const steps = typeof path === 'string' ? parseDerivationPath(path) : [...path];
  const node = derivePrivatePath(unlocked.root, steps);
  try {
    const xpub = encodeExtendedPublicKey(neuterNode(node, unlocked.network), unlocked.network);
    const origin = steps.length === 0 ? unlocked.fingerprint : `${unlocked.fingerprint}/${formatDerivationPath(steps, { marker: 'h', prefix: false })}`;
    return `[${origin}]${xpub}`;
  } finally {
    if (node !== unlocked.root) wipeNode(node);
  }
}
