/**
 * The CLI contract end to end, in process (fast) and once through the real bin (as users run it).
 * Three keystores, a 2-of-3 wallet, an address verified, a spend created from a real-shaped funding
 * transaction, signed separately, combined, finalized; the result checked by bitcore-lib.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { ok, run } from './run.ts';
import { verifyWithBitcore } from '../../../test/support/bitcore.ts';
import { fundingTransaction } from '../../../test/support/funding.ts';

const b58 = createBase58check(sha256);
const repo = resolve(import.meta.dirname, '..', '..', '..');
let dir: string;
const saved = { home: process.env['MOFN_HOME'], password: process.env['MOFN_PASSWORD'] };


beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-cli-'));
  process.env['MOFN_HOME'] = join(dir, 'home');
  process.env['MOFN_PASSWORD'] = 'test password';
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (saved.home === undefined) delete process.env['MOFN_HOME'];
  else process.env['MOFN_HOME'] = saved.home;
  if (saved.password === undefined) delete process.env['MOFN_PASSWORD'];
  else process.env['MOFN_PASSWORD'] = saved.password;
});

describe('mofn CLI', () => {
  const keystores = ['alice', 'bob', 'carol'].map((n) => () => join(dir, `${n}.json`));

  it('runs a 2-of-3 spend end to end', async () => {
    const xpubs: string[] = [];
    for (const ks of keystores) {
      const mnemonic = await ok('key', 'new', '--keystore', ks(), '--network', 'test');
      expect(mnemonic.split(' ')).toHaveLength(24);
      expect(statSync(ks()).mode & 0o777).toBe(0o600);
      const xpub = await ok('key', 'xpub', '--keystore', ks());
      expect(xpub).toMatch(/^\[[0-9a-f]{8}\/48h\/1h\/0h\/2h\]tpub/);
      xpubs.push(xpub);
    }
    const created = await ok('wallet', 'create', 'family', '--threshold', '2', '--network', 'test', ...xpubs.flatMap((x) => ['--key', x]));
    expect(created).toContain('2-of-3 wsh');
    const show = JSON.parse(await ok('wallet', 'show', 'family', '--json'));
    expect(show.cosigners).toHaveLength(3);

    const [addr0] = JSON.parse(await ok('address', 'family', '--index', '0', '--json'));
    expect(addr0.address).toMatch(/^tb1q/);
    expect(await ok('address', 'verify', 'family', addr0.address)).toContain('receive index 0');
    const notOurs = await run('address', 'verify', 'family', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', '--bound', '50');
    expect(notOurs.code).toBe(1);
    expect(notOurs.err).toContain('address.not_in_wallet');

    const funding = fundingTransaction([{ address: addr0.address, amount: 100_000n, network: 'test' }]);
    const psbtFile = join(dir, 'spend.psbt');
    await ok('psbt', 'create', 'family', '--utxo', `${funding.txid}:0:100000:${funding.hex}`, '--to', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx:40000', '--fee-rate', '5', '--out', psbtFile);
    const review = JSON.parse(await ok('psbt', 'inspect', psbtFile, '--json'));
    expect(review.outputs.filter((o: { change: boolean }) => o.change)).toHaveLength(1);
    expect(review.warnings).toEqual([]);

    await ok('psbt', 'sign', psbtFile, '--keystore', keystores[0]!(), '--out', join(dir, 'a.psbt'));
    await ok('psbt', 'sign', psbtFile, '--keystore', keystores[2]!(), '--out', join(dir, 'c.psbt'));
    const early = await run('psbt', 'finalize', join(dir, 'a.psbt'));
    expect(early.code).toBe(1);
    expect(early.err).toContain('psbt.missing_signatures');

    await ok('psbt', 'combine', join(dir, 'a.psbt'), join(dir, 'c.psbt'), '--out', join(dir, 'ac.psbt'));
    const rawHex = await ok('psbt', 'finalize', join(dir, 'ac.psbt'));
    const results = verifyWithBitcore(rawHex, [{ scriptPubKey: funding.outputs[0]!.script, amount: 100_000n }]);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('refuses a PSBT that lies about a known input amount (segwit v0 fee attack)', async () => {
    const [addr] = JSON.parse(await ok('address', 'family', '--index', '1', '--json'));
    const funding = fundingTransaction([{ address: addr.address, amount: 50_000n, network: 'test' }]);
    const psbt = await ok('psbt', 'create', 'family', '--utxo', `${funding.txid}:0:50000:${addr.address}`, '--to', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx:20000', '--fee-rate', '2');
    // A second proposal claims the same coin is worth more.
    const lie = await run('psbt', 'create', 'family', '--utxo', `${funding.txid}:0:60000:${addr.address}`, '--to', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx:20000', '--fee-rate', '2');
    expect(lie.code).toBe(1);
    expect(lie.err).toContain('outpoint.amount_mismatch');
    expect(psbt.length).toBeGreaterThan(100);
    // Built from an address, not the previous transaction: the review says the amount is unchecked.
    writeFileSync(join(dir, 'noprev.psbt'), psbt);
    const review = JSON.parse(await ok('psbt', 'inspect', join(dir, 'noprev.psbt'), '--json'));
    expect(review.warnings.join(' ')).toContain('non_witness_utxo');
  });

  it('exports and re-imports a wallet, and reports errors on stderr with a non-zero exit', async () => {
    const text = await ok('wallet', 'export', 'family', '--format', 'caravan');
    writeFileSync(join(dir, 'caravan.json'), text);
    const again = await run('wallet', 'import', join(dir, 'caravan.json'), '--name', 'copy');
    expect(again.code).toBe(1);
    expect(again.err).toContain('wallet.exists');
    const bad = await run('wallet', 'create', 'x', '--threshold', '4', '--key', 'xpubnonsense');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error \[/);
    const usage = await run('wallet', 'create');
    expect(usage.code).toBe(2);
    const wrongPassword = await (async () => {
      process.env['MOFN_PASSWORD'] = 'not the password';
      try {
        return await run('key', 'xpub', '--keystore', keystores[0]!());
      } finally {
        process.env['MOFN_PASSWORD'] = 'test password';
      }
    })();
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.err).toContain('keystore.wrong_password');
  });

  it('works as a real command: `mofn --help` and a key import from stdin', () => {
    const bin = join(repo, 'packages', 'cli', 'bin', 'mofn.js');
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    for (const verb of ['key', 'wallet', 'address', 'psbt']) expect(help).toContain(verb);
    const ks = join(dir, 'imported.json');
    const out = execFileSync(process.execPath, [bin, 'key', 'import', '--keystore', ks, '--network', 'test'], {
      input: 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about\n',
      encoding: 'utf8',
      env: { ...process.env, MOFN_PASSWORD: 'pw' },
    });
    expect(out).toContain('fingerprint 73c5da0a');
    const xpub = execFileSync(process.execPath, [bin, 'key', 'xpub', '--keystore', ks, '--path', "m/84'/1'/0'"], { encoding: 'utf8', env: { ...process.env, MOFN_PASSWORD: 'pw' } });
    // BIP-84's published testnet account for the same mnemonic, re-encoded from vpub to tpub.
    const vpub = b58.decode('vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc');
    const tpub = b58.encode(Uint8Array.of(0x04, 0x35, 0x87, 0xcf, ...vpub.subarray(4)));
    expect(xpub.trim()).toBe(`[73c5da0a/84h/1h/0h]${tpub}`);
    expect(readFileSync(ks, 'utf8')).not.toContain('abandon');
  });
});
