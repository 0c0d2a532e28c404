/** Runs the CLI in-process with captured output, as the tests of each command group do. */
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';

/** What one `mofn ...` invocation printed and returned. */
export interface RunResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `mofn ...argv`; each printed chunk ends with one newline. */
export async function run(...argv: string[]): Promise<RunResult> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`) };
  const code = await main(['node', 'mofn', ...argv], io);
  return { code, out, err };
}

/** Runs `mofn ...argv`, expects success, returns the trimmed standard output. */
export async function ok(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  if (r.code !== 0) throw new Error(`mofn ${argv.join(' ')} failed (${String(r.code)}): ${r.err}`);
  return r.out.trim();
}
