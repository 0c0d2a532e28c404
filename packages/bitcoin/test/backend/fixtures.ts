/**
 * Chain states for the backend and sync suites, made of real transactions: funding built with
 * bitcoinjs-lib (test/support/funding.ts) and spends built, signed by M cosigners, combined,
 * finalized and extracted by mofn's engine. The loopback servers check every spend with
 * bitcore-lib's interpreter before accepting it.
 */
import { scriptToAddress } from '../../src/address.ts';
import { combinePsbts, createPsbt, extractTransaction, finalizePsbt, signPsbt, type ExtractedTransaction } from '../../src/psbt/index.ts';
import type { Branch, WalletUtxo } from '../../src/types.ts';
import { fundingTransaction, type FundingTransaction } from '../../../../test/support/funding.ts';
import { externalScript, makeWallet, type TestWallet } from '../lifecycle.fixtures.ts';

export { makeWallet, type TestWallet };

/** A funding transaction paying wallet addresses (branch/index/amount each). */
export function fundAddresses(wallet: TestWallet, specs: readonly { branch: Branch; index: number; amount: bigint }[]): FundingTransaction & { utxos: WalletUtxo[] } {
  const funding = fundingTransaction(specs.map((s) => ({ address: wallet.deriver.derive(s.branch, s.index).address, amount: s.amount, network: 'test' as const })));
  const utxos = specs.map((s, vout): WalletUtxo => ({ txid: funding.txid, vout, amount: s.amount, branch: s.branch, index: s.index, prevTx: funding.raw }));
  return { ...funding, utxos };
}

/** An external (not ours) testnet address. */
export function externalAddress(): string {
  return scriptToAddress(externalScript(), 'test');
}

/** A spend of `utxos` paying `amount` to an external address, change to /1/changeIndex, signed by the first M cosigners. */
export function signedSpend(wallet: TestWallet, utxos: readonly WalletUtxo[], options: { amount: bigint; feeRate: number; changeIndex: number; to?: string }): ExtractedTransaction {
  const { psbt } = createPsbt(wallet.deriver, {
    utxos,
    payments: [{ address: options.to ?? externalAddress(), amount: options.amount }],
    feeRate: options.feeRate,
    changeIndex: options.changeIndex,
    coinSelection: 'all',
  });
  const m = wallet.policy.threshold;
  const copies = wallet.masters.slice(0, m).map((root) => signPsbt(psbt, wallet.deriver, { root }).psbt);
  return extractTransaction(finalizePsbt(combinePsbts(copies), wallet.deriver));
}
