/**
 * `npm run bench`: measures mofn and its peers on DESIGN.md's workloads W1, W2 and W4.
 *
 * Every (library, workload, size) runs in a fresh child process (bench/<lib>/<workload>.ts) with
 * warm-up and measured runs; the parent checks that every library produced the same output
 * (W1: sha256 of the address list; W2/W4: sha256 of the final transaction), prints min / median,
 * mofn's speed-up over each peer from this same run, and the targets with PASS / MISS, and
 * writes bench/results/latest.json.
 *
 * Exit status: 0 when every output agrees (a MISS is reported, not a failure); 1 when outputs
 * differ between libraries or runs, or a benchmark crashed; 2 on bad arguments.
 *
 *   npm run bench                       full run (1 warm-up + 5 measured runs each)
 *   npm run bench -- --quick            1 warm-up + 2 runs, no bitcoinjs-lib at 800 inputs
 *   npm run bench -- --only W1,W4       some workloads only (also SYNC: wallet sync over loopback Electrum,
 *                                       SERVER: verified signature submissions vs /healthz, SQLite and PostgreSQL,
 *                                       SAFE: execTransaction gas, mofn vs protocol-kit, on anvil)
 *   npm run bench -- --libs mofn,scure  some libraries only (mofn, bitcoinjs, caravan, scure)
 *   npm run bench -- --runs 7 --warmup 2
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGE_PREFIX } from './common/harness.ts';
import type { ChildMessage } from './common/harness.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);

type WorkloadId = 'W1' | 'W2' | 'W4';
const SYSTEM_IDS = ['SYNC', 'SERVER', 'SAFE'] as const;
type SystemId = (typeof SYSTEM_IDS)[number];
type LibId = 'mofn' | 'bitcoinjs' | 'caravan' | 'scure';

const WORKLOADS: Record<WorkloadId, string> = {
  W1: "10,000 receive addresses wsh(sortedmulti(2, K0/0/i, K1/0/i, K2/0/i)), testnet, accounts m/48'/1'/0'/2'",
  W2: '3-of-5 wsh(sortedmulti) PSBT: build + serialize, 3 cosigners parse + HD-sign + serialize, parse + combine, finalize, extract',
  W4: '2-of-3 tr(NUMS, sortedmulti_a) PSBT: build + serialize, 2 cosigners parse + HD-sign + serialize, parse + combine, finalize, extract',
};

const LIB_NAMES: Record<LibId, string> = {
  mofn: 'mofn',
  bitcoinjs: 'bitcoinjs-lib',
  caravan: '@caravan/bitcoin',
  scure: '@scure/btc-signer',
};

const W1_ADDRESSES = 10_000;

/**
 * The large W2 size for the scaling target (800 inputs, as the issue says). A 3-of-5 P2WSH spend of
 * 800 inputs weighs about 447,000 WU, above Bitcoin Core's 400,000 WU standardness limit, which
 * mofn's createPsbt enforces by default: the bench raises `maxWeight` for this measurement only.
 */
const W2_LARGE_INPUTS = 800;

/** Targets from the performance issue. */
const TARGETS = {
  w1AddressRatio: 3,
  w2SpeedupOverBitcoinjs: 5,
  w2PerInputGrowth: 1.3,
} as const;

interface Options {
  readonly warmup: number;
  readonly runs: number;
  readonly quick: boolean;
  readonly only: ReadonlySet<WorkloadId>;
  /** Whole-system workloads run after the library comparisons. */
  readonly system: ReadonlySet<SystemId>;
  readonly libs: ReadonlySet<LibId>;
  /** Wall-clock limit for one child process, ms. */
  readonly timeoutMs: number;
}

interface Job {
  readonly workload: WorkloadId;
  readonly lib: LibId;
  /** Inputs of the PSBT (W2/W4); undefined for W1. */
  readonly inputs: number | undefined;
  readonly warmup: number;
  readonly runs: number;
  /** Extra measurement shown for context, with fewer runs, not used by the targets. */
  readonly note?: string;
}

