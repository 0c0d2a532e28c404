/**
 * The nonce queue of a Safe: proposals grouped by nonce. Exactly one SafeTx can ever run at a nonce;
 * once the Safe's nonce has passed it, the one that executed is `executed` and the others `superseded`.
 */
import type { Hex } from 'viem';
import { findExecutedSafeTxHashes, readSafe, type EvmClients } from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { getStoredSafe, listProposalRows, openSafeClients, type SafeProposal, type StoredSafe } from './records.ts';

/**
 * Closes open proposals whose nonce the Safe has used: the one whose safeTxHash the Safe logged as
 * executed (ExecutionSuccess) becomes `executed`, the rest `superseded`. Returns every proposal after.
 */
export async function refreshSafeQueue(ctx: ServiceContext, safe: StoredSafe, clients: EvmClients, chainNonce: bigint): Promise<SafeProposal[]> {
  const all = await listProposalRows(ctx.db, safe.name);
  const stale = all.filter((p) => p.state === 'open' && p.nonce < chainNonce);
  if (stale.length === 0) return all;
  const executed = new Set((await findExecutedSafeTxHashes(clients, { safeAddress: safe.address, safeTxHashes: stale.map((p) => p.safeTxHash) })).map((h) => h.toLowerCase()));
  const at = ctx.now().toISOString();
  await ctx.db.transaction().execute(async (trx) => {
    for (const p of stale) {
      await trx
        .updateTable('safe_proposals')
        .set({ state: executed.has(p.safeTxHash.toLowerCase()) ? 'executed' : 'superseded', updated_at: at })
        .where('safe_tx_hash', '=', p.safeTxHash)
        .where('state', '=', 'open')
        .execute();
    }
  });
  return listProposalRows(ctx.db, safe.name);
}

/** Marks `safeTxHash` executed and every other open proposal of the Safe at `nonce` superseded; returns the superseded ids. */
export async function closeNonce(ctx: ServiceContext, safe: string, nonce: bigint, safeTxHash: Hex, exec: { readonly txHash: Hex; readonly gasUsed: bigint }): Promise<number[]> {
  const at = ctx.now().toISOString();
  return ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('safe_proposals')
      .set({ state: 'executed', exec_tx_hash: exec.txHash, gas_used: exec.gasUsed.toString(), updated_at: at })
      .where('safe_tx_hash', '=', safeTxHash)
      .execute();
    const others = await trx
      .selectFrom('safe_proposals')
      .select('seq')
      .where('safe_name', '=', safe)
      .where('nonce', '=', nonce.toString())
      .where('state', '=', 'open')
      .where('safe_tx_hash', '!=', safeTxHash)
      .execute();
    await trx.updateTable('safe_proposals').set({ state: 'superseded', updated_at: at }).where('safe_name', '=', safe).where('nonce', '=', nonce.toString()).where('state', '=', 'open').execute();
    return others.map((o) => o.seq);
  });
}

/** One nonce of the queue. */
export interface SafeNonceGroup {
  readonly nonce: bigint;
  /** `stale` (used), `next` (can execute now) or `queued`. */
  readonly status: 'stale' | 'next' | 'queued';
  readonly proposals: readonly (SafeProposal & { readonly signatures: number })[];
}

/**
 * The Safe's proposals per nonce, after closing the nonces the chain has used (when `refresh`, default true).
 * @throws NotFoundError `safe.not_found`; MofnError from the chain reads when refreshing
 */
export async function listSafeProposals(ctx: ServiceContext, name: string, options: { readonly refresh?: boolean } = {}): Promise<{ readonly nonce: bigint | undefined; readonly threshold: number; readonly groups: readonly SafeNonceGroup[] }> {
  const safe = await getStoredSafe(ctx, name);
  let chainNonce: bigint | undefined;
  let proposals: SafeProposal[];
  let threshold = safe.threshold;
  if (options.refresh ?? true) {
    const clients = await openSafeClients(safe);
    const state = await readSafe(clients, safe.address);
    chainNonce = state.nonce;
    threshold = state.threshold;
    proposals = await refreshSafeQueue(ctx, safe, clients, state.nonce);
  } else {
    proposals = await listProposalRows(ctx.db, safe.name);
  }
  const counts = await ctx.db
    .selectFrom('safe_signatures')
    .innerJoin('safe_proposals', 'safe_proposals.safe_tx_hash', 'safe_signatures.safe_tx_hash')
    .select(['safe_signatures.safe_tx_hash as hash', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('safe_proposals.safe_name', '=', name)
    .groupBy('safe_signatures.safe_tx_hash')
    .execute();
  const countOf = new Map(counts.map((c) => [c.hash, Number(c.n)]));
  const groups: SafeNonceGroup[] = [];
  for (const p of proposals) {
    let group = groups.find((g) => g.nonce === p.nonce);
    if (group === undefined) {
      const status = chainNonce === undefined ? 'queued' : p.nonce < chainNonce ? 'stale' : p.nonce === chainNonce ? 'next' : 'queued';
      group = { nonce: p.nonce, status, proposals: [] };
      groups.push(group);
    }
    (group.proposals as (SafeProposal & { signatures: number })[]).push({ ...p, signatures: countOf.get(p.safeTxHash) ?? 0 });
  }
  return Object.freeze({ nonce: chainNonce, threshold, groups: Object.freeze(groups) });
}
