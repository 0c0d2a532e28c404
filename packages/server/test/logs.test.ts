/**
 * The server's JSON logs carry request ids and never a secret: no API token, no Authorization
 * header, no PSBT and no signature bytes, even while a full proposal flow runs through it.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parsePsbt } from '@mofn/bitcoin';
import { createContext, createToken, createUser } from '@mofn/service';
import { buildApp } from '@mofn/server';
import { buildSpend, keystoreCosigner } from '../../../test/support/coordinator.ts';
import { client, dropTestStore, openTestStore } from '../../../test/support/server.ts';

describe('logs', () => {
  it('are JSON lines with request ids, and hold no token, PSBT or signature', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        done();
      },
    });
    const store = await openTestStore('sqlite');
    const app = await buildApp({ store, serverKey: randomBytes(32), logger: { level: 'trace', stream } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const ctx = createContext(store);
      const admin = await createUser(ctx, { name: 'logadmin' });
      const token = (await createToken(ctx, admin.id)).token;
      const signerUser = await createUser(ctx, { name: 'logsigner' });
      const signerToken = (await createToken(ctx, signerUser.id)).token;
      const cos = await Promise.all(['l0', 'l1', 'l2'].map((l) => keystoreCosigner(`logs-${l}`)));
      const api = client(url, token);
      const wallet = (await api.post('/v1/wallets', { name: 'logs', threshold: 2, keys: cos.map((c) => c.key), network: 'test' })).body;
      const position = wallet.cosigners.find((c: { fingerprint: string }) => c.fingerprint === cos[0]!.unlocked.fingerprint).position;
      await api.post(`/v1/wallets/${String(wallet.id)}/roles`, { user: signerUser.id, role: 'signer', cosigner: position });
      const spend = buildSpend(wallet.descriptor, 'test', { inputs: 1, to: 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx' });
      const p = (await api.post(`/v1/wallets/${String(wallet.id)}/proposals`, { psbt: spend.psbt })).body;
      const signed = await cos[0]!.sign(spend.psbt, wallet.descriptor, 'test');
      const r = await client(url, signerToken).post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: signed }, { 'x-request-id': 'req-42' });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-request-id')).toBe('req-42');
      await client(url, 'mofn_not-a-real-token').get('/v1/users/me');
      await api.post(`/v1/proposals/${String(p.id)}/signatures`, { psbt: 'garbage' });

      const sig = Buffer.from(parsePsbt(signed).inputs[0]!.partialSigs[0]!.signature).toString('hex');
      expect(lines.length).toBeGreaterThan(10);
      for (const line of lines) {
        expect(() => JSON.parse(line) as unknown).not.toThrow();
        for (const secret of [token, signerToken, 'mofn_not-a-real-token', signed.slice(0, 60), spend.psbt.slice(0, 60), sig, 'Bearer']) expect(line).not.toContain(secret);
      }
      const tagged = lines.map((l) => JSON.parse(l) as { reqId?: string }).filter((l) => l.reqId === 'req-42');
      expect(tagged.length).toBeGreaterThanOrEqual(2);
    } finally {
      await app.close();
      await dropTestStore(store);
    }
  });
});