interface RunRecord {
  readonly ms: number;
  readonly digest: string;
  readonly phases?: Readonly<Record<string, number>>;
  readonly info?: Readonly<Record<string, string | number>>;
}

interface JobResult {
  readonly job: Job;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  readonly warmups: RunRecord[];
  readonly runs: RunRecord[];
  stderr: string;
  wallMs: number;
}

interface Stats {
  readonly minMs: number;
  readonly medianMs: number;
  readonly phasesMedianMs: Record<string, number>;
}

class UsageError extends Error {}

function parseOptions(argv: readonly string[]): Options {
  let warmup: number | undefined;
  let runs: number | undefined;
  let quick = false;
  let only: Set<WorkloadId> = new Set(['W1', 'W2', 'W4']);
  let system: Set<SystemId> = new Set(['SYNC', 'SERVER', 'SAFE']);
  let libs: Set<LibId> = new Set(['mofn', 'bitcoinjs', 'caravan', 'scure']);
  let timeoutMs = 10 * 60_000;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const count = (text: string, flag: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got ${text}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [arg, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      i++;
      return value(i - 1, flag);
    };
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--runs':
        runs = count(take(), flag, 1);
        break;
      case '--warmup':
        warmup = count(take(), flag, 0);
        break;
      case '--timeout':
        timeoutMs = count(take(), flag, 1) * 1000;
        break;
      case '--only': {
        const ids = take().split(',').map((s) => s.trim().toUpperCase());
        for (const id of ids) if (!(id in WORKLOADS) && !(SYSTEM_IDS as readonly string[]).includes(id)) throw new UsageError(`--only: unknown workload ${id} (W1, W2, W4, SYNC, SERVER, SAFE)`);
        only = new Set(ids.filter((id) => id in WORKLOADS) as WorkloadId[]);
        system = new Set(ids.filter((id) => (SYSTEM_IDS as readonly string[]).includes(id)) as SystemId[]);
        break;
      }
      case '--libs': {
        const ids = take().split(',').map((s) => s.trim().toLowerCase());
        for (const id of ids) if (!(id in LIB_NAMES)) throw new UsageError(`--libs: unknown library ${id} (mofn, bitcoinjs, caravan, scure)`);
        libs = new Set(ids as LibId[]);
        break;
      }
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return { warmup: warmup ?? 1, runs: runs ?? (quick ? 2 : 5), quick, only, system, libs, timeoutMs };
}

function planJobs(o: Options): Job[] {
  const base = { warmup: o.warmup, runs: o.runs };
  const all: Job[] = [
    { workload: 'W1', lib: 'mofn', inputs: undefined, ...base },
    { workload: 'W1', lib: 'bitcoinjs', inputs: undefined, ...base },
    { workload: 'W1', lib: 'caravan', inputs: undefined, ...base },
    { workload: 'W1', lib: 'scure', inputs: undefined, ...base },
    { workload: 'W2', lib: 'mofn', inputs: 50, ...base },
    { workload: 'W2', lib: 'mofn', inputs: 200, ...base },
    { workload: 'W2', lib: 'mofn', inputs: W2_LARGE_INPUTS, ...base },
    { workload: 'W2', lib: 'bitcoinjs', inputs: 200, ...base },
    { workload: 'W2', lib: 'scure', inputs: 200, ...base },
    { workload: 'W4', lib: 'mofn', inputs: 50, ...base },
    { workload: 'W4', lib: 'bitcoinjs', inputs: 50, ...base },
    { workload: 'W4', lib: 'scure', inputs: 50, ...base },
  ];
  if (!o.quick) {
    // bitcoinjs-lib's PSBT creation is quadratic in the number of inputs; one size up shows it.
    // About 12 s a run, so fewer runs: context, not a target.
    all.splice(8, 0, {
      workload: 'W2', lib: 'bitcoinjs', inputs: W2_LARGE_INPUTS, warmup: 0, runs: Math.min(o.runs, 2),
      note: 'context: quadratic build; fewer runs',
    });
  }
  return all.filter((j) => o.only.has(j.workload) && o.libs.has(j.lib));
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function statsOf(r: JobResult): Stats | undefined {
  if (r.status !== 'ok' || r.runs.length === 0) return undefined;
  const times = r.runs.map((x) => x.ms);
  const phaseNames = Object.keys(r.runs[0]!.phases ?? {});
  const phasesMedianMs: Record<string, number> = {};
  for (const name of phaseNames) phasesMedianMs[name] = median(r.runs.map((x) => x.phases?.[name] ?? 0));
  return { minMs: Math.min(...times), medianMs: median(times), phasesMedianMs };
}

function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

function jobLabel(job: Job): string {
  return `${job.workload} ${LIB_NAMES[job.lib]}${job.inputs === undefined ? '' : ` ${job.inputs} inputs`}`;
}

function runJob(job: Job, position: string, timeoutMs: number): Promise<JobResult> {
  const file = path.join(benchDir, job.lib, `${job.workload.toLowerCase()}.ts`);
  const args = ['--import', 'tsx', '--expose-gc', file, '--warmup', String(job.warmup), '--runs', String(job.runs)];
  if (job.inputs !== undefined) args.push('--inputs', String(job.inputs));
  const result: JobResult = { job, status: 'failed', warmups: [], runs: [], stderr: '', wallMs: 0 };
  const started = Date.now();
  process.stdout.write(`${position} ${jobLabel(job)}:`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let finished = false;
    let buffered = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onMessage = (m: ChildMessage): void => {
      switch (m.type) {
        case 'start':
          break;
        case 'run': {
          const record: RunRecord = {
            ms: m.ms,
            digest: m.digest,
            ...(m.phases === undefined ? {} : { phases: m.phases }),
            ...(m.info === undefined ? {} : { info: m.info }),
          };
          if (m.warmup) result.warmups.push(record);
          else result.runs.push(record);
          const label = m.warmup ? 'warm-up' : `${result.runs.length}/${job.runs}`;
          process.stdout.write(`  ${label} ${formatMs(m.ms)}`);
          break;
        }
        case 'unavailable':
          result.status = 'unavailable';
          result.reason = m.reason;
          break;
        case 'error':
          result.status = 'failed';
          result.reason = m.message;
          break;
        case 'done':
          finished = true;
          break;
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith(MESSAGE_PREFIX)) onMessage(JSON.parse(line.slice(MESSAGE_PREFIX.length)) as ChildMessage);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      result.stderr += chunk;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      result.wallMs = Date.now() - started;
      if (result.status !== 'unavailable') {
        if (finished && code === 0 && result.runs.length === job.runs) result.status = 'ok';
        else {
          result.status = 'failed';
          result.reason ??= timedOut
            ? `timed out after ${formatMs(timeoutMs)}`
            : `child exited with ${signal ?? `code ${code}`}: ${result.stderr.trim().split('\n').slice(-15).join('\n')}`;
        }
      }
      if (result.status === 'ok') {
        const s = statsOf(result)!;
        process.stdout.write(`  -> min ${formatMs(s.minMs)}, median ${formatMs(s.medianMs)}\n`);
      } else if (result.status === 'unavailable') {
        process.stdout.write(` not available (${result.reason ?? '?'})\n`);
      } else {
        process.stdout.write(` FAILED\n${indent(result.reason ?? '')}\n`);
      }
      resolve(result);
    });
  });
}

