/**
 * `mofn serve`, `mofn admin ...` and `mofn audit ...` as users run them: a real server process on
 * the local store, bootstrapped with a token from the admin command, stopped by SIGTERM; the audit
 * command finds an edited event.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@mofn/service';
import { run } from './run.ts';
import { testCosigner } from '../../../test/support/cosigners.ts';

const bin = join(resolve(import.meta.dirname, '..'), 'bin', 'mofn.js');
let home: string;
const saved = process.env['MOFN_HOME'];


beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'mofn-cli-srv-'));
  process.env['MOFN_HOME'] = home;
});
afterAll(() => {
  if (saved === undefined) delete process.env['MOFN_HOME'];
  else process.env['MOFN_HOME'] = saved;
  rmSync(home, { recursive: true, force: true });
});

describe('mofn serve / admin / audit', () => {
  it('bootstraps an admin, serves /v1 with its token, and stops on SIGTERM', async () => {
    const user = await run('admin', 'create-user', 'root', '--admin');
    expect(user.code).toBe(0);
    const token = await run('admin', 'create-token', 'root', '--label', 'laptop');
    expect(token.code).toBe(0);
    const secret = token.out.trim();
    expect(secret).toMatch(/^mofn_[A-Za-z0-9_-]{43}$/);
    expect(token.err).toContain('not shown again');

    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOFN_HOME: home } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('mofn coordinator listening') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
      expect(url, out).toBeDefined();
      const me = await fetch(`${url!}/v1/users/me`, { headers: { authorization: `Bearer ${secret}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { name: string }).name).toBe('root');
      expect((await fetch(`${url!}/v1/users/me`)).status).toBe(401);
      // No secret reaches the log: neither the token nor its header.
      expect(out).not.toContain(secret);
      // Users existed: no first-start admin token file was written.
      expect(out).not.toContain('admin.token');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('audit verify: intact after a wallet is created; an edited event is named', async () => {
    const keys = ['x', 'y', 'z'].map((l) => testCosigner(`cli-audit-${l}`).key);
    expect((await run('wallet', 'create', 'audited', '--threshold', '2', '--network', 'test', ...keys.flatMap((k) => ['--key', k]))).code).toBe(0);
    const ok = await run('audit', 'verify', 'audited');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/1 events, chain intact/);
    const store = await openStore({ home });
    await store.db.updateTable('audit_events').set({ data: '{"actor":"cli","edited":true}' }).execute();
    await store.close();
    const broken = await run('audit', 'verify', 'audited');
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('audit.edited');
  });
});
