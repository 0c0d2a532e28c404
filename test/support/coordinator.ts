/**
 * Cosigners with real CLI keystores (encrypted file written, read back, unlocked), spends built the
 * way a remote client builds them (from the wallet descriptor the API returns), and a chain gateway
 * that accepts a transaction only when bitcore-lib's interpreter validates every input.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entropyToMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createAddressDeriver, createPsbt, parseTransaction, policyFromDescriptor, psbtToBase64, transactionId, type Network } from '@mofn/bitcoin';
import { createKeystore, createKeystoreSigner, keystoreXpub, readKeystore, unlockKeystore, writeKeystore, type UnlockedKeystore } from '@mofn/signers';
import type { ChainGateway } from '@mofn/service';
import { fundingTransaction } from './funding.ts';
import { verifyWithBitcore, type BitcorePrevout } from './bitcore.ts';

export interface KeystoreCosigner {
  readonly label: string;
  readonly unlocked: UnlockedKeystore;
  /** `[fp/48h/1h/0h/2h]tpub...` as `mofn key xpub` prints it. */
  readonly key: string;
  /** Signs a base64 PSBT for the wallet `descriptor`, returning base64. */
  sign(psbtBase64: string, descriptor: string, network: Network): Promise<string>;
}

const dir = mkdtempSync(join(tmpdir(), 'mofn-ks-'));

/** A cosigner whose keystore file is created, written, read back and unlocked like the CLI does. */
export async function keystoreCosigner(label: string, network: Network = 'test', path = "m/48'/1'/0'/2'"): Promise<KeystoreCosigner> {
  const mnemonic = entropyToMnemonic(sha256(new TextEncoder().encode(`mofn-server-test-${label}`)).slice(0, 16), wordlist);
  // A low scrypt cost keeps tests fast; the format and code path are the CLI's.
  const file = await createKeystore({ mnemonic, password: `pw-${label}`, network, kdf: { N: 2 ** 10 } });
  const where = join(dir, `${label}-${Date.now()}.json`);
  await writeKeystore(where, file);
  const unlocked = await unlockKeystore(await readKeystore(where), `pw-${label}`);
  const signer = createKeystoreSigner(unlocked);
  return {
    label,
    unlocked,
    key: keystoreXpub(unlocked, path),
    async sign(psbtBase64, descriptor, net) {
      const policy = policyFromDescriptor(descriptor, net);
      const out = await signer.signPsbt(Buffer.from(psbtBase64, 'base64'), { policy });
      return Buffer.from(out).toString('base64');
    },
  };
}

/** A funded spend of a wallet (from its descriptor): the PSBT and the prevouts for bitcore. */
export interface BuiltSpend {
  readonly psbt: string;
  readonly prevouts: BitcorePrevout[];
  readonly fundingTxid: string;
  /** The funding transaction, serialized. */
  readonly fundingRaw: Uint8Array;
}

/** Funds `inputs` receive addresses of the wallet and builds a PSBT paying `pay` sats to `to` with change. */
export function buildSpend(descriptor: string, network: Network, options: { inputs?: number; amount?: bigint; pay?: bigint; to: string; changeIndex?: number; firstIndex?: number }): BuiltSpend {
  const deriver = createAddressDeriver(policyFromDescriptor(descriptor, network));
  const n = options.inputs ?? 2;
  const amount = options.amount ?? 100_000n;
  const first = options.firstIndex ?? 0;
  const outs = Array.from({ length: n }, (_, i) => ({ address: deriver.derive(0, first + i).address, amount, network: network as 'test' }));
  const funding = fundingTransaction(outs);
  const utxos = outs.map((_, i) => ({ txid: funding.txid, vout: i, amount, branch: 0 as const, index: first + i, prevTx: funding.raw }));
  const result = createPsbt(deriver, { utxos, payments: [{ address: options.to, amount: options.pay ?? 50_000n }], feeRate: 2, changeIndex: options.changeIndex ?? 0, coinSelection: 'all' });
  const prevouts = result.psbt.tx.inputs.map((inp) => {
    const o = parseTransaction(funding.raw).outputs[inp.vout]!;
    return { scriptPubKey: o.script, amount: o.amount };
  });
  return { psbt: psbtToBase64(result.psbt), prevouts, fundingTxid: funding.txid, fundingRaw: funding.raw };
}

/** A gateway standing in for a node: it validates every input with bitcore-lib before "accepting". */
export class BitcoreGateway implements ChainGateway {
  readonly accepted = new Map<string, string>();
  readonly prevouts = new Map<string, BitcorePrevout[]>();
  readonly confirmed = new Map<string, number>();
  /** Registers the prevouts of the spends funded by `fundingTxid` (so the gateway can check them). */
  expect(fundingTxid: string, prevouts: BitcorePrevout[]): void {
    this.prevouts.set(fundingTxid, prevouts);
  }
  broadcast(_chain: string, rawTx: string): Promise<{ txid: string }> {
    const tx = parseTransaction(Buffer.from(rawTx, 'hex'));
    const funding = tx.inputs[0]!.txid;
    const prevouts = this.prevouts.get(funding);
    if (prevouts === undefined) return Promise.reject(new Error(`gateway: unknown inputs of ${funding}`));
    const verdicts = verifyWithBitcore(rawTx, prevouts);
    if (!verdicts.every((v) => v.ok)) return Promise.reject(new Error(`gateway: bitcore rejects the transaction: ${JSON.stringify(verdicts)}`));
    const txid = transactionId(tx);
    this.accepted.set(txid, rawTx);
    return Promise.resolve({ txid });
  }
  confirmations(_chain: string, txid: string): Promise<number | undefined> {
    return Promise.resolve(this.accepted.has(txid) ? (this.confirmed.get(txid) ?? 0) : undefined);
  }
}
