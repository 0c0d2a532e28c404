/**
 * A local EVM dev chain: anvil from the npm package `@foundry-rs/anvil`, started and stopped by
 * mofn (and by tests) on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { MofnError } from '@mofn/core';

/** Options for {@link startDevChain}. */
export interface DevChainOptions {
  /** EVM chain id (default 31337, anvil's own). */
  readonly chainId?: number;
  /** Path of the anvil binary (default: the one shipped in `@foundry-rs/anvil-<os>-<arch>`). */
  readonly binary?: string;
  /** How long to wait for the node to answer JSON-RPC, in ms (default 10,000). */
  readonly startTimeoutMs?: number;
}

/** A running dev chain; call `stop()` when done (tests: in `afterAll`). */
export interface DevChain {
  /** JSON-RPC URL, always on 127.0.0.1. */
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly port: number;
  /** Anvil's funded, unlocked accounts (eth_accounts). */
  readonly accounts: readonly `0x${string}`[];
  /** Stops the node and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

const PLATFORM_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
});

/**
 * Finds the anvil binary shipped by `@foundry-rs/anvil` for this platform.
 * @throws MofnError `devchain.no_anvil` when the platform package is not installed.
 */
export function getAnvilBinary(): string {
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGES[key];
  if (pkg === undefined) {
    throw new MofnError('devchain.no_anvil', `anvil has no npm build for ${key}`, { details: { platform: key } });
  }
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch (cause) {
    throw new MofnError('devchain.no_anvil', `anvil binary package ${pkg} is not installed`, {
      hint: 'npm install -D @foundry-rs/anvil',
      cause,
    });
  }
  const bin = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!existsSync(bin)) throw new MofnError('devchain.no_anvil', `anvil binary missing at ${bin}`);
  return bin;
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function rpc(url: string, method: string, params: readonly unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error !== undefined) throw new MofnError('devchain.rpc_failed', `${method}: ${body.error.message ?? 'error'}`);
  return body.result;
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts anvil on 127.0.0.1 on a free port and waits until it answers JSON-RPC.
 * @throws MofnError `devchain.no_anvil`, `devchain.start_failed`
 * @example
 * const chain = await startDevChain();
 * try { ... chain.rpcUrl ... } finally { await chain.stop(); }
 */
export async function startDevChain(options: DevChainOptions = {}): Promise<DevChain> {
  const binary = options.binary ?? getAnvilBinary();
  const chainId = options.chainId ?? 31337;
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let lastError: unknown;
  // The port is free when probed but another process may take it before anvil binds: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    const spawnError = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        reject(new MofnError('devchain.start_failed', `anvil exited with code ${String(code)}: ${stderr.trim()}`));
      });
    });
    spawnError.catch(() => undefined);
    const rpcUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        try {
          const id = await Promise.race([rpc(rpcUrl, 'eth_chainId'), spawnError]);
          if (id !== `0x${chainId.toString(16)}`) throw new MofnError('devchain.start_failed', `unexpected chain id ${String(id)}`);
          break;
        } catch (err) {
          if (err instanceof MofnError || child.exitCode !== null || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      const accounts = (await rpc(rpcUrl, 'eth_accounts')) as `0x${string}`[];
      let stopped: Promise<void> | undefined;
      return {
        rpcUrl,
        chainId,
        port,
        accounts: Object.freeze([...accounts]),
        stop: () => (stopped ??= stopProcess(child)),
      };
    } catch (err) {
      lastError = err;
      await stopProcess(child);
    }
  }
  throw new MofnError('devchain.start_failed', 'anvil did not start on 127.0.0.1', { cause: lastError });
}
