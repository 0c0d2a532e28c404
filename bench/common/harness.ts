/**
 * Child-process side of the benchmark: one (library, workload) per process. The parent
 * (bench/run.ts) starts `node --import tsx --expose-gc bench/<lib>/<workload>.ts --warmup W
 * --runs R [--inputs N]` and reads one `@@bench {json}` line per event from stdout.
 */
import { performance } from 'node:perf_hooks';

/** What one run of a workload returns. */
export interface RunOutput {
  /** Hex sha256 of the workload's output (address list or final transaction): must match across libraries. */
  readonly digest: string;
  /** Time per phase in milliseconds, for the workloads that have phases. */
  readonly phases?: Readonly<Record<string, number>>;
  /** Small facts about the output worth printing (e.g. txid, first address). */
  readonly info?: Readonly<Record<string, string | number>>;
}

/** The parameters the parent passes to a child. */
export interface ChildArgs {
  readonly warmup: number;
  readonly runs: number;
  /** Number of inputs for W2/W4. */
  readonly inputs: number;
}

/** Thrown by a workload whose library (mofn module) is not available yet: reported, not a failure. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

/** Messages from child to parent. */
export type ChildMessage =
  | { readonly type: 'start'; readonly warmup: number; readonly runs: number }
  | {
      readonly type: 'run';
      readonly n: number;
      readonly warmup: boolean;
      readonly ms: number;
      readonly digest: string;
      readonly phases?: Readonly<Record<string, number>>;
      readonly info?: Readonly<Record<string, string | number>>;
    }
  | { readonly type: 'unavailable'; readonly reason: string }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done' };

/** Prefix of every protocol line on stdout (libraries may print their own lines). */
export const MESSAGE_PREFIX = '@@bench ';

function send(message: ChildMessage): void {
  process.stdout.write(`${MESSAGE_PREFIX}${JSON.stringify(message)}\n`);
}

function intArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`bench child: bad --${name} ${process.argv[at + 1]}`);
  return value;
}

/** Measures phases: `lap('build')` records the time since the previous lap (or creation). */
export class PhaseTimer {
  readonly phases: Record<string, number> = {};
  private last = performance.now();

  /** Adds the time since the last lap to phase `name` (phases may repeat: times add up). */
  lap(name: string): void {
    const now = performance.now();
    this.phases[name] = (this.phases[name] ?? 0) + (now - this.last);
    this.last = now;
  }
}

/**
 * Runs `prepare` once (untimed: building the fixture, loading a library, checking it is there), then the workload
 * `warmup + runs` times, timing each run and reporting it to the parent. Exits non-zero on an error.
 */
export async function runChild<T>(
  prepare: (args: ChildArgs) => T | Promise<T>,
  work: (context: T, args: ChildArgs) => RunOutput | Promise<RunOutput>,
): Promise<void> {
  const args: ChildArgs = { warmup: intArg('warmup', 1), runs: intArg('runs', 5), inputs: intArg('inputs', 0) };
  const gc = (globalThis as { gc?: () => void }).gc;
  let context: T;
  try {
    context = await prepare(args);
  } catch (error) {
    if (error instanceof Unavailable) {
      send({ type: 'unavailable', reason: error.message });
      return;
    }
    throw error;
  }
  send({ type: 'start', warmup: args.warmup, runs: args.runs });
  const total = args.warmup + args.runs;
  try {
    for (let n = 0; n < total; n++) {
      gc?.();
      const start = performance.now();
      const output = await work(context, args);
      const ms = performance.now() - start;
      send({
        type: 'run',
        n,
        warmup: n < args.warmup,
        ms,
        digest: output.digest,
        ...(output.phases === undefined ? {} : { phases: output.phases }),
        ...(output.info === undefined ? {} : { info: output.info }),
      });
    }
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    send({ type: 'error', message });
    process.exitCode = 1;
    return;
  }
  send({ type: 'done' });
}
