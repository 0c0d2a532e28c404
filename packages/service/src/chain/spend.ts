/**
 * Spends from the synced UTXO set: coin selection over the stored coins (with coin control), then
 * the selected coins' previous transactions fetched through the backend and checked against their
 * txids, so no amount the backend (or the store) claims is ever signed on trust.
 */
import { InsufficientFundsError, InvalidInputError } from '@mofn/core';
import { createPsbt, createPsbtFromOutputs, type OutputSpec, type Payment, type Psbt, type WalletUtxo } from '@mofn/bitcoin';
import { fetchVerifiedPrevouts, type ChainBackend } from '@mofn/bitcoin/backend';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ServiceContext } from '../context.ts';
import { rememberOutpoints } from '../outpoints.ts';
import { claimedOutpoints } from '../spend.ts';
import { loadWallet } from '../wallets.ts';
import { listStoredUtxos, type StoredUtxo } from './sync.ts';

/** An outpoint named by the user (`TXID:VOUT`). */
export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
}

/**
 * Parses `TXID:VOUT`.
 * @throws InvalidInputError `utxo.bad_outpoint`
 */
export function parseOutpoint(text: string): Outpoint {
  const m = /^([0-9a-fA-F]{64}):([0-9]{1,10})$/.exec(text.trim());
  if (m === null || Number(m[2]) > 0xffffffff) throw new InvalidInputError('utxo.bad_outpoint', `'${text.slice(0, 90)}' is not TXID:VOUT`);
  return { txid: m[1]!.toLowerCase(), vout: Number(m[2]) };
}

/** Parameters of {@link createChainSpend}. */
export interface ChainSpendParams {
  readonly payments: readonly Payment[];
  /** sat/vB; when absent, the backend's estimate for `targetBlocks` (default 6). */
  readonly feeRate?: number;
  readonly targetBlocks?: number;
  /** Coin control: spend exactly these coins (all of them). */
  readonly include?: readonly Outpoint[];
  /** Coin control: never spend these coins. */
  readonly exclude?: readonly Outpoint[];
  /** Spend only coins with at least this many confirmations (default 0: mempool coins too). */
  readonly minConfirmations?: number;
}

/** Result of {@link createChainSpend}. */
export interface ChainSpendResult {
  readonly psbt: Psbt;
  readonly fee: bigint;
  readonly vsize: number;
  readonly feeRate: number;
  readonly selected: readonly { readonly txid: string; readonly vout: number; readonly amount: bigint }[];
  readonly change?: { readonly index: number; readonly amount: bigint };
}

const key = (o: Outpoint): string => `${o.txid}:${o.vout}`;

/** Next change index: past both the last used one (sync) and the last one handed out (store). */
export async function nextChangeIndex(ctx: ServiceContext, walletId: string, synced: number): Promise<number> {
  const row = await ctx.db.selectFrom('addresses').select((eb) => eb.fn.max('idx').as('max')).where('wallet_id', '=', walletId).where('branch', '=', 1).executeTakeFirst();
  const stored = row?.max === null || row?.max === undefined ? 0 : row.max + 1;
  return Math.max(stored, synced);
}

function candidatesOf(utxos: readonly StoredUtxo[], params: ChainSpendParams): StoredUtxo[] {
  const byKey = new Map(utxos.map((u) => [key(u), u]));
  const exclude = new Set((params.exclude ?? []).map(key));
  if (params.include !== undefined && params.include.length > 0) {
    const seen = new Set<string>();
    return params.include.map((o) => {
      const k = key(o);
      if (seen.has(k)) throw new InvalidInputError('utxo.duplicate', `coin ${k} is included twice`);
      seen.add(k);
      if (exclude.has(k)) throw new InvalidInputError('spend.include_excluded', `coin ${k} is both included and excluded`);
      const u = byKey.get(k);
      if (u === undefined) throw new InvalidInputError('spend.unknown_utxo', `coin ${k} is not in the synced UTXO set of this wallet`, { hint: 'run mofn sync NAME, then mofn utxos NAME' });
      return u;
    });
  }
  const min = params.minConfirmations ?? 0;
  // A coin frozen by a BIP-329 label (spendable: false) is spent only when included by name.
  return utxos.filter((u) => !exclude.has(key(u)) && u.spendable && u.confirmations >= min);
}

