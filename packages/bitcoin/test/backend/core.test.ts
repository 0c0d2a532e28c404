/**
 * The Bitcoin Core RPC backend against a loopback Core JSON-RPC server (HTTP, basic auth)
 * holding real transactions: the conformance scenario through a watch-only descriptor wallet,
 * authentication, range growth, faults.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coreWalletName, createCoreRpcBackend, type CoreRpcBackend, type CoreRpcOptions } from '../../src/backend/core.ts';
import { fetchVerifiedPrevouts } from '../../src/backend/verify.ts';
import { walletIdOf } from '../../src/wallet/policy.ts';
import { ChainModel } from '../../../../test/support/chain/model.ts';
import { startCoreServer, type CoreServer } from '../../../../test/support/chain/coreServer.ts';
import { codeOf } from '../../../../test/support/errors.ts';
import { conformanceSuite } from './conformance.ts';
import { fundAddresses, makeWallet, type TestWallet } from './fixtures.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const PASSWORD = 'hunter2-rpc-secret';

async function start(wallet: TestWallet, options: Partial<CoreRpcOptions> = {}): Promise<{ model: ChainModel; server: CoreServer; backend: CoreRpcBackend }> {
  const model = new ChainModel();
  const server = await startCoreServer(model, { user: 'mofn', password: PASSWORD });
  cleanup.push(() => server.close());
  const backend = createCoreRpcBackend({ url: server.url, auth: { user: 'mofn', password: PASSWORD }, policy: wallet.policy, range: 25, timeoutMs: 2_000, retries: 2, backoffMs: 10, ...options });
  cleanup.push(() => backend.close());
  return { model, server, backend };
}

describe('core backend: conformance', () => {
  conformanceSuite(async (wallet) => {
    const { model, server, backend } = await start(wallet);
    return { model, backend, stats: server.stats };
  });
});

describe('core backend', () => {
  it('creates a watch-only descriptor wallet named after the wallet id and imports both chains', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { server, backend } = await start(wallet);
    expect(backend.walletName).toBe(`mofn-${walletIdOf(wallet.policy).slice(0, 16)}`);
    expect(coreWalletName(wallet.policy)).toBe(backend.walletName);
    await backend.ensureWallet();
    const w = server.wallets.get(backend.walletName)!;
    expect(w.disablePrivateKeys).toBe(true);
    expect(w.descriptors.map((d) => [d.internal, d.range])).toEqual([
      [false, [0, 24]],
      [true, [0, 24]],
    ]);
    expect(w.scripts.size).toBe(50);
    // A second backend (a restart) loads the wallet instead of creating it, and does not re-import.
    const again = createCoreRpcBackend({ url: server.url, auth: { user: 'mofn', password: PASSWORD }, policy: wallet.policy, range: 25 });
    cleanup.push(() => again.close());
    await again.ensureWallet();
    expect(server.calls.get('createwallet')).toBe(1);
    expect(server.calls.get('importdescriptors')).toBe(1);
  });

  it('grows the imported range when a later index of the wallet is asked about; refuses foreign scripts', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { model, server, backend } = await start(wallet);
    const f = fundAddresses(wallet, [{ branch: 1, index: 70, amount: 4321n }]);
    model.fund(f.raw);
    const [utxos] = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(1, 70)]);
    expect(utxos).toEqual([{ txid: f.txid, vout: 0, amount: 4321n, height: 0 }]);
    expect(server.wallets.get(backend.walletName)!.descriptors[1]!.range[1]).toBeGreaterThanOrEqual(70);
    const foreign = makeWallet('wsh', 1, 1).deriver.scriptPubKeyAt(0, 0);
    await expect(backend.getHistories([foreign])).rejects.toMatchObject({ code: 'backend.unsupported' });
  });

  it('cookie authentication; a wrong password is backend.unauthorized and never appears in messages', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { server } = await start(wallet);
    const dir = mkdtempSync(path.join(tmpdir(), 'mofn-cookie-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const cookie = path.join(dir, '.cookie');
    writeFileSync(cookie, `mofn:${PASSWORD}\n`);
    const viaCookie = createCoreRpcBackend({ url: server.url, auth: { cookieFile: cookie }, policy: wallet.policy, range: 5 });
    cleanup.push(() => viaCookie.close());
    expect(await viaCookie.getTipHeight()).toBe(800);

    const wrong = createCoreRpcBackend({ url: server.url, auth: { user: 'mofn', password: 'not-the-password' }, policy: wallet.policy, retries: 3 });
    cleanup.push(() => wrong.close());
    const before = server.stats.messages;
    const err = await wrong.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.unauthorized' });
    expect(server.stats.messages - before).toBe(1);
    writeFileSync(cookie, `__cookie__:${'ab'.repeat(32)}\n`);
    const badCookie = createCoreRpcBackend({ url: server.url, auth: { cookieFile: cookie }, policy: wallet.policy });
    cleanup.push(() => badCookie.close());
    const err2 = await badCookie.getTipHeight().catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'backend.unauthorized' });
    for (const e of [err, err2]) {
      const text = JSON.stringify({ m: (e as Error).message, d: (e as { details?: unknown }).details, h: (e as { hint?: unknown }).hint });
      expect(text).not.toContain('not-the-password');
      expect(text).not.toContain('ab'.repeat(32));
    }
    expect(codeOf(() => createCoreRpcBackend({ url: server.url.replace('http://', 'http://u:p@'), auth: { user: 'u', password: 'p' }, policy: wallet.policy }))).toBe('backend.bad_url');
    const missing = createCoreRpcBackend({ url: server.url, auth: { cookieFile: path.join(dir, 'nope') }, policy: wallet.policy });
    await expect(missing.getTipHeight()).rejects.toMatchObject({ code: 'backend.unauthorized' });
  });

  it('retries "work queue depth exceeded" (503), times out on a stall, rejects malformed JSON', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { model, server, backend } = await start(wallet, { timeoutMs: 150, retries: 1 });
    server.faults.serverErrors = 1;
    expect(await backend.getTipHeight()).toBe(model.tipHeight);
    server.faults.stall = 2;
    const err = await backend.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.timeout' });
    expect((err as Error).message).toContain(`core backend ${server.url}: no answer to getblockcount`);
    server.faults.malformed = 1;
    await expect(backend.getTipHeight()).rejects.toMatchObject({ code: 'backend.malformed_response' });
    server.faults.disconnect = 1;
    expect(await backend.getTipHeight()).toBe(model.tipHeight);
  });

  it('lying about an input amount in listunspent: caught by the previous-transaction check', async () => {
    const wallet = makeWallet('wsh', 2, 3);
    const { model, server, backend } = await start(wallet);
    const f = fundAddresses(wallet, [{ branch: 0, index: 2, amount: 60_000n }]);
    model.fund(f.raw);
    model.mine();
    server.faults.lies.push({ txid: f.txid, vout: 0, amount: 6_000_000n, where: 'utxo' });
    const [claimed] = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 2)]);
    expect(claimed).toEqual([{ txid: f.txid, vout: 0, amount: 6_000_000n, height: model.tipHeight }]);
    await expect(fetchVerifiedPrevouts(backend, claimed!)).rejects.toMatchObject({ code: 'backend.input_amount_mismatch' });
  });
});
