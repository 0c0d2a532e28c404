/** The BIP-329 example export imported into a wallet and exported back unchanged; partial records leave values alone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, createWallet, openStore, type ServiceContext, type Store } from '../../src/index.ts';
import { exportLabels, importLabels, listLabels } from '../../src/chain/index.ts';
import { testCosigner } from '../../../../test/support/cosigners.ts';
import { readVectorText } from '../../../../test/support/vectors.ts';

let store: Store;
let ctx: ServiceContext;

beforeAll(async () => {
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store);
  await createWallet(ctx, { name: 'w', threshold: 1, keys: [testCosigner('labels-a', { network: 'main' }).key], network: 'main' });
});
afterAll(() => store.close());

describe('wallet labels (BIP-329)', () => {
  it('imports the BIP example and exports the same records', async () => {
    const text = readVectorText('BIP-329/bip329_labels_example.jsonl');
    expect(await importLabels(ctx, 'w', text)).toEqual({ imported: 8, ignored: 0 });
    const source = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
    const exported = (await exportLabels(ctx, 'w'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(exported).toHaveLength(source.length);
    expect(exported).toEqual(expect.arrayContaining(source as object[]));
  });

  it('a record without label keeps the label; without spendable keeps the flag; a bad file changes nothing', async () => {
    const ref = 'f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd:1';
    await importLabels(ctx, 'w', JSON.stringify({ type: 'output', ref, spendable: true }));
    expect((await listLabels(ctx, 'w')).find((l) => l.ref === ref)).toEqual({ type: 'output', ref, label: 'Output', spendable: true });
    await importLabels(ctx, 'w', JSON.stringify({ type: 'output', ref, label: 'renamed' }));
    expect((await listLabels(ctx, 'w')).find((l) => l.ref === ref)).toEqual({ type: 'output', ref, label: 'renamed', spendable: true });
    const before = await exportLabels(ctx, 'w');
    await expect(importLabels(ctx, 'w', `${JSON.stringify({ type: 'output', ref, label: 'lost' })}\n{"type":"tx","ref":"bad"}`)).rejects.toMatchObject({ code: 'labels.bad_record' });
    expect(await exportLabels(ctx, 'w')).toBe(before);
  });
});
