/**
 * Wallet sync into the store: a gap-limit scan through a chain backend, then the wallet's UTXO
 * set, history and used addresses written in one transaction, replacing the previous sync. The
 * read functions (balance, UTXOs, history) answer from the store, with labels attached.
 */
import { NotReadyError } from '@mofn/core';
import type { Branch } from '@mofn/bitcoin';
import type { ChainBackend } from '@mofn/bitcoin/backend';
import { syncWallet, type SyncProgress, type WalletTransaction } from '@mofn/bitcoin/sync';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ServiceContext } from '../context.ts';
import { loadWallet, type LoadedWallet } from '../wallets.ts';

/** Options of {@link syncWalletChain}. */
export interface SyncWalletParams {
  readonly gap?: number;
  readonly batchSize?: number;
  readonly onProgress?: (progress: SyncProgress) => void;
}

/** What a sync found. */
export interface SyncSummary {
  readonly wallet: string;
  readonly backend: string;
  readonly tipHeight: number;
  readonly usedAddresses: number;
  /** Addresses paid by more than one transaction (a privacy leak). */
  readonly reusedAddresses: readonly string[];
  readonly transactions: number;
  readonly utxos: number;
  readonly balance: { readonly confirmed: bigint; readonly unconfirmed: bigint };
  readonly nextReceiveIndex: number;
  readonly nextChangeIndex: number;
  readonly stats: { readonly rounds: number; readonly scriptsChecked: number; readonly transactionsFetched: number };
}

const CHUNK = 200;

async function insertChunked<T>(rows: readonly T[], insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await insert(rows.slice(i, i + CHUNK));
}

/**
 * Scans a wallet through `backend` and stores its UTXO set, history and used addresses.
 * Amounts come from transactions checked against their txids (see syncWallet).
 * @throws NotFoundError `wallet.not_found`; BackendError from the backend; InvalidInputError `sync.bad_option`
 */
export async function syncWalletChain(ctx: ServiceContext, walletName: string, backend: ChainBackend, params: SyncWalletParams = {}): Promise<SyncSummary> {
  const wallet = await loadWallet(ctx, walletName);
  const result = await syncWallet(backend, wallet.deriver, {
    ...(params.gap === undefined ? {} : { gap: params.gap }),
    ...(params.batchSize === undefined ? {} : { batchSize: params.batchSize }),
    ...(params.onProgress === undefined ? {} : { onProgress: params.onProgress }),
  });
  const id = wallet.view.id;
  const label = `${backend.label.kind} ${backend.label.endpoint}`;
  const at = ctx.now().toISOString();
  const raws = new Map<string, Uint8Array>();
  for (const u of result.utxos) raws.set(u.txid, u.prevTx);
  const reuseTxids = new Set(result.addresses.filter((a) => a.reused).flatMap((a) => a.txids));
  await ctx.db.transaction().execute(async (trx) => {
    for (const table of ['chain_utxos', 'chain_txs', 'chain_addresses'] as const) await trx.deleteFrom(table).where('wallet_id', '=', id).execute();
    await insertChunked(result.history, (chunk) =>
      trx
        .insertInto('chain_txs')
        .values(
          chunk.map((t) => ({
            wallet_id: id,
            txid: t.txid,
            raw: raws.has(t.txid) ? bytesToHex(raws.get(t.txid)!) : null,
            height: t.height,
            received: t.received.toString(),
            sent: t.sent.toString(),
            fee: t.fee === undefined ? null : t.fee.toString(),
            vsize: t.vsize,
            address_reuse: reuseTxids.has(t.txid) ? 1 : 0,
          })),
        )
        .execute(),
    );
    await insertChunked(result.utxos, (chunk) =>
      trx
        .insertInto('chain_utxos')
        .values(chunk.map((u) => ({ wallet_id: id, txid: u.txid, vout: u.vout, amount: u.amount.toString(), branch: u.branch, idx: u.index, address: u.address, height: u.height })))
        .execute(),
    );
    await insertChunked(result.addresses, (chunk) =>
      trx
        .insertInto('chain_addresses')
        .values(chunk.map((a) => ({ wallet_id: id, branch: a.branch, idx: a.index, address: a.address, received: a.received.toString(), tx_count: a.txids.length, reused: a.reused ? 1 : 0 })))
        .execute(),
    );
    // Used addresses count as handed out, so new change never lands on a used address.
    await insertChunked(result.addresses, (chunk) =>
      trx
        .insertInto('addresses')
        .values(chunk.map((a) => ({ wallet_id: id, branch: a.branch, idx: a.index, address: a.address, script_pubkey: bytesToHex(a.scriptPubKey), created_at: at })))
        .onConflict((oc) => oc.doNothing())
        .execute(),
    );
    const sync = { tip_height: result.tipHeight, gap: result.gap, next_receive: result.nextReceiveIndex, next_change: result.nextChangeIndex, backend: label, synced_at: at };
    await trx
      .insertInto('chain_syncs')
      .values({ wallet_id: id, ...sync })
      .onConflict((oc) => oc.column('wallet_id').doUpdateSet(sync))
      .execute();
  });
  return {
    wallet: wallet.view.name,
    backend: label,
    tipHeight: result.tipHeight,
    usedAddresses: result.addresses.length,
    reusedAddresses: result.addresses.filter((a) => a.reused).map((a) => a.address),
    transactions: result.history.length,
    utxos: result.utxos.length,
    balance: result.balance,
    nextReceiveIndex: result.nextReceiveIndex,
    nextChangeIndex: result.nextChangeIndex,
    stats: result.stats,
  };
}

