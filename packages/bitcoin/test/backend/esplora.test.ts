/**
 * The Esplora backend against a loopback Esplora HTTP API holding real transactions: the
 * conformance scenario, paging, then faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEsploraBackend, ESPLORA_DEFAULT_URLS, type EsploraOptions } from '../../src/backend/esplora.ts';
import type { ChainBackend } from '../../src/backend/port.ts';
import { esploraScriptHash } from '../../src/backend/scripthash.ts';
import { fetchVerifiedPrevouts } from '../../src/backend/verify.ts';
import { fromHex } from '../../src/tx/bytes.ts';
import { ChainModel } from '../../../../test/support/chain/model.ts';
import { startEsploraServer, type EsploraServer } from '../../../../test/support/chain/esploraServer.ts';
import { codeOf } from '../../../../test/support/errors.ts';
import { conformanceSuite } from './conformance.ts';
import { fundAddresses, makeWallet } from './fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(options: Partial<EsploraOptions> = {}): Promise<{ model: ChainModel; server: EsploraServer; backend: ChainBackend }> {
  const model = new ChainModel();
  const server = await startEsploraServer(model);
  cleanup.push(() => server.close());
  const backend = createEsploraBackend({ network: 'regtest', url: server.url, timeoutMs: 2_000, retries: 2, backoffMs: 10, ...options });
  cleanup.push(() => backend.close());
  return { model, server, backend };
}

describe('esplora scripthash', () => {
  it('is sha256 of the script in natural byte order (unlike Electrum)', () => {
    const script = fromHex('76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac');
    expect(esploraScriptHash(script)).toBe('6191c3b590bfcfa0475e877c302da1e323497acf3b42c08d8fa28e364edf018b');
  });
});

describe('esplora configuration', () => {
  it('defaults to mempool.space per network; regtest needs a URL', () => {
    expect(ESPLORA_DEFAULT_URLS).toEqual({ main: 'https://mempool.space/api', test: 'https://mempool.space/testnet/api', signet: 'https://mempool.space/signet/api' });
    expect(createEsploraBackend({ network: 'signet' }).label).toEqual({ kind: 'esplora', endpoint: 'https://mempool.space/signet/api' });
    expect(codeOf(() => createEsploraBackend({ network: 'regtest' }))).toBe('backend.no_url');
    expect(codeOf(() => createEsploraBackend({ network: 'main', url: 'ftp://x' }))).toBe('backend.bad_url');
    expect(codeOf(() => createEsploraBackend({ network: 'main', retries: -1 }))).toBe('backend.bad_option');
  });

  it('never puts URL credentials in its label or messages', async () => {
    const { server } = await start();
    const url = server.url.replace('http://', 'http://alice:s3cret@');
    const backend = createEsploraBackend({ network: 'regtest', url, retries: 0 });
    expect(backend.label.endpoint).not.toContain('s3cret');
    await server.close();
    const err = await backend.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.unreachable' });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as { details: unknown }).details })).not.toContain('s3cret');
  });
});

describe('esplora backend: conformance', () => {
  conformanceSuite(async () => {
    const { model, server, backend } = await start();
    return { model, backend, stats: server.stats };
  });
});

describe('esplora backend', () => {
  it('pages a long confirmed history (25 per page)', async () => {
    const { model, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const txids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 1000n + BigInt(i) }]);
      model.fund(f.raw);
      txids.push(f.txid);
      model.mine();
    }
    const extra = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 5n }]);
    model.fund(extra.raw);
    const [history] = await backend.getHistories([wallet.deriver.scriptPubKeyAt(0, 0)]);
    expect(history!.map((h) => h.txid)).toEqual([...txids, extra.txid]);
    expect(history!.at(-1)!.height).toBe(0);
  });

  it('retries a 503 and succeeds', async () => {
    const { model, server, backend } = await start();
    server.faults.serverErrors = 2;
    expect(await backend.getTipHeight()).toBe(model.tipHeight);
    expect(server.stats.requests).toBe(3);
  });

  it('503 on every attempt: backend.request_failed after the retries', async () => {
    const { server, backend } = await start();
    server.faults.serverErrors = Infinity;
    await expect(backend.getTipHeight()).rejects.toMatchObject({ code: 'backend.request_failed', details: { status: 503 } });
    expect(server.stats.requests).toBe(3);
  });

  it('a stalled server: backend.timeout naming the backend and the request', async () => {
    const { server, backend } = await start({ timeoutMs: 150, retries: 1 });
    server.faults.stall = Infinity;
    const err = await backend.getTipHeight().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.timeout' });
    expect((err as Error).message).toContain(`esplora backend ${server.url}: GET /blocks/tip/height`);
  });

  it('a connection dropped mid-body: retried and finished', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 1234n }]);
    model.fund(f.raw);
    server.faults.disconnect = 1;
    expect(await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)])).toEqual([[{ txid: f.txid, vout: 0, amount: 1234n, height: 0 }]]);
  });

  it('malformed and wrongly shaped answers: backend.malformed_response, not retried', async () => {
    const { server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    server.faults.malformed = 1;
    await expect(backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)])).rejects.toMatchObject({ code: 'backend.malformed_response' });
    server.faults.wrongShape = 1;
    const err = await backend.getHistories([wallet.deriver.scriptPubKeyAt(0, 0)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'backend.malformed_response' });
    expect((err as Error).message).toMatch(/GET \/scripthash\/[0-9a-f]{64}\/txs with a transaction list that is not an array/);
    server.faults.malformed = 1;
    await expect(backend.getTipHeight()).rejects.toMatchObject({ code: 'backend.malformed_response' });
    expect(server.stats.requests).toBe(3);
  });

  it('lying about an input amount: caught by the previous-transaction check', async () => {
    const { model, server, backend } = await start();
    const wallet = makeWallet('wsh', 2, 3);
    const f = fundAddresses(wallet, [{ branch: 0, index: 0, amount: 50_000n }]);
    model.fund(f.raw);
    server.faults.lies.push({ txid: f.txid, vout: 0, amount: 49_000_000n, where: 'utxo' });
    const [claimed] = await backend.getUtxos([wallet.deriver.scriptPubKeyAt(0, 0)]);
    expect(claimed![0]!.amount).toBe(49_000_000n);
    await expect(fetchVerifiedPrevouts(backend, claimed!)).rejects.toMatchObject({ code: 'backend.input_amount_mismatch' });
    server.faults.lies.push({ txid: f.txid, vout: 0, amount: 49_000_000n, where: 'rawtx' });
    await expect(fetchVerifiedPrevouts(backend, claimed!)).rejects.toMatchObject({ code: 'backend.input_amount_mismatch' });
    // A wrong script is caught too.
    server.faults.lies = [];
    await expect(fetchVerifiedPrevouts(backend, [{ txid: f.txid, vout: 0, amount: 50_000n, scriptPubKey: wallet.deriver.scriptPubKeyAt(0, 1) }])).rejects.toMatchObject({
      code: 'backend.input_amount_mismatch',
    });
    await expect(fetchVerifiedPrevouts(backend, [{ txid: f.txid, vout: 7, amount: 50_000n }])).rejects.toMatchObject({ code: 'backend.input_amount_mismatch' });
  });

  it('rejects bad txids before building a URL', async () => {
    const { backend } = await start();
    await expect(backend.getTransactions(['../../admin'])).rejects.toMatchObject({ code: 'backend.bad_txid' });
  });
});
