/**
 * The coordinator's chain gateway over Bitcoin chain backends. Broadcast test-accepts first where the
 * backend can (Bitcoin Core), so a transaction the node would refuse is reported without being sent,
 * and is idempotent: a transaction the backend already knows is success.
 */
import { InvalidInputError } from '@mofn/core';
import { parseTransaction, transactionId } from '@mofn/bitcoin';
import { BackendError, describeBackend, type ChainBackend } from '@mofn/bitcoin/backend';
import type { ServiceContext } from '../context.ts';
import { openWalletBackend, type OpenBackendOptions } from '../chain/backends.ts';
import type { ChainGateway } from './proposals.ts';

async function broadcastVia(backend: ChainBackend, rawTx: string): Promise<{ txid: string }> {
  const bytes = Buffer.from(rawTx, 'hex');
  const txid = transactionId(parseTransaction(bytes));
  // A retry (after a lost answer, a reconnect, or a crash before the proposal was marked) finds the
  // transaction already known, which is success, not a rejection.
  const alreadyKnown = async (): Promise<boolean> => {
    const [status] = await backend.getTransactionStatuses([txid]);
    return status !== undefined && status.state !== 'unknown';
  };
  try {
    if (backend.testAccept !== undefined) {
      const verdict = await backend.testAccept(bytes);
      if (!verdict.allowed) {
        throw new BackendError('backend.rejected', `${describeBackend(backend.label)}: the node would not accept the transaction: ${verdict.reason}`, { details: { reason: verdict.reason } });
      }
    }
    return { txid: await backend.broadcast(bytes) };
  } catch (e) {
    if (e instanceof BackendError && e.code === 'backend.rejected' && (await alreadyKnown())) return { txid };
    throw e;
  }
}

async function confirmationsVia(backend: ChainBackend, txid: string): Promise<number | undefined> {
  const [status] = await backend.getTransactionStatuses([txid]);
  if (status === undefined || status.state === 'unknown') return undefined;
  return status.state === 'mempool' ? 0 : status.confirmations;
}

async function spenderVia(backend: ChainBackend, outpoint: { readonly txid: string; readonly vout: number; readonly script: string }): Promise<string | undefined> {
  const [history] = await backend.getHistories([Buffer.from(outpoint.script, 'hex')]);
  const candidates = (history ?? []).map((h) => h.txid).filter((t) => t !== outpoint.txid);
  if (candidates.length === 0) return undefined;
  // The backend's bytes are checked against their txids by getTransactions, so the inputs read here are real.
  const raws = await backend.getTransactions(candidates);
  for (const [k, raw] of raws.entries()) {
    const tx = parseTransaction(raw);
    if (tx.inputs.some((i) => i.txid === outpoint.txid && i.vout === outpoint.vout)) return candidates[k];
  }
  return undefined;
}

/** A gateway over fixed backends, keyed by chain id (`bitcoin:test`, `bitcoin:main`...). */
export function createBackendGateway(backends: Readonly<Record<string, ChainBackend>>): ChainGateway {
  const backendOf = (chain: string): ChainBackend => {
    const b = backends[chain];
    if (b === undefined) {
      throw new InvalidInputError('backend.not_configured', `no backend is configured for ${chain}`, { hint: 'configure one with `mofn backend set`, MOFN_ESPLORA_URL or MOFN_ELECTRUM_URL' });
    }
    return b;
  };
  return {
    broadcast: (chain, rawTx) => broadcastVia(backendOf(chain), rawTx),
    confirmations: (chain, txid) => confirmationsVia(backendOf(chain), txid),
    spenderOf: (chain, outpoint) => spenderVia(backendOf(chain), outpoint),
    close: async () => {
      for (const b of Object.values(backends)) await b.close();
    },
  };
}

/**
 * A gateway that uses each wallet's own configured backend (`mofn backend set`: per wallet, then per
 * network, then global, then MOFN_ESPLORA_URL / MOFN_ELECTRUM_URL, then the network's public Esplora),
 * opened on first use and kept until `close()`.
 */
export function createWalletBackendGateway(ctx: ServiceContext, options: OpenBackendOptions = {}): ChainGateway {
  const open = new Map<string, Promise<ChainBackend>>();
  const backendOf = (chain: string, walletId: string | undefined): Promise<ChainBackend> => {
    if (walletId === undefined) return Promise.reject(new InvalidInputError('backend.not_configured', `no wallet given to choose a backend for ${chain}`));
    let b = open.get(walletId);
    if (b === undefined) {
      b = openWalletBackend(ctx, walletId, options).then((r) => r.backend);
      // A failed open (bad setting, unreachable Core) is retried on the next call, not cached.
      b.catch(() => open.delete(walletId));
      open.set(walletId, b);
    }
    return b;
  };
  return {
    broadcast: async (chain, rawTx, walletId) => broadcastVia(await backendOf(chain, walletId), rawTx),
    confirmations: async (chain, txid, walletId) => confirmationsVia(await backendOf(chain, walletId), txid),
    spenderOf: async (chain, outpoint, walletId) => spenderVia(await backendOf(chain, walletId), outpoint),
    close: async () => {
      for (const b of open.values()) await b.then((x) => x.close()).catch(() => undefined);
      open.clear();
    },
  };
}