/** The last sync of a wallet. */
export interface SyncState {
  readonly tipHeight: number;
  readonly gap: number;
  readonly nextReceiveIndex: number;
  readonly nextChangeIndex: number;
  readonly backend: string;
  readonly syncedAt: string;
}

/**
 * The last sync of a wallet.
 * @throws NotReadyError `chain.not_synced` when the wallet was never synced
 */
export async function getSyncState(ctx: ServiceContext, wallet: LoadedWallet): Promise<SyncState> {
  const row = await ctx.db.selectFrom('chain_syncs').selectAll().where('wallet_id', '=', wallet.view.id).executeTakeFirst();
  if (row === undefined) {
    throw new NotReadyError('chain.not_synced', `wallet '${wallet.view.name}' has not been synced`, { hint: `run mofn sync ${wallet.view.name}` });
  }
  return { tipHeight: row.tip_height, gap: row.gap, nextReceiveIndex: row.next_receive, nextChangeIndex: row.next_change, backend: row.backend, syncedAt: row.synced_at };
}

const confirmationsAt = (tip: number, height: number): number => (height > 0 ? Math.max(1, tip - height + 1) : 0);

/** A stored UTXO with its labels. */
export interface StoredUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly branch: Branch;
  readonly index: number;
  readonly address: string;
  readonly height: number;
  readonly confirmations: number;
  /** The address was paid by more than one transaction. */
  readonly addressReused: boolean;
  /** BIP-329 output label, else the address label. */
  readonly label?: string;
  /** False when a BIP-329 label froze it (`spendable: false`). */
  readonly spendable: boolean;
}

type LabelRow = { type: string; ref: string; label: string; spendable: number | null };

async function labelsOf(ctx: ServiceContext, walletId: string, types: readonly string[]): Promise<Map<string, LabelRow>> {
  const rows = await ctx.db.selectFrom('labels').select(['type', 'ref', 'label', 'spendable']).where('wallet_id', '=', walletId).where('type', 'in', [...types]).execute();
  return new Map(rows.map((r) => [`${r.type}:${r.ref}`, r]));
}

/**
 * The wallet's UTXO set as of the last sync (oldest first, mempool last).
 * @throws NotFoundError `wallet.not_found`; NotReadyError `chain.not_synced`
 */
