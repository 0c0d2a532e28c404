import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { InvalidInputError, NotFoundError } from '@mofn/core';

/** Reads a file, or standard input when `path` is `-`. */
export function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('file.not_found', `no such file: ${path}`, { cause });
    throw new InvalidInputError('file.unreadable', `cannot read ${path === '-' ? 'standard input' : path}`, { cause });
  }
}

/** Writes text atomically (temp file + rename) so a crash never leaves half a PSBT behind. */
export function writeOutput(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** JSON with bigint amounts as decimal strings (JSON has no integers beyond 2^53). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2);
}

/** Output sink, replaceable in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The process's real stdout/stderr. */
export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};
