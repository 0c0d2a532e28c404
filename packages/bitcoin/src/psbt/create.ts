/**
 * The creator and updater roles (BIP-174) for an mofn wallet: coin selection, the unsigned
 * transaction, and every field a cosigner's device needs to verify and sign (UTXOs, scripts,
 * BIP-32 derivations of every cosigner, global xpubs, change derivation).
 */
import { InsufficientFundsError, InvalidInputError, InvalidPsbtError, compareBytes, equalBytes } from '@mofn/core';
import { addressToScript } from '../address.ts';
import { NETWORKS } from '../network.ts';
import type { Branch, DerivedAddress, MultisigPolicy, Payment, WalletUtxo } from '../types.ts';
import { selectCoins, type CoinCandidate } from '../coinselect/select.ts';
import { dustThreshold } from '../coinselect/dust.ts';
import { ByteWriter } from '../tx/bytes.ts';
import { parseTransaction, transactionId } from '../tx/transaction.ts';
import { tapLeafHash, TAPSCRIPT_LEAF_VERSION } from '../tx/script.ts';
import { estimateMultisigVsize, multisigInputWeight } from '../tx/vsize.ts';
import { EMPTY_INPUT, EMPTY_OUTPUT, type Bip32Derivation, type GlobalXpub, type Psbt, type PsbtInput, type PsbtOutput, type TapBip32Derivation, type UnsignedTx, type UnsignedTxInput, type WalletDeriver } from './types.ts';
import { spendShapeOf } from './wallet.ts';

/** Options of {@link createPsbt}. */
export interface CreatePsbtOptions {
  /** Spendable outputs of the wallet to choose from. */
  readonly utxos: readonly WalletUtxo[];
  /** Payments, in output order. May be empty with `coinSelection: 'all'` (consolidation to change). */
  readonly payments: readonly Payment[];
  /** Fee rate in sat/vB (fractional allowed). */
  readonly feeRate: number;
  /** Change address index on branch 1. */
  readonly changeIndex: number;
  /** Signal BIP-125 replaceability (nSequence 0xfffffffd). Default true. */
  readonly rbf?: boolean;
  /** nLockTime (default 0). */
  readonly locktime?: number;
  /** `bnb` (default): branch and bound with largest-first fallback; `all`: spend every UTXO given. */
  readonly coinSelection?: 'all' | 'bnb';
  /**
   * Largest transaction weight allowed (default 400,000 WU, Bitcoin Core's standardness limit: a
   * larger transaction does not relay). Raise it only for tests and benchmarks.
   */
  readonly maxWeight?: number;
}

/** Result of {@link createPsbt}. */
export interface CreatePsbtResult {
  readonly psbt: Psbt;
  readonly fee: bigint;
  /** Estimated vsize once signed (worst-case signature sizes). */
  readonly vsize: number;
  /** The UTXOs spent, in input order. */
  readonly selected: readonly WalletUtxo[];
  readonly change?: { readonly index: number; readonly amount: bigint };
}

const SEQUENCE_RBF = 0xfffffffd;
const SEQUENCE_LOCKTIME = 0xfffffffe;
const SEQUENCE_FINAL = 0xffffffff;

function bip32Of(addr: DerivedAddress): Bip32Derivation[] {
  return addr.keys.map((k) => ({ pubkey: k.publicKey, fingerprint: k.fingerprint, path: k.path })).sort((a, b) => compareBytes(a.pubkey, b.pubkey));
}

function tapBip32Of(addr: DerivedAddress, leafHash: Uint8Array): TapBip32Derivation[] {
  return addr.keys
    .map((k) => ({ pubkey: k.publicKey.subarray(1).slice(), leafHashes: [leafHash], fingerprint: k.fingerprint, path: k.path }))
    .sort((a, b) => compareBytes(a.pubkey, b.pubkey));
}

