/**
 * The shared, deterministic inputs of every benchmark workload (see ../shared/DESIGN.md,
 * "The benchmark workloads"). Every library starts from exactly these strings and numbers, so a
 * correct implementation must produce exactly the same addresses and transactions.
 *
 * Computed here with @scure/bip32 and noble once per process, outside every timed region.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { p2wpkh, TEST_NETWORK } from '@scure/btc-signer';

/** BIP-32 version bytes of tprv / tpub. */
export const TESTNET_VERSIONS = { private: 0x04358394, public: 0x043587cf } as const;

/** nSequence of every input: BIP-125 opt-in RBF, no relative lock-time (used by all libraries). */
export const SEQUENCE = 0xfffffffd;
export const TX_VERSION = 2;
export const LOCKTIME = 0;
export const HARDENED = 0x80000000;

/** One cosigner: its secret seed (signers only) and what the coordinator knows of it. */
export interface Cosigner {
  readonly index: number;
  /** 32-byte BIP-32 seed sha256('mofn-bench-cosigner-<i>'). */
  readonly seed: Uint8Array;
  /** Master fingerprint, 8 lower-case hex chars. */
  readonly fingerprint: string;
  /** Account path, e.g. [48', 1', 0', 2']. */
  readonly accountPath: readonly number[];
  /** The same path in text, "m/48'/1'/0'/2'". */
  readonly accountPathText: string;
  /** Account extended public key (tpub). */
  readonly tpub: string;
}

/** BIP-48 script type suffix: 2' is P2WSH, 3' is taproot. */
export type AccountKind = 'wsh' | 'tr';

const cosignerCache = new Map<string, Cosigner>();

/** The cosigner with the given index (0-based), its account at m/48'/1'/0'/2' (wsh) or /3' (tr). */
export function cosigner(index: number, kind: AccountKind): Cosigner {
  const cacheKey = `${kind}:${index}`;
  const cached = cosignerCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const seed = sha256(utf8ToBytes(`mofn-bench-cosigner-${index}`));
  const master = HDKey.fromMasterSeed(seed, TESTNET_VERSIONS);
  const scriptType = kind === 'wsh' ? 2 : 3;
  const accountPath = [48 + HARDENED, 1 + HARDENED, 0 + HARDENED, scriptType + HARDENED];
  const accountPathText = `m/48'/1'/0'/${scriptType}'`;
  const account = master.derive(accountPathText);
  const result: Cosigner = {
    index,
    seed,
    fingerprint: master.fingerprint.toString(16).padStart(8, '0'),
    accountPath,
    accountPathText,
    tpub: account.publicExtendedKey,
  };
  cosignerCache.set(cacheKey, result);
  return result;
}

/** `count` cosigners 0..count-1. */
export function cosigners(count: number, kind: AccountKind): Cosigner[] {
  return Array.from({ length: count }, (_, i) => cosigner(i, kind));
}

/** W1: 10,000 receive addresses of a 2-of-3 wsh(sortedmulti) testnet wallet. */
export const W1 = {
  count: 10_000,
  threshold: 2,
  cosigners: cosigners(3, 'wsh'),
} as const;

/** A synthetic previous output the wallet spends: txid in display (RPC) byte order. */
export interface BenchUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  /** Address index on the receive branch (/0/index). */
  readonly index: number;
}

/** A spend of `inputs` wallet outputs (one per receive address 0..inputs-1). */
export interface SpendFixture {
  readonly kind: AccountKind;
  readonly threshold: number;
  readonly cosigners: readonly Cosigner[];
  /** Indexes into `cosigners` of those who sign, in signing order. */
  readonly signers: readonly number[];
  readonly utxos: readonly BenchUtxo[];
  /** P2WPKH testnet address of the payee. */
  readonly paymentAddress: string;
  readonly paymentAmount: bigint;
  /** Change goes to the wallet's own address /1/0. */
  readonly changeIndex: 0;
  readonly changeAmount: bigint;
  readonly fee: bigint;
}

function makeUtxos(inputs: number, kind: AccountKind): BenchUtxo[] {
  return Array.from({ length: inputs }, (_, i) => ({
    txid: bytesToHex(sha256(utf8ToBytes(`mofn-bench-prevout-${kind}-${i}`))),
    vout: i % 3,
    amount: 100_000n + BigInt(i),
    index: i,
  }));
}