/**
 * Builds an unsigned PSBT paying `payments` from the wallet's synced coins, change back to the
 * wallet's next change address. Remembers the input amounts (see outpoints.ts).
 * @throws NotReadyError `chain.not_synced`; InvalidInputError `spend.*`, `utxo.*`, `payment.*`;
 *   InsufficientFundsError; BackendError (`backend.input_amount_mismatch` when a previous transaction contradicts the store)
 */
export async function createChainSpend(ctx: ServiceContext, walletName: string, backend: ChainBackend, params: ChainSpendParams): Promise<ChainSpendResult> {
  const wallet = await loadWallet(ctx, walletName);
  if (params.payments.length === 0) throw new InvalidInputError('spend.no_payments', 'no payments', { hint: 'give at least one --to ADDRESS:SATS' });
  if (params.feeRate !== undefined && params.targetBlocks !== undefined) throw new InvalidInputError('spend.fee_conflict', 'give a fee rate or a confirmation target, not both');
  const { sync, utxos } = await listStoredUtxos(ctx, walletName);
  const candidates = candidatesOf(utxos, params);
  if (candidates.length === 0) {
    throw new InsufficientFundsError('coinselect.insufficient_funds', `wallet '${wallet.view.name}' has no spendable coins in its synced UTXO set`, { hint: `run mofn sync ${wallet.view.name}` });
  }
  const feeRate = params.feeRate ?? (await backend.estimateFee(params.targetBlocks ?? 6));
  const changeIndex = await nextChangeIndex(ctx, wallet.view.id, sync.nextChangeIndex);
  const asWallet = (u: StoredUtxo, prevTx?: Uint8Array): WalletUtxo => ({ txid: u.txid, vout: u.vout, amount: u.amount, branch: u.branch, index: u.index, ...(prevTx ? { prevTx } : {}) });

  // Selection first (amounts as synced), then proof of every selected amount from its previous transaction.
  const draft = createPsbt(wallet.deriver, {
    utxos: candidates.map((u) => asWallet(u)),
    payments: params.payments,
    feeRate,
    changeIndex,
    ...(params.include !== undefined && params.include.length > 0 ? { coinSelection: 'all' as const } : {}),
  });
  const verified = await fetchVerifiedPrevouts(
    backend,
    draft.selected.map((u) => ({ txid: u.txid, vout: u.vout, amount: u.amount, scriptPubKey: wallet.deriver.scriptPubKeyAt(u.branch, u.index) })),
  );
  const inputs = draft.selected.map((u, i): WalletUtxo => ({ ...u, prevTx: verified[i]!.prevTx }));
  const changeAt = draft.change === undefined ? -1 : draft.psbt.tx.outputs.length - 1;
  const outputs = draft.psbt.tx.outputs.map((o, i): OutputSpec => (i === changeAt ? { changeIndex, amount: o.amount } : { script: o.script, amount: o.amount }));
  const { psbt, fee } = createPsbtFromOutputs(wallet.deriver, { utxos: inputs, outputs, locktime: draft.psbt.tx.locktime });

  await rememberOutpoints(ctx, claimedOutpoints(psbt), wallet.view.id);
  if (draft.change !== undefined) {
    const change = wallet.deriver.derive(1, changeIndex);
    await ctx.db
      .insertInto('addresses')
      .values({ wallet_id: wallet.view.id, branch: 1, idx: changeIndex, address: change.address, script_pubkey: bytesToHex(change.scriptPubKey), created_at: ctx.now().toISOString() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return {
    psbt,
    fee,
    vsize: draft.vsize,
    feeRate,
    selected: inputs.map((u) => ({ txid: u.txid, vout: u.vout, amount: u.amount })),
    ...(draft.change === undefined ? {} : { change: draft.change }),
  };
}