/** PSBT_GLOBAL_XPUB entries for every cosigner with a known origin (hardware signers use them to recognise the wallet). */
export function globalXpubsOf(policy: MultisigPolicy): GlobalXpub[] {
  const version = NETWORKS[policy.network].xpub;
  const out: GlobalXpub[] = [];
  for (const k of policy.keys) {
    if (k.origin === undefined) continue;
    const x = k.xpub;
    const w = new ByteWriter(78);
    w.u8(version >>> 24).u8((version >>> 16) & 0xff).u8((version >>> 8) & 0xff).u8(version & 0xff);
    w.u8(x.depth);
    const pf = x.parentFingerprint;
    w.u8(pf >>> 24).u8((pf >>> 16) & 0xff).u8((pf >>> 8) & 0xff).u8(pf & 0xff);
    const c = x.childNumber;
    w.u8(c >>> 24).u8((c >>> 16) & 0xff).u8((c >>> 8) & 0xff).u8(c & 0xff);
    w.bytes(x.chainCode).bytes(x.publicKey);
    out.push({ extendedKey: w.finish(), fingerprint: k.origin.fingerprint, path: k.origin.path });
  }
  return out;
}

/**
 * The creator role alone: an empty PSBT around an unsigned transaction (no UTXOs or scripts yet).
 * @throws InvalidPsbtError `psbt.invalid_txid` for a malformed input txid (on serialization)
 */
export function psbtFromUnsignedTx(tx: UnsignedTx): Psbt {
  return {
    tx: { version: tx.version, locktime: tx.locktime, inputs: tx.inputs.map((i) => ({ ...i })), outputs: tx.outputs.map((o) => ({ ...o })) },
    global: { xpubs: [], unknown: [] },
    inputs: tx.inputs.map(() => EMPTY_INPUT),
    outputs: tx.outputs.map(() => EMPTY_OUTPUT),
  };
}

/** PSBT input fields for a wallet UTXO (updater role). */
function inputFields(policy: MultisigPolicy, addr: DerivedAddress, utxo: WalletUtxo): PsbtInput {
  const base: PsbtInput = { ...EMPTY_INPUT };
  const witnessUtxo = { amount: utxo.amount, script: addr.scriptPubKey };
  if (policy.type === 'tr') {
    const leaf = addr.tapLeafScript!;
    const leafHash = tapLeafHash(leaf);
    return {
      ...base,
      witnessUtxo,
      tapLeafScripts: [{ controlBlock: addr.tapControlBlock!, script: leaf, leafVersion: TAPSCRIPT_LEAF_VERSION }],
      tapBip32Derivation: tapBip32Of(addr, leafHash),
      tapInternalKey: addr.tapInternalKey!,
      // A single-leaf tree: the merkle root is the leaf hash (BIP-341).
      tapMerkleRoot: leafHash,
    };
  }
  return {
    ...base,
    // BIP-174: non-witness inputs carry only the full previous transaction.
    ...(utxo.prevTx === undefined ? {} : { nonWitnessUtxo: utxo.prevTx.slice() }),
    ...(policy.type === 'sh' ? {} : { witnessUtxo }),
    ...(addr.redeemScript === undefined ? {} : { redeemScript: addr.redeemScript }),
    ...(addr.witnessScript === undefined ? {} : { witnessScript: addr.witnessScript }),
    bip32Derivation: bip32Of(addr),
  };
}

/** PSBT output fields for the wallet's change output. */
function changeFields(policy: MultisigPolicy, addr: DerivedAddress): PsbtOutput {
  if (policy.type === 'tr') {
    const leaf = addr.tapLeafScript!;
    return {
      bip32Derivation: [],
      tapInternalKey: addr.tapInternalKey!,
      tapTree: [{ depth: 0, leafVersion: TAPSCRIPT_LEAF_VERSION, script: leaf }],
      tapBip32Derivation: tapBip32Of(addr, tapLeafHash(leaf)),
      unknown: [],
    };
  }
  return {
    ...(addr.redeemScript === undefined ? {} : { redeemScript: addr.redeemScript }),
    ...(addr.witnessScript === undefined ? {} : { witnessScript: addr.witnessScript }),
    bip32Derivation: bip32Of(addr),
    tapBip32Derivation: [],
    unknown: [],
  };
}

/**
 * Checks a previous transaction against the UTXO it is said to fund.
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch`
 */
