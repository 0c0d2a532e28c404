/**
 * BIP-329 labels of a wallet, in the store's `labels` table: imported from and exported to JSON
 * Lines, and shown beside transactions, addresses and outputs (see sync.ts). An output labelled
 * `spendable: false` is frozen: coin selection leaves it alone unless it is named.
 */
import { parseBip329, formatBip329, type Bip329Label, type Bip329Type } from '@mofn/bitcoin';
import type { ServiceContext } from '../context.ts';
import { loadWallet } from '../wallets.ts';

/** Result of {@link importLabels}. */
export interface ImportLabelsResult {
  readonly imported: number;
  /** Records of a type mofn does not know, skipped as BIP-329 asks. */
  readonly ignored: number;
}

/**
 * Imports BIP-329 JSON Lines into a wallet's labels. A record without `label` (or `spendable`)
 * leaves that value as it was; all records are written in one transaction, or none.
 * @throws InvalidInputError `labels.bad_record`; NotFoundError `wallet.not_found`
 */
export async function importLabels(ctx: ServiceContext, walletName: string, text: string): Promise<ImportLabelsResult> {
  const wallet = await loadWallet(ctx, walletName);
  const { labels, ignored } = parseBip329(text);
  const id = wallet.view.id;
  await ctx.db.transaction().execute(async (trx) => {
    for (const l of labels) {
      const row = {
        wallet_id: id,
        type: l.type,
        ref: l.ref,
        label: l.label ?? '',
        origin: l.origin ?? null,
        spendable: l.spendable === undefined ? null : l.spendable ? 1 : 0,
      };
      const update: { label?: string; origin?: string | null; spendable?: number | null } = {};
      if (l.label !== undefined) update.label = l.label;
      if (l.origin !== undefined) update.origin = l.origin;
      if (l.spendable !== undefined) update.spendable = l.spendable ? 1 : 0;
      await trx
        .insertInto('labels')
        .values(row)
        .onConflict((oc) => (Object.keys(update).length === 0 ? oc.columns(['wallet_id', 'type', 'ref']).doNothing() : oc.columns(['wallet_id', 'type', 'ref']).doUpdateSet(update)))
        .execute();
    }
  });
  return { imported: labels.length, ignored };
}

/**
 * A wallet's labels as BIP-329 records, by type then ref.
 * @throws NotFoundError `wallet.not_found`
 */
export async function listLabels(ctx: ServiceContext, walletName: string): Promise<Bip329Label[]> {
  const wallet = await loadWallet(ctx, walletName);
  const rows = await ctx.db.selectFrom('labels').selectAll().where('wallet_id', '=', wallet.view.id).orderBy('type').orderBy('ref').execute();
  return rows.map((r) => ({
    type: r.type as Bip329Type,
    ref: r.ref,
    // An empty stored label means the import carried none (only a spendable flag).
    ...(r.label === '' ? {} : { label: r.label }),
    ...(r.origin === null ? {} : { origin: r.origin }),
    ...(r.spendable === null ? {} : { spendable: r.spendable === 1 }),
  }));
}

/**
 * Exports a wallet's labels as BIP-329 JSON Lines.
 * @throws NotFoundError `wallet.not_found`
 */
export async function exportLabels(ctx: ServiceContext, walletName: string): Promise<string> {
  return formatBip329(await listLabels(ctx, walletName));
}

/**
 * Sets (or replaces) one label.
 * @throws InvalidInputError `labels.bad_record`; NotFoundError `wallet.not_found`
 */
export async function setLabel(ctx: ServiceContext, walletName: string, label: Bip329Label): Promise<void> {
  await importLabels(ctx, walletName, formatBip329([label]));
}
