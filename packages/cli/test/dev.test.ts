/**
 * `mofn dev chain` as users run it: a real process that starts anvil on 127.0.0.1, deploys the Safe
 * singletons, says ready, and stops cleanly (with its anvil) on SIGTERM. `deploy-safe-singletons`
 * against it then finds everything already there; against a fresh anvil it deploys all five.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDevChain } from '@mofn/ethereum';
import { run } from './run.ts';

const bin = join(resolve(import.meta.dirname, '..'), 'bin', 'mofn.js');


describe('mofn dev', () => {
  it('chain: starts, deploys the singletons, serves JSON-RPC, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'dev', 'chain'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('ready') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('ready');
      const rpc = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      expect(rpc).toBeDefined();
      expect(out).toMatch(/safe\s+0x41675C099F32341bf84BFc5382aF534df5C7461a/i);
      const again = await run('dev', 'deploy-safe-singletons', '--rpc', rpc!, '--chain-id', '31337');
      expect(again.code).toBe(0);
      expect(again.out).toContain('already deployed');
      const wrongChain = await run('dev', 'deploy-safe-singletons', '--rpc', rpc!, '--chain-id', '1');
      expect(wrongChain.code).toBe(1);
      expect(wrongChain.err).toContain('chain.wrong_chain_id');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('deploy-safe-singletons: deploys all six on a bare chain', async () => {
    const chain = await startDevChain({ chainId: 31338 });
    try {
      const r = await run('dev', 'deploy-safe-singletons', '--rpc', chain.rpcUrl);
      expect(r.code).toBe(0);
      expect(r.out).toContain('deployed 6 Safe v1.4.1 singleton(s)');
    } finally {
      await chain.stop();
    }
  });
});