function assertPrevTx(utxo: WalletUtxo, addr: DerivedAddress): void {
  if (utxo.prevTx === undefined) return;
  const where = `${utxo.txid}:${String(utxo.vout)}`;
  let tx;
  try {
    tx = parseTransaction(utxo.prevTx);
  } catch (cause) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `previous transaction of ${where} does not parse`, { cause });
  }
  const txid = transactionId(tx);
  if (txid !== utxo.txid) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `previous transaction given for ${where} has txid ${txid}`, { details: { expected: utxo.txid, actual: txid } });
  }
  const out = tx.outputs[utxo.vout];
  if (out === undefined) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `previous transaction of ${where} has only ${String(tx.outputs.length)} outputs`);
  }
  if (out.amount !== utxo.amount) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `${where} is ${utxo.amount} sats but the previous transaction pays ${out.amount}`, {
      details: { claimed: utxo.amount.toString(), actual: out.amount.toString() },
    });
  }
  if (!equalBytes(out.script, addr.scriptPubKey)) {
    throw new InvalidPsbtError('psbt.prev_tx_mismatch', `${where} does not pay to the wallet address at ${String(utxo.branch)}/${String(utxo.index)}`, {
      details: { branch: utxo.branch, index: utxo.index },
    });
  }
}

function validateCommon(utxos: readonly WalletUtxo[], locktime: number, maxWeight: number | undefined): void {
  if (!Number.isInteger(locktime) || locktime < 0 || locktime > 0xffffffff) {
    throw new InvalidInputError('psbt.invalid_locktime', `locktime ${String(locktime)} must be an integer in 0..2^32-1`);
  }
  if (maxWeight !== undefined && (!Number.isInteger(maxWeight) || maxWeight <= 0)) {
    throw new InvalidInputError('psbt.invalid_max_weight', `maxWeight ${String(maxWeight)} must be a positive integer`);
  }
  const seen = new Set<string>();
  for (const u of utxos) {
    const k = `${u.txid}:${String(u.vout)}`;
    if (!/^[0-9a-f]{64}$/.test(u.txid) || !Number.isInteger(u.vout) || u.vout < 0 || u.vout > 0xffffffff) {
      throw new InvalidInputError('utxo.invalid', `UTXO '${k}' is not a valid outpoint (lower-case hex txid, integer vout)`);
    }
    if (seen.has(k)) throw new InvalidInputError('utxo.duplicate', `UTXO ${k} is listed twice`);
    seen.add(k);
    if (typeof u.amount !== 'bigint' || u.amount <= 0n) throw new InvalidInputError('utxo.invalid_amount', `UTXO ${k} has amount ${String(u.amount)}`);
  }
}

function assertChangeIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
    throw new InvalidInputError('psbt.invalid_change_index', `change index ${String(index)} must be an integer in 0..2^31-1`);
  }
}

/** A payment script after the dust and amount checks. */
function paymentScript(deriver: WalletDeriver, address: string, amount: bigint): Uint8Array {
  const script = addressToScript(address, deriver.policy.network);
  assertPaymentAmount(script, amount, address);
  return script;
}

function assertPaymentAmount(script: Uint8Array, amount: bigint, label: string): void {
  if (typeof amount !== 'bigint' || amount <= 0n) throw new InvalidInputError('payment.invalid_amount', `payment to ${label} has amount ${String(amount)}`);
  const dust = dustThreshold(script);
  if (amount < dust) {
    throw new InvalidInputError('payment.dust', `payment of ${amount} sats to ${label} is below the dust limit of ${dust} sats`, {
      details: { amount: amount.toString(), dust: dust.toString() },
    });
  }
}

/** Per-call cache of wallet addresses (derive each at most once). */
function addressMemo(deriver: WalletDeriver): (branch: Branch, index: number) => DerivedAddress {
  const addresses = new Map<number, DerivedAddress>();
  return (branch, index) => {
    const k = index * 2 + branch;
    let a = addresses.get(k);
    if (a === undefined) {
      a = deriver.derive(branch, index);
      addresses.set(k, a);
    }
    return a;
  };
}

interface AssembledOutput {
  readonly amount: bigint;
  readonly script: Uint8Array;
  readonly fields: PsbtOutput;
}

