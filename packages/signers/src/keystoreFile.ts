/**
 * Keystore files on disk (Node only; the format and crypto in keystore.ts stay browser-safe).
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeystoreError } from '@mofn/core';
import { isPlainObject, malformed, parseKeystoreFile } from './keystore.ts';
import type { KeystoreFile } from './keystore.ts';

/** Larger than any keystore this code writes; bounds what readKeystore loads. */
const MAX_FILE_BYTES = 64 * 1024;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Options of {@link writeKeystore}. */
export interface WriteKeystoreOptions {
  /** Replace an existing file (default false: refuse). */
  readonly overwrite?: boolean;
}

function errnoOf(err: unknown): string | undefined {
  return isPlainObject(err) && typeof err['code'] === 'string' ? err['code'] : undefined;
}

/** Makes the new directory entry durable (POSIX); best effort where directories cannot be synced. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some file systems refuse fsync on a directory; the rename/link is still atomic.
  }
}

/**
 * Writes a keystore file atomically with mode 0600: a temporary file in the same folder,
 * flushed to disk, then linked (no overwrite) or renamed (overwrite) into place, so a crash
 * never leaves a half-written keystore.
 * @throws KeystoreError `keystore.exists` (file present and `overwrite` not set),
 *   `keystore.write_failed`, `keystore.malformed` (the object is not a valid keystore).
 */
export async function writeKeystore(path: string, file: KeystoreFile, options: WriteKeystoreOptions = {}): Promise<void> {
  const checked = parseKeystoreFile(file);
  const text = `${JSON.stringify(checked, null, 2)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let tmpCreated = false;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    tmpCreated = true;
    try {
      // open()'s mode is filtered by the umask; set it explicitly.
      await handle.chmod(0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite === true) {
      await rename(tmp, path);
      tmpCreated = false;
    } else {
      // link() fails with EEXIST atomically, unlike an exists-check followed by rename().
      await link(tmp, path);
    }
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'EEXIST' && options.overwrite !== true) {
      throw new KeystoreError('keystore.exists', `keystore file ${path} already exists`, {
        cause: err,
        details: { path },
        hint: 'choose another path or pass overwrite to replace it',
      });
    }
    throw new KeystoreError('keystore.write_failed', `cannot write keystore file ${path}${code ? ` (${code})` : ''}`, { cause: err, details: { path } });
  } finally {
    if (tmpCreated) await unlink(tmp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
}

/**
 * Reads and validates a keystore file.
 * @throws KeystoreError `keystore.not_found`, `keystore.unreadable`, `keystore.malformed`,
 *   `keystore.unsupported_version`.
 */
export async function readKeystore(path: string): Promise<KeystoreFile> {
  const unreadable = (err: unknown) => {
    const code = errnoOf(err);
    if (code === 'ENOENT') {
      return new KeystoreError('keystore.not_found', `keystore file ${path} does not exist`, { cause: err, details: { path } });
    }
    return new KeystoreError('keystore.unreadable', `cannot read keystore file ${path}${code ? ` (${code})` : ''}`, { cause: err, details: { path } });
  };
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      // Size first: never load a huge file someone put in the keystore's place.
      const { size } = await handle.stat();
      if (size > MAX_FILE_BYTES) throw malformed(`file is ${size} bytes, larger than a keystore can be`, { path });
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof KeystoreError) throw err;
    throw unreadable(err);
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch (cause) {
    throw new KeystoreError('keystore.malformed', `malformed keystore file ${path}: not UTF-8 JSON`, { cause, details: { path } });
  }
  return parseKeystoreFile(value);
}
