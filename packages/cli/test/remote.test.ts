/**
 * Remote mode: cosigners use `mofn proposal ...` against a running coordinator, each signing with
 * their own keystore file; the final transaction passes bitcore-lib's interpreter.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeystore, writeKeystore } from '@mofn/signers';
import { run as runCli, type RunResult } from './run.ts';
import { verifyWithBitcore } from '../../../test/support/bitcore.ts';
import { BitcoreGateway, buildSpend, keystoreCosigner } from '../../../test/support/coordinator.ts';
import { client, startTestServer, type TestServer } from '../../../test/support/server.ts';

let server: TestServer;
let dir: string;
const gateway = new BitcoreGateway();
const saved = { ...process.env };

/** Runs `mofn ...argv` with `env` set for the call only. */
async function run(env: Record<string, string>, ...argv: string[]): Promise<RunResult> {
  Object.assign(process.env, env);
  try {
    return await runCli(...argv);
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = saved[k];
    }
  }
}

beforeAll(async () => {
  server = await startTestServer({ kind: 'sqlite', gateway });
  dir = mkdtempSync(join(tmpdir(), 'mofn-remote-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('mofn proposal (remote mode)', () => {
  it('propose, two cosigners sign from their keystore files, finalize, broadcast', async () => {
    const labels = ['r0', 'r1', 'r2'];
    const cos = await Promise.all(labels.map((l) => keystoreCosigner(`remote-${l}`)));
    const admin = await server.user('remote-admin');
    const users = await Promise.all(labels.map((l) => server.user(`remote-${l}`)));
    const api = client(server.url, admin.token);
    const wallet = (await api.post('/v1/wallets', { name: 'remote', threshold: 2, keys: cos.map((c) => c.key), network: 'test' })).body;
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const position = wallet.cosigners.find((c: { fingerprint: string }) => c.fingerprint === cos[i]!.unlocked.fingerprint).position;
      expect((await api.post(`/v1/wallets/${String(wallet.id)}/roles`, { user: users[i]!.id, role: 'signer', cosigner: position })).status).toBe(201);
      // The same mnemonic as the test cosigner, in a keystore file as `mofn key import` writes it.
      const { entropyToMnemonic } = await import('@scure/bip39');
      const { wordlist } = await import('@scure/bip39/wordlists/english.js');
      const { sha256 } = await import('@noble/hashes/sha2.js');
      const mnemonic = entropyToMnemonic(sha256(new TextEncoder().encode(`mofn-server-test-remote-${labels[i]!}`)).slice(0, 16), wordlist);
      const file = join(dir, `${labels[i]!}.json`);
      await writeKeystore(file, await createKeystore({ mnemonic, password: 'pw', network: 'test', kdf: { N: 2 ** 10 } }));
      files.push(file);
    }
    const spend = buildSpend(wallet.descriptor, 'test', { inputs: 2, to: 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx' });
    gateway.expect(spend.fundingTxid, spend.prevouts);
    const psbtFile = join(dir, 'spend.psbt');
    writeFileSync(psbtFile, spend.psbt);

    const base = { MOFN_SERVER: server.url, MOFN_HOME: dir, MOFN_PASSWORD: 'pw' };
    const created = await run({ ...base, MOFN_TOKEN: admin.token }, 'proposal', 'create', 'remote', psbtFile, '--memo', 'payroll');
    expect(created.code, created.err).toBe(0);
    const id = created.out.split(/\s+/)[0]!;
    expect(created.out).toContain('collecting');

    for (const i of [0, 2]) {
      const signed = await run({ ...base, MOFN_TOKEN: users[i]!.token }, 'proposal', 'sign', id, '--keystore', files[i]!);
      expect(signed.code, signed.err).toBe(0);
      expect(signed.out).toMatch(/^2 signature\(s\) added/);
      expect(signed.err).toContain('not registered on this machine');
    }
    const shown = await run({ ...base, MOFN_TOKEN: users[1]!.token }, 'proposal', 'show', id);
    expect(shown.out).toContain('ready');

    const fin = await run({ ...base, MOFN_TOKEN: admin.token }, 'proposal', 'finalize', id);
    expect(fin.code, fin.err).toBe(0);
    expect(verifyWithBitcore(fin.out.trim(), spend.prevouts).every((v) => v.ok)).toBe(true);
    const sent = await run({ ...base, MOFN_TOKEN: admin.token }, 'proposal', 'broadcast', id);
    expect(sent.code, sent.err).toBe(0);
    expect(sent.out).toContain('broadcast');

    // A stranger's token sees nothing: the server's 404 becomes a typed CLI error.
    const stranger = await server.user('remote-stranger');
    const hidden = await run({ ...base, MOFN_TOKEN: stranger.token }, 'proposal', 'show', id);
    expect(hidden.code).toBe(1);
    expect(hidden.err).toContain('proposal.not_found');
    const noToken = await run({ MOFN_SERVER: server.url, MOFN_TOKEN: '' }, 'proposal', 'show', id);
    expect(noToken.err).toContain('remote.no_token');
  });
});