/** Creator + updater: the PSBT spending `utxos` (in order) to `outputs` (in order). */
function assemble(deriver: WalletDeriver, addressOf: (b: Branch, i: number) => DerivedAddress, utxos: readonly WalletUtxo[], outputs: readonly AssembledOutput[], rbf: boolean, locktime: number): Psbt {
  const policy = deriver.policy;
  for (const u of utxos) {
    if (policy.type === 'sh' && u.prevTx === undefined) {
      throw new InvalidInputError('psbt.missing_prev_tx', `UTXO ${u.txid}:${String(u.vout)} is a legacy P2SH output: its previous transaction (prevTx) is required`, {
        hint: 'fetch the raw previous transaction from the backend and pass it as WalletUtxo.prevTx',
      });
    }
  }
  // BIP-125 opt-in; without it, a non-final sequence still lets nLockTime take effect.
  const sequence = rbf ? SEQUENCE_RBF : locktime > 0 ? SEQUENCE_LOCKTIME : SEQUENCE_FINAL;
  const txInputs: UnsignedTxInput[] = utxos.map((u) => ({ txid: u.txid, vout: u.vout, sequence }));
  return {
    tx: { version: 2, locktime, inputs: txInputs, outputs: outputs.map((o) => ({ amount: o.amount, script: o.script })) },
    global: { xpubs: globalXpubsOf(policy), unknown: [] },
    inputs: utxos.map((u) => inputFields(policy, addressOf(u.branch, u.index), u)),
    outputs: outputs.map((o) => o.fields),
  };
}

const PLAIN_OUTPUT: PsbtOutput = EMPTY_OUTPUT;

/**
 * Builds an unsigned PSBT paying `payments` from the wallet's UTXOs (creator + updater roles).
 * Inputs keep the order of `utxos`; outputs are the payments in order, then change (if any).
 * @throws InsufficientFundsError `coinselect.insufficient_funds`
 * @throws InvalidInputError `payment.dust`, `payment.invalid_amount`, `fee.invalid_rate`, `utxo.*`,
 *   `coinselect.too_large`, `psbt.missing_prev_tx` (a legacy P2SH input needs its previous
 *   transaction), and address errors
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch` when a WalletUtxo.prevTx is not the UTXO's transaction
 */
export function createPsbt(deriver: WalletDeriver, options: CreatePsbtOptions): CreatePsbtResult {
  const locktime = options.locktime ?? 0;
  validateCommon(options.utxos, locktime, options.maxWeight);
  assertChangeIndex(options.changeIndex);
  if (options.payments.length === 0 && options.coinSelection !== 'all') {
    throw new InvalidInputError('psbt.no_payments', 'no payments given', { hint: "use coinSelection: 'all' to consolidate every UTXO into change" });
  }
  const policy = deriver.policy;
  const paymentScripts = options.payments.map((p) => paymentScript(deriver, p.address, p.amount));
  const addressOf = addressMemo(deriver);
  const candidates: CoinCandidate<WalletUtxo>[] = options.utxos.map((u) => {
    const addr = addressOf(u.branch, u.index);
    assertPrevTx(u, addr);
    const w = multisigInputWeight(spendShapeOf(addr, policy));
    return { item: u, amount: u.amount, inputWeight: w.weight, witness: w.witness };
  });
  const changeAddr = addressOf(1, options.changeIndex);
  const selection = selectCoins({
    candidates,
    outputs: options.payments.map((p, i) => ({ amount: p.amount, scriptLength: paymentScripts[i]!.length })),
    feeRate: options.feeRate,
    change: {
      scriptLength: changeAddr.scriptPubKey.length,
      dustThreshold: dustThreshold(changeAddr.scriptPubKey),
      spendWeight: multisigInputWeight(spendShapeOf(changeAddr, policy)).weight,
    },
    strategy: options.coinSelection === 'all' ? 'all' : 'bnb',
    ...(options.maxWeight === undefined ? {} : { maxWeight: options.maxWeight }),
  });
  const outputs: AssembledOutput[] = options.payments.map((p, i) => ({ amount: p.amount, script: paymentScripts[i]!, fields: PLAIN_OUTPUT }));
  if (selection.change !== undefined) outputs.push({ amount: selection.change, script: changeAddr.scriptPubKey, fields: changeFields(policy, changeAddr) });
  if (outputs.length === 0) {
    throw new InsufficientFundsError('coinselect.insufficient_funds', `consolidating these UTXOs would leave only dust (${selection.fee} sats, all to the fee)`, {
      hint: 'add more UTXOs or lower the fee rate',
    });
  }
  const psbt = assemble(deriver, addressOf, selection.selected, outputs, options.rbf ?? true, locktime);
  return {
    psbt,
    fee: selection.fee,
    vsize: selection.vsize,
    selected: selection.selected,
    ...(selection.change === undefined ? {} : { change: { index: options.changeIndex, amount: selection.change } }),
  };
}

