/**
 * Fee bumping of a wallet transaction already broadcast: RBF (a replacement with the same inputs
 * and payments, change reduced) or CPFP (a child of its change output). The transaction and its
 * parents are fetched through the backend, each checked against its txid; the result is a new
 * unsigned PSBT that needs M signatures again.
 */
import { InvalidInputError } from '@mofn/core';
import { createCpfpPsbt, createRbfPsbt, parseTransaction, type Psbt } from '@mofn/bitcoin';
import type { ChainBackend } from '@mofn/bitcoin/backend';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ServiceContext } from '../context.ts';
import { rememberOutpoints } from '../outpoints.ts';
import { claimedOutpoints } from '../spend.ts';
import { loadWallet, type LoadedWallet } from '../wallets.ts';
import { nextChangeIndex } from './spend.ts';
import { getSyncState } from './sync.ts';

/** Parameters of {@link bumpChainTransaction}. */
export interface BumpParams {
  readonly txid: string;
  /** RBF: the replacement's fee rate; CPFP: the package's target fee rate (sat/vB). */
  readonly feeRate: number;
  readonly method: 'rbf' | 'cpfp';
}

/** Result of {@link bumpChainTransaction}. */
export interface BumpResult {
  readonly method: 'rbf' | 'cpfp';
  readonly psbt: Psbt;
  /** Fee of the new transaction. */
  readonly fee: bigint;
  readonly vsize: number;
  /** Fee of the transaction bumped. */
  readonly originalFee: bigint;
  readonly originalVsize: number;
}

async function fetchWithParents(backend: ChainBackend, txid: string): Promise<{ tx: Uint8Array; prevTxs: readonly Uint8Array[] }> {
  const [tx] = await backend.getTransactions([txid]);
  const parents = [...new Set(parseTransaction(tx!).inputs.map((i) => i.txid))];
  return { tx: tx!, prevTxs: await backend.getTransactions(parents) };
}

async function rememberChange(ctx: ServiceContext, wallet: LoadedWallet, index: number): Promise<void> {
  const change = wallet.deriver.derive(1, index);
  await ctx.db
    .insertInto('addresses')
    .values({ wallet_id: wallet.view.id, branch: 1, idx: index, address: change.address, script_pubkey: bytesToHex(change.scriptPubKey), created_at: ctx.now().toISOString() })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/**
 * Builds an RBF replacement or a CPFP child for a broadcast wallet transaction.
 * @throws InvalidInputError `bump.*`, `fee.invalid_rate`; InsufficientFundsError `bump.insufficient_funds`;
 *   NotReadyError `chain.not_synced`; BackendError (`backend.not_found` for an unknown txid)
 */
export async function bumpChainTransaction(ctx: ServiceContext, walletName: string, backend: ChainBackend, params: BumpParams): Promise<BumpResult> {
  if (!/^[0-9a-f]{64}$/.test(params.txid)) throw new InvalidInputError('bump.bad_txid', `'${params.txid.slice(0, 80)}' is not a txid`);
  const wallet = await loadWallet(ctx, walletName);
  const sync = await getSyncState(ctx, wallet);
  const [status] = await backend.getTransactionStatuses([params.txid]);
  if (status?.state === 'confirmed') throw new InvalidInputError('bump.confirmed', `transaction ${params.txid} is already confirmed`);
  const source = await fetchWithParents(backend, params.txid);
  const gap = Math.max(1000, sync.nextReceiveIndex + sync.gap, sync.nextChangeIndex + sync.gap);
  let result: BumpResult;
  let changeIndex: number | undefined;
  if (params.method === 'rbf') {
    const rbf = createRbfPsbt(wallet.deriver, { ...source, feeRate: params.feeRate, gap });
    result = { method: 'rbf', psbt: rbf.psbt, fee: rbf.fee, vsize: rbf.vsize, originalFee: rbf.originalFee, originalVsize: rbf.originalVsize };
  } else {
    changeIndex = await nextChangeIndex(ctx, wallet.view.id, sync.nextChangeIndex);
    const cpfp = createCpfpPsbt(wallet.deriver, { ...source, targetFeeRate: params.feeRate, changeIndex, gap });
    result = { method: 'cpfp', psbt: cpfp.psbt, fee: cpfp.fee, vsize: cpfp.vsize, originalFee: cpfp.parentFee, originalVsize: cpfp.parentVsize };
  }
  await rememberOutpoints(ctx, claimedOutpoints(result.psbt), wallet.view.id);
  if (changeIndex !== undefined) await rememberChange(ctx, wallet, changeIndex);
  return result;
}