function indent(text: string, by = '    '): string {
  return text.split('\n').map((l) => by + l).join('\n');
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAlign: ReadonlySet<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    '  ' + cells.map((cell, c) => (rightAlign.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

interface DigestGroup {
  readonly workload: WorkloadId;
  readonly inputs: number | undefined;
  readonly digests: Record<string, string[]>;
  readonly ok: boolean;
}

/** Every run of every library on the same (workload, size) must give the same digest. */
function checkDigests(results: readonly JobResult[]): DigestGroup[] {
  const groups = new Map<string, JobResult[]>();
  for (const r of results) {
    if (r.warmups.length + r.runs.length === 0) continue;
    const key = `${r.job.workload}:${r.job.inputs ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const digests: Record<string, string[]> = {};
    for (const r of rs) digests[LIB_NAMES[r.job.lib]] = [...new Set([...r.warmups, ...r.runs].map((x) => x.digest))];
    const all = new Set(Object.values(digests).flat());
    return { workload: rs[0]!.job.workload, inputs: rs[0]!.job.inputs, digests, ok: all.size === 1 };
  });
}

interface Comparison {
  readonly workload: WorkloadId;
  readonly inputs: number | undefined;
  readonly peer: string;
  /** Peer time / mofn time: how many times faster mofn is. */
  readonly speedupMedian: number;
  readonly speedupMin: number;
}

interface TargetResult {
  readonly id: string;
  readonly description: string;
  readonly value: number | undefined;
  readonly verdict: 'PASS' | 'MISS' | 'n/a';
  readonly detail: string;
}

function find(results: readonly JobResult[], workload: WorkloadId, lib: LibId, inputs?: number): { r: JobResult; s: Stats } | undefined {
  const r = results.find((x) => x.job.workload === workload && x.job.lib === lib && x.job.inputs === inputs);
  const s = r === undefined ? undefined : statsOf(r);
  return r === undefined || s === undefined ? undefined : { r, s };
}

function missingReason(results: readonly JobResult[], workload: WorkloadId, lib: LibId, inputs?: number): string {
  const r = results.find((x) => x.job.workload === workload && x.job.lib === lib && x.job.inputs === inputs);
  const what = `${LIB_NAMES[lib]} ${workload}${inputs === undefined ? '' : ` at ${inputs} inputs`}`;
  if (r === undefined) return `${what} not run`;
  return `${what} ${r.status === 'unavailable' ? 'not available' : 'failed'}`;
}

function compare(results: readonly JobResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const r of results) {
    if (r.job.lib === 'mofn') continue;
    const peer = find(results, r.job.workload, r.job.lib, r.job.inputs);
    const mofn = find(results, r.job.workload, 'mofn', r.job.inputs);
    if (peer === undefined || mofn === undefined) continue;
    out.push({
      workload: r.job.workload,
      inputs: r.job.inputs,
      peer: LIB_NAMES[r.job.lib],
      speedupMedian: peer.s.medianMs / mofn.s.medianMs,
      speedupMin: peer.s.minMs / mofn.s.minMs,
    });
  }
  return out;
}

function evaluateTargets(results: readonly JobResult[], o: Options): TargetResult[] {
  const targets: TargetResult[] = [];
  if (o.only.has('W1')) {
    const description = `W1: mofn addresses/s >= ${TARGETS.w1AddressRatio}x the fastest peer's`;
    const mofn = find(results, 'W1', 'mofn');
    const peers = (['bitcoinjs', 'caravan', 'scure'] as const)
      .map((lib) => ({ lib, m: find(results, 'W1', lib) }))
      .filter((p): p is { lib: 'bitcoinjs' | 'caravan' | 'scure'; m: { r: JobResult; s: Stats } } => p.m !== undefined);
    if (mofn === undefined || peers.length === 0) {
      targets.push({ id: 'w1', description, value: undefined, verdict: 'n/a', detail: mofn === undefined ? missingReason(results, 'W1', 'mofn') : 'no peer measured' });
    } else {
      const fastest = peers.reduce((a, b) => (b.m.s.medianMs < a.m.s.medianMs ? b : a));
      const mofnRate = (W1_ADDRESSES * 1000) / mofn.s.medianMs;
      const peerRate = (W1_ADDRESSES * 1000) / fastest.m.s.medianMs;
      const ratio = mofnRate / peerRate;
      targets.push({
        id: 'w1', description, value: ratio, verdict: ratio >= TARGETS.w1AddressRatio ? 'PASS' : 'MISS',
        detail: `mofn ${formatInt(mofnRate)}/s vs ${LIB_NAMES[fastest.lib]} ${formatInt(peerRate)}/s (medians): ${formatRatio(ratio)}`,
      });
    }
  }
  if (o.only.has('W2')) {
    const description = `W2: mofn >= ${TARGETS.w2SpeedupOverBitcoinjs}x faster than bitcoinjs-lib at 200 inputs`;
    const mofn = find(results, 'W2', 'mofn', 200);
    const bjs = find(results, 'W2', 'bitcoinjs', 200);
    if (mofn === undefined || bjs === undefined) {
      const detail = mofn === undefined ? missingReason(results, 'W2', 'mofn', 200) : missingReason(results, 'W2', 'bitcoinjs', 200);
      targets.push({ id: 'w2-speed', description, value: undefined, verdict: 'n/a', detail });
    } else {
      const ratio = bjs.s.medianMs / mofn.s.medianMs;
      targets.push({
        id: 'w2-speed', description, value: ratio, verdict: ratio >= TARGETS.w2SpeedupOverBitcoinjs ? 'PASS' : 'MISS',
        detail: `bitcoinjs-lib ${formatMs(bjs.s.medianMs)} / mofn ${formatMs(mofn.s.medianMs)} (medians): ${formatRatio(ratio)}`,
      });
    }
    const scaleDescription = `W2: mofn time per input at ${W2_LARGE_INPUTS} inputs <= ${TARGETS.w2PerInputGrowth}x that at 50`;
    const small = find(results, 'W2', 'mofn', 50);
    const large = find(results, 'W2', 'mofn', W2_LARGE_INPUTS);
    if (small === undefined || large === undefined) {
      const detail = small === undefined ? missingReason(results, 'W2', 'mofn', 50) : missingReason(results, 'W2', 'mofn', W2_LARGE_INPUTS);
      targets.push({ id: 'w2-scaling', description: scaleDescription, value: undefined, verdict: 'n/a', detail });
    } else {
      const perSmall = small.s.medianMs / 50;
      const perLarge = large.s.medianMs / W2_LARGE_INPUTS;
      const growth = perLarge / perSmall;
      targets.push({
        id: 'w2-scaling', description: scaleDescription, value: growth, verdict: growth <= TARGETS.w2PerInputGrowth ? 'PASS' : 'MISS',
        detail: `${perSmall.toFixed(3)} ms/input at 50, ${perLarge.toFixed(3)} ms/input at ${W2_LARGE_INPUTS} (medians): ${formatRatio(growth)}`,
      });
    }
  }
  return targets;
}

function report(results: readonly JobResult[], o: Options): { groups: DigestGroup[]; comparisons: Comparison[]; targets: TargetResult[] } {
  const groups = checkDigests(results);
  const comparisons = compare(results);
  const targets = evaluateTargets(results, o);
  const out: string[] = [''];
  for (const w of ['W1', 'W2', 'W4'] as const) {
    const rs = results.filter((r) => r.job.workload === w);
    if (rs.length === 0) continue;
    out.push(`${w}  ${WORKLOADS[w]}`);
    const phased = w !== 'W1';
    const phaseNames = phased ? ['build', 'sign', 'combine', 'finalize', 'extract'] : [];
    const header = [
      'library', ...(phased ? ['inputs'] : []), 'min', 'median',
      phased ? 'ms/input' : 'addr/s', ...phaseNames, 'mofn speed-up (median | min)',
    ];
    const rows = rs.map((r) => {
      const s = statsOf(r);
      const name = LIB_NAMES[r.job.lib] + (r.job.note === undefined ? '' : ' *');
      const size = phased ? [String(r.job.inputs)] : [];
      if (s === undefined) return [name, ...size, r.status === 'unavailable' ? 'n/a' : 'FAILED'];
      const rate = phased ? (s.medianMs / r.job.inputs!).toFixed(2) : formatInt((W1_ADDRESSES * 1000) / s.medianMs);
      const c = comparisons.find((x) => x.workload === w && x.inputs === r.job.inputs && x.peer === LIB_NAMES[r.job.lib]);
      const speed = r.job.lib === 'mofn' ? '-' : c === undefined ? 'n/a' : `${formatRatio(c.speedupMedian)} | ${formatRatio(c.speedupMin)}`;
      return [name, ...size, formatMs(s.minMs), formatMs(s.medianMs), rate, ...phaseNames.map((p) => formatMs(s.phasesMedianMs[p] ?? 0)), speed];
    });
    const right = new Set(header.map((_, i) => i).filter((i) => i > 0 && i < header.length - 1));
    out.push(table(header, rows, right));
    const unavailable = new Map<string, string[]>();
    for (const r of rs.filter((x) => x.status === 'unavailable')) {
      const key = `${LIB_NAMES[r.job.lib]}: not available (${r.reason ?? 'no reason given'})`;
      unavailable.set(key, [...(unavailable.get(key) ?? []), r.job.inputs === undefined ? '' : String(r.job.inputs)]);
    }
    for (const [text, sizes] of unavailable) out.push(`  ${text}${sizes[0] === '' ? '' : ` [inputs ${sizes.join(', ')}]`}`);
    for (const r of rs.filter((x) => x.status === 'failed')) out.push(`  ${jobLabel(r.job)}: FAILED (see above)`);
    for (const r of rs.filter((x) => x.job.note !== undefined && x.status === 'ok')) {
      out.push(`  * ${LIB_NAMES[r.job.lib]} at ${r.job.inputs} inputs: ${r.job.note} (${r.job.warmup} warm-up, ${r.job.runs} runs)`);
    }
    for (const g of groups.filter((x) => x.workload === w)) {
      const size = g.inputs === undefined ? '' : ` ${g.inputs} inputs`;
      const libs = Object.keys(g.digests).length;
      if (g.ok) out.push(`  output${size}: identical across ${libs} ${libs === 1 ? 'library' : 'libraries'} and all runs, sha256 ${Object.values(g.digests)[0]![0]!.slice(0, 16)}...`);
      else {
        out.push(`  output${size}: MISMATCH`);
        for (const [lib, ds] of Object.entries(g.digests)) out.push(`    ${lib}: ${ds.join(', ')}`);
      }
    }
    out.push('');
  }
  if (targets.length > 0) {
    out.push('Targets');
    for (const t of targets) out.push(`  ${t.verdict.padEnd(4)}  ${t.description}: ${t.detail}`);
    out.push('');
  }
  process.stdout.write(out.join('\n') + '\n');
  return { groups, comparisons, targets };
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message !== '') process.stderr.write(`bench: ${error.message}\n`);
    process.stderr.write('usage: npm run bench -- [--quick] [--only W1,W2,W4] [--libs mofn,bitcoinjs,caravan,scure] [--runs N] [--warmup N] [--timeout SECONDS]\n');
    process.exitCode = error.message === '' ? 0 : 2;
    return;
  }
  const jobs = options.only.size === 0 ? [] : planJobs(options);
  const started = Date.now();
  process.stdout.write(
    `mofn bench: ${jobs.length} jobs, ${options.warmup} warm-up + ${options.runs} measured runs each, fresh process per job ` +
    `(node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`,
  );
  const results: JobResult[] = [];
  for (const [i, job] of jobs.entries()) {
    results.push(await runJob(job, `[${i + 1}/${jobs.length}]`, options.timeoutMs));
  }
  const { groups, comparisons, targets } = report(results, options);
  const mismatched = groups.filter((g) => !g.ok);
  const failed = results.filter((r) => r.status === 'failed');

  const outFile = path.join(benchDir, 'results', 'latest.json');
  mkdirSync(path.dirname(outFile), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: os.loadavg(),
    options: { warmup: options.warmup, runs: options.runs, quick: options.quick, only: [...options.only], libs: [...options.libs] },
    wallSeconds: (Date.now() - started) / 1000,
    jobs: results.map((r) => {
      const s = statsOf(r);
      return {
        workload: r.job.workload,
        library: LIB_NAMES[r.job.lib],
        inputs: r.job.inputs ?? null,
        note: r.job.note ?? null,
        status: r.status,
        reason: r.reason ?? null,
        warmupMs: r.warmups.map((x) => x.ms),
        runsMs: r.runs.map((x) => x.ms),
        minMs: s?.minMs ?? null,
        medianMs: s?.medianMs ?? null,
        addressesPerSecond: r.job.workload === 'W1' && s !== undefined ? (W1_ADDRESSES * 1000) / s.medianMs : null,
        msPerInput: r.job.inputs !== undefined && s !== undefined ? s.medianMs / r.job.inputs : null,
        phasesMedianMs: s?.phasesMedianMs ?? null,
        digests: [...new Set([...r.warmups, ...r.runs].map((x) => x.digest))],
        info: r.runs[0]?.info ?? r.warmups[0]?.info ?? null,
      };
    }),
    outputs: groups,
    comparisons,
    targets,
    ok: mismatched.length === 0 && failed.length === 0,
  };
  writeFileSync(outFile, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`Results written to ${path.relative(process.cwd(), outFile)} (wall time ${formatMs(Date.now() - started)})\n`);

  await runSystemWorkloads(options);

  if (mismatched.length > 0) {
    process.stdout.write(`CORRECTNESS FAILURE: outputs differ for ${mismatched.map((g) => `${g.workload}${g.inputs === undefined ? '' : `@${g.inputs}`}`).join(', ')}\n`);
    process.exitCode = 1;
  }
  if (failed.length > 0) {
    process.stdout.write(`FAILED: ${failed.map((r) => jobLabel(r.job)).join(', ')}\n`);
    process.exitCode = 1;
  }
}

/**
 * The whole-system workloads, each in its own child process (no peer library: their targets are
 * absolute, or relative to the same server's /healthz): wallet sync over loopback Electrum with
 * 20 ms per round trip, and verified signature submissions on SQLite and PostgreSQL.
 */
async function runSystemWorkloads(options: Options): Promise<void> {
  const scripts: [SystemId, string, string[]][] = [
    ['SYNC', 'sync/electrum.ts', []],
    ['SERVER', 'server/submit.ts', ['--store', 'sqlite']],
    ['SAFE', 'safe/gas.ts', []],
  ];
  const pg = process.env['MOFN_TEST_PG_URL'] ?? process.env['MOFN_BENCH_PG_URL'];
  if (pg !== undefined && pg !== '') scripts.push(['SERVER', 'server/submit.ts', ['--store', 'postgres']]);
  else if (options.system.has('SERVER')) process.stdout.write('SERVER on PostgreSQL skipped: set MOFN_BENCH_PG_URL (or MOFN_TEST_PG_URL)\n');
  for (const [id, script, args] of scripts) {
    if (!options.system.has(id)) continue;
    process.stdout.write(`\n== ${id}: node --import tsx bench/${script} ${args.join(' ')}\n`);
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, script), ...args], { cwd: rootDir, stdio: 'inherit' });
      child.on('exit', () => resolve());
    });
  }
}

await main();