/** An output of {@link createPsbtFromOutputs}: a payment (address or script) or the wallet's change. */
export type OutputSpec =
  | { readonly address: string; readonly amount: bigint }
  | { readonly script: Uint8Array; readonly amount: bigint }
  | { readonly changeIndex: number; readonly amount: bigint };

/** Options of {@link createPsbtFromOutputs}. */
export interface CreatePsbtFromOutputsOptions {
  /** Every UTXO is spent, in this order. */
  readonly utxos: readonly WalletUtxo[];
  /** Outputs in this order; the fee is whatever the inputs leave. */
  readonly outputs: readonly OutputSpec[];
  readonly rbf?: boolean;
  readonly locktime?: number;
}

/** Result of {@link createPsbtFromOutputs}. */
export interface CreatePsbtFromOutputsResult {
  readonly psbt: Psbt;
  readonly fee: bigint;
  /** Estimated vsize once signed (worst-case signature sizes). */
  readonly vsize: number;
}

/**
 * Builds an unsigned PSBT with exactly these inputs and outputs (coin control, or a transaction
 * fixed elsewhere such as a benchmark's): no coin selection, the fee is inputs minus outputs.
 * Change outputs carry their derivation (redeem/witness script or taproot tree, BIP-32 paths).
 * @throws InvalidInputError `psbt.negative_fee`, `psbt.no_outputs`, `payment.dust`,
 *   `payment.invalid_amount`, `utxo.*`, `psbt.missing_prev_tx`, and address errors
 * @throws InvalidPsbtError `psbt.prev_tx_mismatch`
 */
export function createPsbtFromOutputs(deriver: WalletDeriver, options: CreatePsbtFromOutputsOptions): CreatePsbtFromOutputsResult {
  const locktime = options.locktime ?? 0;
  validateCommon(options.utxos, locktime, undefined);
  if (options.outputs.length === 0) throw new InvalidInputError('psbt.no_outputs', 'a transaction needs at least one output');
  const policy = deriver.policy;
  const addressOf = addressMemo(deriver);
  const shapes = options.utxos.map((u) => {
    const addr = addressOf(u.branch, u.index);
    assertPrevTx(u, addr);
    return spendShapeOf(addr, policy);
  });
  const outputs = options.outputs.map((o): AssembledOutput => {
    if ('changeIndex' in o) {
      assertChangeIndex(o.changeIndex);
      const addr = addressOf(1, o.changeIndex);
      assertPaymentAmount(addr.scriptPubKey, o.amount, `change ${String(o.changeIndex)}`);
      return { amount: o.amount, script: addr.scriptPubKey, fields: changeFields(policy, addr) };
    }
    if ('address' in o) return { amount: o.amount, script: paymentScript(deriver, o.address, o.amount), fields: PLAIN_OUTPUT };
    assertPaymentAmount(o.script, o.amount, 'a script');
    return { amount: o.amount, script: o.script.slice(), fields: PLAIN_OUTPUT };
  });
  const totalIn = options.utxos.reduce((s, u) => s + u.amount, 0n);
  const totalOut = outputs.reduce((s, o) => s + o.amount, 0n);
  if (totalOut > totalIn) {
    throw new InvalidInputError('psbt.negative_fee', `outputs (${totalOut} sats) exceed the inputs (${totalIn} sats)`, {
      details: { totalIn: totalIn.toString(), totalOut: totalOut.toString() },
    });
  }
  const psbt = assemble(deriver, addressOf, options.utxos, outputs, options.rbf ?? true, locktime);
  return { psbt, fee: totalIn - totalOut, vsize: estimateMultisigVsize(shapes, outputs.map((o) => o.script.length)) };
}
