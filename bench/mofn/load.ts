/**
 * Loads a module of @mofn/bitcoin for the benchmark, reporting it as "not available" (not as a
 * failure) while the file or one of the functions the workload needs does not exist yet.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Unavailable } from '../common/harness.ts';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/bitcoin/src');

/**
 * Imports packages/bitcoin/src/<relative> and checks it exports each of `names` as a function.
 * @throws Unavailable when the file or a function is missing; an import error (broken code) propagates.
 */
export async function loadMofnModule<T>(relative: string, names: readonly string[]): Promise<T> {
  const file = path.join(srcDir, relative);
  const shown = `packages/bitcoin/src/${relative}`;
  if (!existsSync(file)) throw new Unavailable(`${shown} does not exist yet`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const missing = names.filter((name) => typeof mod[name] !== 'function');
  if (missing.length > 0) throw new Unavailable(`${shown} does not export ${missing.join(', ')}`);
  return mod as T;
}

/** The account key as mofn's wallet takes it: `[fingerprint/48h/1h/0h/2h]tpub...`. */
export function keyExpression(c: { readonly fingerprint: string; readonly accountPathText: string; readonly tpub: string }): string {
  return `[${c.fingerprint}${c.accountPathText.slice(1).replaceAll("'", 'h')}]${c.tpub}`;
}
