/**
 * The coordinator as a real child process (`node --import tsx` on this very file), for tests and
 * benchmarks that must kill it (SIGKILL) or measure it apart from their clients. The child runs
 * `startServer` from @mofn/server on 127.0.0.1, port 0, with the store the environment names
 * (`MOFN_HOME` for SQLite; `MOFN_DATABASE_URL` + `MOFN_DATABASE_SCHEMA` for PostgreSQL), and prints
 * `MOFN_LISTENING <url>` on stdout once it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..', '..');
const READY_PREFIX = 'MOFN_LISTENING ';

/** Where the child keeps its store and key. */
export interface ServerProcessOptions {
  /** MOFN_HOME of the child (SQLite store and server.key live there). */
  readonly home: string;
  /** PostgreSQL URL; SQLite in `home` when absent. */
  readonly databaseUrl?: string;
  /** PostgreSQL schema (passed as MOFN_DATABASE_SCHEMA). */
  readonly databaseSchema?: string;
  /** 64 hex characters (MOFN_SECRET_KEY); the key file in `home` otherwise. */
  readonly secretKey?: string;
  /** Run the background jobs in the child (default false: tests drive what they measure). */
  readonly jobs?: boolean;
  /** Milliseconds to wait for the child to listen (default 30 s). */
  readonly startTimeoutMs?: number;
}

/** A running child server. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** What the child wrote on stderr so far (for failure messages). */
  stderr(): string;
  /** Sends `signal` and waits for the child to exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size now and its peak so far (kB), from /proc (undefined where /proc is absent). */
  memory(): { rssKb: number; peakKb: number } | undefined;
  /** CPU time the child has used so far (user + system, ms), from /proc. */
  cpuMs(): number | undefined;
}

/** Spawns the server child and waits until it prints its URL. */
export async function spawnServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, MOFN_HOME: options.home, MOFN_SERVER_JOBS: options.jobs === true ? '1' : '0' };
  delete env['MOFN_DATABASE_URL'];
  delete env['MOFN_DATABASE_SCHEMA'];
  delete env['MOFN_SECRET_KEY'];
  delete env['MOFN_REDIS_URL'];
  if (options.databaseUrl !== undefined) env['MOFN_DATABASE_URL'] = options.databaseUrl;
  if (options.databaseSchema !== undefined) env['MOFN_DATABASE_SCHEMA'] = options.databaseSchema;
  if (options.secretKey !== undefined) env['MOFN_SECRET_KEY'] = options.secretKey;
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`the server child did not listen within ${String(options.startTimeoutMs ?? 30_000)} ms; stderr: ${err}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line !== undefined) {
        clearTimeout(timer);
        res(line.slice(READY_PREFIX.length).trim());
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`the server child exited before listening (code ${String(code)}, signal ${String(signal)}); stderr: ${err}`));
    });
  });
  const pid = child.pid!;
  const status = (field: string): number | undefined => {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
      return m === null ? undefined : Number(m[1]);
    } catch {
      return undefined;
    }
  };
  return {
    url,
    pid,
    child,
    stderr: () => err,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    memory() {
      const rssKb = status('VmRSS');
      const peakKb = status('VmHWM');
      return rssKb === undefined || peakKb === undefined ? undefined : { rssKb, peakKb };
    },
    cpuMs() {
      try {
        // Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks; the name field may hold spaces.
        const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      } catch {
        return undefined;
      }
    },
  };
}

/** The child's side: start the server from the environment and announce its URL. */
async function runChild(): Promise<void> {
  const { startServer } = await import('@mofn/server');
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: false,
    // Tests and benchmarks drive thousands of requests per minute through a few tokens.
    rateLimit: { perToken: 10_000_000, perIp: 10_000_000 },
    jobs: process.env['MOFN_SERVER_JOBS'] === '1',
    ...(process.env['MOFN_HOME'] === undefined ? {} : { home: process.env['MOFN_HOME'] }),
  });
  // MOFN_SERVER_CPU_PROFILE=FILE: a V8 CPU profile of the child (--cpu-prof is refused in NODE_OPTIONS),
  // from start to SIGTERM, or between two SIGUSR2 when the parent marks one phase (bench/server/submit.ts).
  const profileFile = process.env['MOFN_SERVER_CPU_PROFILE'];
  const profiling = profileFile !== undefined && profileFile !== '';
  let profiler = profiling ? await startProfiler() : undefined;
  let marked = false;
  if (profiling) {
    process.on('SIGUSR2', () => {
      void (async () => {
        const running = profiler;
        profiler = undefined;
        const profile = running === undefined ? undefined : await running();
        if (marked && profile !== undefined) writeFileSync(profileFile, JSON.stringify(profile));
        else profiler = await startProfiler();
        marked = !marked;
      })();
    });
  }
  process.stdout.write(`${READY_PREFIX}${server.url}\n`);
  const stop = () => {
    void (async () => {
      if (profiler !== undefined) writeFileSync(profileFile!, JSON.stringify(await profiler()));
      await server.close();
    })().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Starts the V8 profiler; the returned function stops it and returns the profile. */
async function startProfiler(): Promise<() => Promise<object>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => (await session.post('Profiler.stop')).profile;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === SELF) {
  runChild().catch((e: unknown) => {
    process.stderr.write(`server child failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

