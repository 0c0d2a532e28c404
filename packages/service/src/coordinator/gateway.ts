/**
 * The coordinator's chain gateway over Bitcoin chain backends: one backend per chain id
 * (`bitcoin:<network>`). Broadcast test-accepts first where the backend can (Bitcoin Core), so a
 * transaction the node would refuse is reported without being sent.
 */
import { InvalidInputError } from '@mofn/core';
import { parseTransaction, transactionId } from '@mofn/bitcoin';
import { BackendError, describeBackend, type ChainBackend } from '@mofn/bitcoin/backend';
import type { ChainGateway } from './proposals.ts';

/** A gateway over `backends`, keyed by chain id (`bitcoin:test`, `bitcoin:main`...). */
export function createBackendGateway(backends: Readonly<Record<string, ChainBackend>>): ChainGateway {
  const backendOf = (chain: string): ChainBackend => {
    const b = backends[chain];
    if (b === undefined) {
      throw new InvalidInputError('backend.not_configured', `no backend is configured for ${chain}`, { hint: 'start the server with MOFN_ESPLORA_URL, MOFN_ELECTRUM_URL or MOFN_CORE_RPC_URL for that network' });
    }
    return b;
  };
  return {
    async broadcast(chain, rawTx) {
      const backend = backendOf(chain);
      const bytes = Buffer.from(rawTx, 'hex');
      const txid = transactionId(parseTransaction(bytes));
      // Broadcasting is idempotent: a retry (after a lost answer, a reconnect, or a crash before the
      // proposal was marked) finds the transaction already known, which is success, not a rejection.
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
    },
    async spenderOf(chain, outpoint) {
      const backend = backendOf(chain);
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
    },
    async confirmations(chain, txid) {
      const [status] = await backendOf(chain).getTransactionStatuses([txid]);
      if (status === undefined || status.state === 'unknown') return undefined;
      return status.state === 'mempool' ? 0 : status.confirmations;
    },
  };
}
