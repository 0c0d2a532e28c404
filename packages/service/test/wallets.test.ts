import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, createWallet, exportWallet, importWallet, listAddresses, listWallets, loadWallet, openStore, verifyAddress, type ServiceContext, type Store } from '../src/index.ts';
import { testCosigner } from '../../../test/support/cosigners.ts';

const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => testCosigner(l)) as [ReturnType<typeof testCosigner>, ReturnType<typeof testCosigner>, ReturnType<typeof testCosigner>, ReturnType<typeof testCosigner>];

let store: Store;
let ctx: ServiceContext;
beforeEach(async () => {
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store, () => new Date('2026-01-01T00:00:00Z'));
});
afterEach(async () => {
  await store.close();
});

async function snapshot() {
  const tables = ['wallets', 'cosigners', 'addresses', 'outpoints', 'labels'] as const;
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = await store.db.selectFrom(t).selectAll().execute();
  return out;
}

describe('wallet store', () => {
  it('creates, loads and lists a 2-of-3 wsh wallet whose id is the hash of its descriptor', async () => {
    const view = await createWallet(ctx, { name: 'family', threshold: 2, keys: [a.key, b.key, c.key], network: 'test' });
    expect(view).toMatchObject({ name: 'family', threshold: 2, total: 3, type: 'wsh', network: 'test', sorted: true });
    expect(view.id).toMatch(/^[0-9a-f]{64}$/);
    expect(view.descriptor).toMatch(/^wsh\(sortedmulti\(2,\[/);
    expect(view.cosigners.map((x) => x.fingerprint)).toEqual([a.fingerprint, b.fingerprint, c.fingerprint]);
    expect((await loadWallet(ctx, view.id)).view).toEqual(view);
    expect((await listWallets(ctx)).map((w) => w.name)).toEqual(['family']);
  });

  it('treats a different key order of a sortedmulti wallet as the same wallet', async () => {
    await createWallet(ctx, { name: 'one', threshold: 2, keys: [a.key, b.key, c.key], network: 'test' });
    await expect(createWallet(ctx, { name: 'two', threshold: 2, keys: [c.key, a.key, b.key], network: 'test' })).rejects.toMatchObject({ code: 'wallet.exists' });
  });

  it('pins the network: the same tpubs on testnet and signet are two wallets', async () => {
    const t = await createWallet(ctx, { name: 't', threshold: 2, keys: [a.key, b.key, c.key], network: 'test' });
    const s = await createWallet(ctx, { name: 's', threshold: 2, keys: [a.key, b.key, c.key], network: 'signet' });
    expect(t.id).not.toBe(s.id);
    expect(t.descriptor).toBe(s.descriptor);
  });

  it('makes a new wallet when M, a key or the type changes, and refuses a taken name without writing', async () => {
    const w1 = await createWallet(ctx, { name: 'w1', threshold: 2, keys: [a.key, b.key, c.key], network: 'test' });
    const w2 = await createWallet(ctx, { name: 'w2', threshold: 3, keys: [a.key, b.key, c.key], network: 'test' });
    const w3 = await createWallet(ctx, { name: 'w3', threshold: 2, keys: [a.key, b.key, d.key], network: 'test' });
    const w4 = await createWallet(ctx, { name: 'w4', threshold: 2, keys: [a.key, b.key, c.key], network: 'test', type: 'tr' });
    expect(new Set([w1.id, w2.id, w3.id, w4.id]).size).toBe(4);
    const before = await snapshot();
    await expect(createWallet(ctx, { name: 'w1', threshold: 1, keys: [a.key, b.key], network: 'test' })).rejects.toMatchObject({ code: 'wallet.name_taken' });
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad input with specific codes and changes nothing', async () => {
    await createWallet(ctx, { name: 'ok', threshold: 1, keys: [a.key], network: 'test' });
    const before = await snapshot();
    const cases: [Parameters<typeof createWallet>[1], string][] = [
      [{ name: 'bad name!', threshold: 1, keys: [a.key], network: 'test' }, 'wallet.bad_name'],
      [{ name: 'x', threshold: 3, keys: [a.key, b.key], network: 'test' }, 'policy.bad_threshold'],
      [{ name: 'x', threshold: 0, keys: [a.key, b.key], network: 'test' }, 'policy.bad_threshold'],
      [{ name: 'x', threshold: 1, keys: [a.key, a.key.replace(/^\[[0-9a-f]{8}/, '[00000000')], network: 'test' }, 'policy.duplicate_key'],
      [{ name: 'x', threshold: 1, keys: [a.key, b.key], network: 'main' }, 'key.wrong_network'],
      [{ name: 'x', threshold: 1, keys: [a.key, 'tpubnotakey'], network: 'test' }, 'key.bad_checksum'],
    ];
    for (const [params, code] of cases) {
      await expect(createWallet(ctx, params), code).rejects.toMatchObject({ code });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('exports and re-imports every format as the same wallet with the same first 100 addresses', async () => {
    for (const type of ['wsh', 'sh-wsh', 'sh'] as const) {
      const name = `fam-${type}`;
      await createWallet(ctx, { name, threshold: 2, keys: [a.key, b.key, c.key], network: 'test', type });
      const addresses = await listAddresses(ctx, name, { count: 100 });
      const change = await listAddresses(ctx, name, { branch: 1, count: 100 });
      for (const format of ['descriptor', 'caravan', 'coldcard'] as const) {
        const text = await exportWallet(ctx, name, format);
        const other = await openStore({ file: ':memory:' });
        try {
          const ctx2 = createContext(other);
          const imported = await importWallet(ctx2, { text, name: 'copy', network: 'test' });
          expect((await loadWallet(ctx, name)).view.id, `${type} via ${format}`).toBe(imported.id);
          expect(await listAddresses(ctx2, 'copy', { count: 100 })).toEqual(addresses);
          expect(await listAddresses(ctx2, 'copy', { branch: 1, count: 100 })).toEqual(change);
        } finally {
          await other.close();
        }
      }
    }
  });

  it('verifies addresses: finds the path, or says the address does not belong', async () => {
    await createWallet(ctx, { name: 'v', threshold: 2, keys: [a.key, b.key, c.key], network: 'test' });
    const [addr] = await listAddresses(ctx, 'v', { branch: 1, index: 57 });
    const found = await verifyAddress(ctx, 'v', addr!.address, 100);
    expect(found).toMatchObject({ belongs: true, branch: 1, index: 57, path: '1/57' });
    expect(await verifyAddress(ctx, 'v', addr!.address, 50)).toMatchObject({ belongs: false, searched: 50 });
    await expect(verifyAddress(ctx, 'v', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')).rejects.toMatchObject({ code: 'address.wrong_network' });
    await expect(loadWallet(ctx, 'nope')).rejects.toMatchObject({ code: 'wallet.not_found' });
  });
});
