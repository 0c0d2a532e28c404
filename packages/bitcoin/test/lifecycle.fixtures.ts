/**
 * Test wallets for the PSBT suites: cosigners from HD seeds, a policy over their account keys,
 * and synthetic funding transactions paying derived addresses (so nonWitnessUtxo is a real
 * previous transaction whose txid the UTXO names).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  defaultAccountPath,
  derivePrivatePath,
  encodeExtendedPublicKey,
  formatKeyOrigin,
  hdNodeFromSeed,
  masterFingerprint,
  neuterNode,
  type HDPrivateNode,
} from '../src/keys/index.ts';
import { createAddressDeriver, createPolicy, type AddressDeriver } from '../src/wallet/index.ts';
import type { Branch, MultisigPolicy, Network, ScriptType, WalletUtxo } from '../src/types.ts';
import { serializeTransaction, transactionId, type Transaction, type TxOutput } from '../src/tx/transaction.ts';
import { toHex } from '../src/tx/bytes.ts';

/** Base seed of this run (set MOFN_TEST_SEED=<hex> to reproduce a failure). */
export const RUN_SEED: string = process.env['MOFN_TEST_SEED'] ?? randomBytes(16).toString('hex');

let counter = 0;
/** Deterministic bytes from the run seed and a counter. */
export function testBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 32) {
    const h = createHash('sha256').update(`${RUN_SEED}/${String(counter++)}`).digest();
    out.set(h.subarray(0, Math.min(32, n - off)), off);
  }
  return out;
}

/** A wallet with the cosigners' master keys. */
export interface TestWallet {
  readonly policy: MultisigPolicy;
  readonly deriver: AddressDeriver;
  readonly masters: readonly HDPrivateNode[];
  readonly fingerprints: readonly string[];
}

/** An M-of-N wallet of a script type whose N cosigners come from fresh seeds. */
export function makeWallet(type: ScriptType, threshold: number, n: number, options: { network?: Network; sorted?: boolean } = {}): TestWallet {
  const network = options.network ?? 'test';
  const path = defaultAccountPath(type, network);
  const masters = Array.from({ length: n }, () => hdNodeFromSeed(testBytes(32)));
  const keys = masters.map((m) => {
    const account = derivePrivatePath(m, path);
    return `${formatKeyOrigin({ fingerprint: masterFingerprint(m), path })}${encodeExtendedPublicKey(neuterNode(account, network), network)}`;
  });
  const policy = createPolicy({ type, threshold, keys, network, sorted: options.sorted ?? true });
  return { policy, deriver: createAddressDeriver(policy), masters, fingerprints: masters.map(masterFingerprint) };
}

/** What to fund: an address of the wallet and an amount. */
export interface FundingSpec {
  readonly branch: Branch;
  readonly index: number;
  readonly amount: bigint;
}

/** Synthetic UTXOs and the outputs they spend, by outpoint. */
export interface Funding {
  readonly utxos: WalletUtxo[];
  readonly prevTx: Uint8Array;
  readonly txid: string;
  readonly outputs: readonly TxOutput[];
}

/**
 * One synthetic transaction paying every spec (output k = spec k, plus one unrelated output),
 * spending a made-up outpoint. Its txid is real, so the UTXOs can carry it as prevTx.
 */
export function fundWallet(wallet: TestWallet, specs: readonly FundingSpec[], options: { withPrevTx?: boolean } = {}): Funding {
  const outputs: TxOutput[] = specs.map((s) => ({ amount: s.amount, script: wallet.deriver.derive(s.branch, s.index).scriptPubKey }));
  outputs.push({ amount: 12_345n, script: new Uint8Array([0x00, 0x14, ...testBytes(20)]) });
  const tx: Transaction = {
    version: 2,
    locktime: 0,
    inputs: [{ txid: toHex(testBytes(32)), vout: 0, scriptSig: new Uint8Array([0x51]), sequence: 0xfffffffd, witness: [] }],
    outputs,
  };
  const prevTx = serializeTransaction(tx);
  const txid = transactionId(tx);
  const withPrevTx = options.withPrevTx ?? true;
  const utxos = specs.map((s, vout): WalletUtxo => ({ txid, vout, amount: s.amount, branch: s.branch, index: s.index, ...(withPrevTx ? { prevTx } : {}) }));
  return { utxos, prevTx, txid, outputs };
}

/** A testnet P2WPKH address's script paying nobody we know. */
export function externalScript(): Uint8Array {
  return new Uint8Array([0x00, 0x14, ...testBytes(20)]);
}
