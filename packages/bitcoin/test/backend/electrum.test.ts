/**
 * The Electrum backend against a loopback Electrum server (line-delimited JSON-RPC over TCP and
 * TLS) holding real transactions: the conformance scenario, then faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createElectrumBackend, parseElectrumUrl, type ElectrumBackend, type ElectrumOptions } from '../../src/backend/electrum/backend.ts';
import { electrumScriptHash } from '../../src/backend/scripthash.ts';
import { fetchVerifiedPrevouts } from '../../src/backend/verify.ts';
import { fromHex } from '../../src/tx/bytes.ts';
import { ChainModel } from '../../../../test/support/chain/model.ts';
import { startElectrumServer, type ElectrumServer } from '../../../../test/support/chain/electrumServer.ts';
import { codeOf } from '../../../../test/support/errors.ts';
import { conformanceSuite } from './conformance.ts';
import { fundAddresses, makeWallet } from './fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(options: { tls?: boolean; backend?: Partial<ElectrumOptions> } = {}): Promise<{ model: ChainModel; server: ElectrumServer; backend: ElectrumBackend }> {
  const model = new ChainModel();
  const server = await startElectrumServer(model, { tls: options.tls ?? false });
  cleanup.push(() => server.close());
  const backend = createElectrumBackend({
    url: server.url,
    timeoutMs: 2_000,
    retries: 2,
    backoffMs: 10,
    ...(server.certPem === undefined ? {} : { tlsOptions: { ca: server.certPem } }),
    ...options.backend,
  });
  cleanup.push(() => backend.close());
  return { model, server, backend };
}

describe('electrum scripthash', () => {
  it("matches the protocol documentation's example", () => {
    // docs (electrum protocol, "Script Hashes"): P2PKH of 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
    expect(electrumScriptHash(fromHex('76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac'))).toBe('8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161');
  });
});

describe('parseElectrumUrl', () => {
  it('reads ssl://, tcp://, and host:port:s forms; rejects others', () => {
    expect(parseElectrumUrl('ssl://electrum.example:50002')).toEqual({ host: 'electrum.example', port: 50002, tls: true });
    expect(parseElectrumUrl('tcp://127.0.0.1:50001')).toEqual({ host: '127.0.0.1', port: 50001, tls: false });
    expect(parseElectrumUrl('electrum.example:50002:s')).toEqual({ host: 'electrum.example', port: 50002, tls: true });
    expect(codeOf(() => parseElectrumUrl('http://x:1'))).toBe('backend.bad_url');
    expect(codeOf(() => parseElectrumUrl('tcp://x:70000'))).toBe('backend.bad_url');
  });
});

describe.each([false, true])('electrum backend (tls %s): conformance', (tls) => {
  conformanceSuite(async () => {
    const { model, server, backend } = await start({ tls });
    return { model, backend, stats: server.stats };
  });
});

describe('electrum backend', () => {
  it('negotiates protocol 1.4 and batches the requests of one tick into one message', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    model.fund(fundAddresses(wallet, [{ branch: 0, index: 5, amount: 1000n }]).raw);
    const scripts = Array.from({ length: 40 }, (_, i) => wallet.deriver.scriptPubKeyAt(0, i));
    await backend.getTipHeight();
    expect(backend.server()).toEqual({ software: 'loopback-electrum 1.0', protocol: '1.4' });
    const before = server.stats.messages;
    const [h, u] = await Promise.all([backend.getHistories(scripts), backend.getUtxos(scripts)]);
    expect(server.stats.messages - before).toBe(1);
    expect(h.filter((x) => x.length > 0)).toHaveLength(1);
    expect(u[5]).toHaveLength(1);
  });

  it('splits batches above maxBatch', async () => {
    const { server, backend } = await start({ backend: { maxBatch: 16 } });
    await backend.getTipHeight();
    const before = server.stats.messages;
    const wallet = makeWallet('wsh', 1, 1);
    await backend.getHistories(Array.from({ length: 40 }, (_, i) => wallet.deriver.scriptPubKeyAt(0, i)));
    expect(server.stats.messages - before).toBe(3);
  });

  it('refuses a server below protocol 1.4 (backend.unsupported)', async () => {
    const { server, backend } = await start();
    server.protocol = '1.2';
    await expect(backend.getTipHeight()).rejects.toMatchObject({ code: 'backend.unsupported' });
  });

  it('TLS: a self-signed certificate that is not pinned fails, not retried (backend.unreachable)', async () => {
    const { server } = await start({ tls: true });
    const backend = createElectrumBackend({ url: server.url, timeoutMs: 2000, retries: 3, backoffMs: 10 });
    cleanup.push(() => backend.close());
    const err = await backend.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.unreachable', transient: false });
    expect(server.stats.messages).toBe(0);
  });

  it('a stalled server: backend.timeout after the retries, naming the backend', async () => {
    const { server, backend } = await start({ backend: { timeoutMs: 150, retries: 1 } });
    await backend.getTipHeight();
    server.faults.stall = Infinity;
    const started = Date.now();
    const err = await backend.getTransactions(['11'.repeat(32)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.timeout' });
    expect((err as Error).message).toContain(`electrum backend ${server.url}`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a connection dropped mid-batch: reconnects, re-sends, finishes', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const f = fundAddresses(wallet, Array.from({ length: 30 }, (_, i) => ({ branch: 0 as const, index: i, amount: 1000n + BigInt(i) })));
    model.fund(f.raw);
    model.mine();
    await backend.getTipHeight();
    server.faults.disconnect = 1;
    const scripts = Array.from({ length: 30 }, (_, i) => wallet.deriver.scriptPubKeyAt(0, i));
    const [histories, utxos] = await Promise.all([backend.getHistories(scripts), backend.getUtxos(scripts)]);
    expect(histories.every((h) => h.length === 1 && h[0]!.txid === f.txid)).toBe(true);
    expect(utxos.map((u) => u[0]!.amount)).toEqual(scripts.map((_, i) => 1000n + BigInt(i)));
    expect(server.stats.connections).toBe(2);
  });

  it('a server that keeps dropping the connection: backend.unreachable once retries run out', async () => {
    const { server, backend } = await start({ backend: { retries: 2 } });
    await backend.getTipHeight();
    server.faults.disconnect = Infinity;
    await expect(backend.getTransactions(['22'.repeat(32)])).rejects.toMatchObject({ code: 'backend.unreachable' });
    expect(server.stats.connections).toBe(3);
  });

  it('nobody listening: backend.unreachable (ECONNREFUSED) after retries', async () => {
    const { server } = await start();
    await server.close();
    const backend = createElectrumBackend({ url: server.url, retries: 2, backoffMs: 5 });
    cleanup.push(() => backend.close());
    const err = await backend.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.unreachable', details: { networkCode: 'ECONNREFUSED' } });
  });

  it('a malformed response: backend.malformed_response, then the next request works', async () => {
    const { server, backend } = await start();
    await backend.getTipHeight();
    server.faults.malformed = 1;
    const err = await backend.estimateFee(2).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.malformed_response' });
    expect((err as Error).message).toMatch(/^electrum backend tcp:\/\/127\.0\.0\.1:\d+ sent a line that is not JSON/);
    expect(await backend.estimateFee(2)).toBeCloseTo(20.1, 5);
  });

  it('a result of the wrong shape: backend.malformed_response naming the request', async () => {
    const { server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    await backend.getTipHeight();
    server.faults.wrongShape = 1;
    const err = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.malformed_response' });
    expect((err as Error).message).toContain('blockchain.scripthash.listunspent');
  });

  it('lying about an input amount (in listunspent): caught by the previous-transaction check', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 50_000n }]);
    model.fund(f.raw);
    server.faults.lies.push({ txid: f.txid, vout: 0, amount: 5_000_000n, where: 'utxo' });
    const [claimed] = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)]);
    expect(claimed![0]!.amount).toBe(5_000_000n);
    await expect(fetchVerifiedPrevouts(backend, claimed!.map((u) => ({ ...u, scriptPubKey: wallet.deriver.scriptPubKeyAt(0, 0) })))).rejects.toMatchObject({
      code: 'backend.input_amount_mismatch',
    });
  });

  it('lying about an input amount (in the previous transaction): the txid no longer matches', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 50_000n }]);
    model.fund(f.raw);
    server.faults.lies.push({ txid: f.txid, vout: 0, amount: 5_000_000n, where: 'utxo' }, { txid: f.txid, vout: 0, amount: 5_000_000n, where: 'rawtx' });
    const [claimed] = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)]);
    await expect(fetchVerifiedPrevouts(backend, claimed!)).rejects.toMatchObject({ code: 'backend.input_amount_mismatch' });
    await expect(backend.getTransactions([f.txid])).rejects.toMatchObject({ code: 'backend.malformed_response' });
  });

  it('subscriptions: a new transaction and a new block are pushed; renewed after a reconnect', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const script = wallet.deriver.scriptPubKeyAt(0, 2);
    const changes: string[] = [];
    const tips: number[] = [];
    backend.onTip((h) => tips.push(h));
    await backend.watchScripts([script], (s) => changes.push(electrumScriptHash(s)));
    const waitFor = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(cond()).toBe(true);
    };
    model.fund(fundAddresses(wallet, [{ branch: 0, index: 2, amount: 7000n }]).raw);
    await waitFor(() => changes.length === 1);
    const h = model.mine();
    await waitFor(() => changes.length === 2 && tips.includes(h));
    // Drop the connection; a change while away is reported once the subscription is renewed.
    server.faults.disconnect = 1;
    await backend.getTipHeight().catch(() => undefined);
    await backend.estimateFee(1);
    await waitFor(() => server.stats.connections === 2);
    model.fund(fundAddresses(wallet, [{ branch: 0, index: 2, amount: 8000n }]).raw);
    await waitFor(() => changes.length === 3);
    expect(new Set(changes)).toEqual(new Set([electrumScriptHash(script)]));
  });

  it('closed: calls fail with backend.closed', async () => {
    const { backend } = await start();
    await backend.close();
    await expect(backend.getTipHeight()).rejects.toMatchObject({ code: 'backend.closed' });
  });
});
