/**
 * Synthetic funding transactions for tests, built with bitcoinjs-lib (independent of mofn's own
 * transaction code): real serialization and txid, paying the given addresses. Their own input spends
 * a made-up outpoint, which is fine: only the outputs are ever spent by the code under test.
 */
import * as bitcoin from 'bitcoinjs-lib';
import { sha256 } from '@noble/hashes/sha2.js';

const NETWORKS = { main: bitcoin.networks.bitcoin, test: bitcoin.networks.testnet, signet: bitcoin.networks.testnet, regtest: bitcoin.networks.regtest } as const;

export interface FundingOutput {
  readonly address: string;
  readonly amount: bigint;
  readonly network: keyof typeof NETWORKS;
}

export interface FundingTransaction {
  readonly txid: string;
  readonly hex: string;
  readonly raw: Uint8Array;
  readonly outputs: readonly { script: Uint8Array; amount: bigint }[];
}

let counter = 0;

/** A transaction paying each output, with a unique made-up input so every call has a new txid. */
export function fundingTransaction(outputs: readonly FundingOutput[], label = `funding-${++counter}-${Date.now()}`): FundingTransaction {
  const tx = new bitcoin.Transaction();
  tx.version = 2;
  tx.addInput(Buffer.from(sha256(new TextEncoder().encode(label))), 0, 0xfffffffe, Buffer.from([0x51]));
  const scripts: { script: Uint8Array; amount: bigint }[] = [];
  for (const o of outputs) {
    const script = bitcoin.address.toOutputScript(o.address, NETWORKS[o.network]);
    tx.addOutput(script, o.amount);
    scripts.push({ script: new Uint8Array(script), amount: o.amount });
  }
  const raw = new Uint8Array(tx.toBuffer());
  return { txid: tx.getId(), hex: tx.toHex(), raw, outputs: scripts };
}
