import { ConflictError } from '@mofn/core';
import type { Kysely, Transaction } from 'kysely';
import type { ServiceContext } from './context.ts';
import type { Database } from './store/schema.ts';

/** An outpoint with the amount and script a PSBT or the user claims for it. */
export interface ClaimedOutpoint {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly scriptPubKey: string;
}

type Db = Kysely<Database> | Transaction<Database>;

async function knownRows(db: Db, outpoints: readonly ClaimedOutpoint[]) {
  if (outpoints.length === 0) return [];
  const txids = [...new Set(outpoints.map((o) => o.txid))];
  const rows = [];
  for (let i = 0; i < txids.length; i += 500) {
    rows.push(...(await db.selectFrom('outpoints').selectAll().where('txid', 'in', txids.slice(i, i + 500)).execute()));
  }
  return rows;
}

/**
 * Refuses a claim that contradicts an amount (or script) the store saw before for the same outpoint.
 * BIP-143 commits only to the spent input's own amount, so an updater that lies about amounts across
 * two signing rounds can turn change into fee; remembering amounts closes that hole.
 * @throws ConflictError `outpoint.amount_mismatch` / `outpoint.script_mismatch`.
 */
export async function assertKnownOutpoints(ctx: ServiceContext | { db: Db }, outpoints: readonly ClaimedOutpoint[]): Promise<void> {
  const rows = await knownRows(ctx.db, outpoints);
  const byKey = new Map(rows.map((r) => [`${r.txid}:${r.vout}`, r]));
  for (const o of outpoints) {
    const known = byKey.get(`${o.txid}:${o.vout}`);
    if (!known) continue;
    if (BigInt(known.amount) !== o.amount) {
      throw new ConflictError('outpoint.amount_mismatch', `input ${o.txid}:${o.vout} claims ${o.amount} sats but mofn saw ${known.amount} sats for it before`, {
        details: { txid: o.txid, vout: o.vout, claimed: o.amount.toString(), known: known.amount },
        hint: 'do not sign: this PSBT misstates an input amount (possible fee attack)',
      });
    }
    if (known.script_pubkey !== o.scriptPubKey) {
      throw new ConflictError('outpoint.script_mismatch', `input ${o.txid}:${o.vout} claims script ${o.scriptPubKey} but mofn saw ${known.script_pubkey}`, {
        details: { txid: o.txid, vout: o.vout },
      });
    }
  }
}

/**
 * Checks, then records, the amounts of outpoints (first sighting wins; all in one transaction).
 * @throws ConflictError as {@link assertKnownOutpoints}; nothing is written then.
 */
export async function rememberOutpoints(ctx: ServiceContext, outpoints: readonly ClaimedOutpoint[], walletId: string | null): Promise<void> {
  if (outpoints.length === 0) return;
  const seen = ctx.now().toISOString();
  await ctx.db.transaction().execute(async (trx) => {
    await assertKnownOutpoints({ db: trx }, outpoints);
    for (let i = 0; i < outpoints.length; i += 200) {
      await trx
        .insertInto('outpoints')
        .values(outpoints.slice(i, i + 200).map((o) => ({ txid: o.txid, vout: o.vout, amount: o.amount.toString(), script_pubkey: o.scriptPubKey, wallet_id: walletId, first_seen: seen })))
        .onConflict((oc) => oc.columns(['txid', 'vout']).doNothing())
        .execute();
    }
  });
}
