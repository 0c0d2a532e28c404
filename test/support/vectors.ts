/**
 * Locates the shared public test vectors (../shared/vectors, or MOFN_VECTORS_DIR).
 * Vector suites are files named `*.vectors.test.ts`; vitest.config.ts leaves them out
 * (and says so in one line) when the folder is absent, so no test is silently skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The vectors folder, or undefined when it is not on this machine. */
export function findVectorsDir(): string | undefined {
  const candidates = [process.env['MOFN_VECTORS_DIR'], join(repoRoot, '..', 'shared', 'vectors')];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'README.md'))) return dir;
  return undefined;
}

/** Absolute path of a file under the vectors folder; throws if the folder is missing. */
export function vectorPath(relative: string): string {
  const dir = findVectorsDir();
  if (!dir) throw new Error('test vectors not found: set MOFN_VECTORS_DIR or place them at ../shared/vectors');
  return join(dir, relative);
}

/** Reads and parses a JSON vector file. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- callers name the file's shape
export function readVectorJson<T = any>(relative: string): T {
  return JSON.parse(readFileSync(vectorPath(relative), 'utf8')) as T;
}

/** Reads a text vector file. */
export function readVectorText(relative: string): string {
  return readFileSync(vectorPath(relative), 'utf8');
}