export async function listStoredUtxos(ctx: ServiceContext, walletName: string): Promise<{ sync: SyncState; utxos: StoredUtxo[] }> {
  const wallet = await loadWallet(ctx, walletName);
  const sync = await getSyncState(ctx, wallet);
  const rows = await ctx.db.selectFrom('chain_utxos').selectAll().where('wallet_id', '=', wallet.view.id).execute();
  const reused = await ctx.db.selectFrom('chain_addresses').select(['address']).where('wallet_id', '=', wallet.view.id).where('reused', '=', 1).execute();
  const reusedSet = new Set(reused.map((r) => r.address));
  const labels = await labelsOf(ctx, wallet.view.id, ['output', 'addr']);
  const rank = (h: number): number => (h === 0 ? Infinity : h);
  rows.sort((a, b) => rank(a.height) - rank(b.height) || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
  const utxos = rows.map((r): StoredUtxo => {
    const out = labels.get(`output:${r.txid}:${r.vout}`);
    const text = out?.label || labels.get(`addr:${r.address}`)?.label;
    return {
      txid: r.txid,
      vout: r.vout,
      amount: BigInt(r.amount),
      branch: r.branch as Branch,
      index: r.idx,
      address: r.address,
      height: r.height,
      confirmations: confirmationsAt(sync.tipHeight, r.height),
      addressReused: reusedSet.has(r.address),
      ...(text ? { label: text } : {}),
      spendable: out?.spendable !== 0,
    };
  });
  return { sync, utxos };
}

/** The balance as of the last sync. */
export interface StoredBalance {
  readonly confirmed: bigint;
  readonly unconfirmed: bigint;
  readonly total: bigint;
  /** Held in outputs frozen by a label (`spendable: false`), included in the totals above. */
  readonly frozen: bigint;
  readonly utxos: number;
  readonly tipHeight: number;
  readonly syncedAt: string;
  readonly nextReceiveIndex: number;
}

/**
 * The wallet's balance as of the last sync.
 * @throws NotFoundError `wallet.not_found`; NotReadyError `chain.not_synced`
 */
export async function getStoredBalance(ctx: ServiceContext, walletName: string): Promise<StoredBalance> {
  const { sync, utxos } = await listStoredUtxos(ctx, walletName);
  let confirmed = 0n;
  let unconfirmed = 0n;
  let frozen = 0n;
  for (const u of utxos) {
    if (u.height > 0) confirmed += u.amount;
    else unconfirmed += u.amount;
    if (!u.spendable) frozen += u.amount;
  }
  return { confirmed, unconfirmed, total: confirmed + unconfirmed, frozen, utxos: utxos.length, tipHeight: sync.tipHeight, syncedAt: sync.syncedAt, nextReceiveIndex: sync.nextReceiveIndex };
}

/** A transaction of the stored history: the synced one plus what the store adds. */
export interface StoredTransaction extends WalletTransaction {
  /** fee / vsize, when the fee is known. */
  readonly feeRate?: number;
  /** It touches an address that was paid more than once. */
  readonly addressReuse: boolean;
  readonly label?: string;
}

/**
 * The wallet's history as of the last sync (oldest first, mempool last).
 * @throws NotFoundError `wallet.not_found`; NotReadyError `chain.not_synced`
 */
export async function listStoredHistory(ctx: ServiceContext, walletName: string): Promise<{ sync: SyncState; history: StoredTransaction[] }> {
  const wallet = await loadWallet(ctx, walletName);
  const sync = await getSyncState(ctx, wallet);
  const rows = await ctx.db.selectFrom('chain_txs').select(['txid', 'height', 'received', 'sent', 'fee', 'vsize', 'address_reuse']).where('wallet_id', '=', wallet.view.id).execute();
  const labels = await labelsOf(ctx, wallet.view.id, ['tx']);
  const rank = (h: number): number => (h === 0 ? Infinity : h);
  rows.sort((a, b) => rank(a.height) - rank(b.height) || (a.txid < b.txid ? -1 : 1));
  const history = rows.map((r): StoredTransaction => {
    const received = BigInt(r.received);
    const sent = BigInt(r.sent);
    const fee = r.fee === null ? undefined : BigInt(r.fee);
    const text = labels.get(`tx:${r.txid}`)?.label;
    return {
      txid: r.txid,
      height: r.height,
      confirmations: confirmationsAt(sync.tipHeight, r.height),
      received,
      sent,
      net: received - sent,
      ...(fee === undefined ? {} : { fee, feeRate: Math.round((Number(fee) / r.vsize) * 100) / 100 }),
      vsize: r.vsize,
      addressReuse: r.address_reuse === 1,
      ...(text ? { label: text } : {}),
    };
  });
  return { sync, history };
}