/** The payee: P2WPKH of the key sha256('mofn-bench-payee'). */
export const PAYMENT_ADDRESS: string = (() => {
  const pub = secp256k1.getPublicKey(sha256(utf8ToBytes('mofn-bench-payee')), true);
  const address = p2wpkh(pub, TEST_NETWORK).address;
  if (address === undefined) throw new Error('fixtures: no payee address');
  return address;
})();

/** Fee rate of every spend, sat/vB (an integer, so the fee is exactly rate x vsize). */
export const FEE_RATE = 2;

function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/**
 * Virtual size of the signed spend with worst-case signatures (BIP-141 weight / 4, rounded up):
 * ECDSA 72 bytes with the sighash byte (71-byte low-S DER), Schnorr 64 (SIGHASH_DEFAULT). This is
 * how a coordinator prices a multisig spend before it is signed; mofn's createPsbt takes a fee
 * rate, so the other libraries are given the fee it implies.
 */
export function estimateSpendVsize(kind: AccountKind, inputs: number, threshold: number, keys: number): number {
  let inputWeight: number;
  if (kind === 'wsh') {
    const script = 1 + 34 * keys + 1 + 1; // OP_m <key>xN OP_n OP_CHECKMULTISIG
    // OP_0 dummy for CHECKMULTISIG, M signatures, the witness script.
    const witness = compactSizeLength(threshold + 2) + 1 + threshold * (1 + 72) + compactSizeLength(script) + script;
    inputWeight = 4 * (36 + 1 + 4) + witness;
  } else {
    const script = 34 * keys + 1 + 1; // <x> CHECKSIG (<x> CHECKSIGADD)* OP_m NUMEQUAL
    // One element per key (signature or empty, BIP-342 multi_a), the leaf, a 33-byte control block.
    const witness = compactSizeLength(keys + 2) + threshold * (1 + 64) + (keys - threshold) + compactSizeLength(script) + script + 1 + 33;
    inputWeight = 4 * (36 + 1 + 4) + witness;
  }
  const outputs = 4 * (8 + 1 + 22) + 4 * (8 + 1 + 34); // P2WPKH payment, P2WSH / P2TR change
  const overhead = 4 * (4 + compactSizeLength(inputs) + compactSizeLength(2) + 4) + 2; // + segwit marker, flag
  return Math.ceil((inputs * inputWeight + outputs + overhead) / 4);
}

function makeSpend(kind: AccountKind, inputs: number, threshold: number, keys: number, signers: number[]): SpendFixture {
  const utxos = makeUtxos(inputs, kind);
  const total = utxos.reduce((sum, u) => sum + u.amount, 0n);
  const fee = BigInt(FEE_RATE * estimateSpendVsize(kind, inputs, threshold, keys));
  const paymentAmount = total / 2n;
  return {
    kind,
    threshold,
    cosigners: cosigners(keys, kind),
    signers,
    utxos,
    paymentAddress: PAYMENT_ADDRESS,
    paymentAmount,
    changeIndex: 0,
    changeAmount: total - paymentAmount - fee,
    fee,
  };
}

/** W2: a 3-of-5 wsh(sortedmulti) spend of `inputs` inputs (200 in DESIGN.md), cosigners 0, 1, 2 sign. */
export function w2Fixture(inputs: number): SpendFixture {
  return makeSpend('wsh', inputs, 3, 5, [0, 1, 2]);
}

/** W4: a 2-of-3 tr(NUMS, sortedmulti_a) spend of `inputs` inputs (50 in DESIGN.md), cosigners 0, 1 sign. */
export function w4Fixture(inputs: number): SpendFixture {
  return makeSpend('tr', inputs, 2, 3, [0, 1]);
}

/** BIP-341 "H" point: the x-only NUMS internal key with no known discrete logarithm. */
export const NUMS_INTERNAL_KEY_HEX = '50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0';

/** 32 zero bytes: the BIP-340 auxiliary randomness every library signs with, so signatures match. */
export const ZERO_AUX = new Uint8Array(32);

/** Lexicographic byte comparison (BIP-67 key order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string | Uint8Array): string {
  return bytesToHex(sha256(typeof text === 'string' ? utf8ToBytes(text) : text));
}
