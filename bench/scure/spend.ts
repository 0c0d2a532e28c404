/**
 * W2 / W4 with @scure/btc-signer 2 + @scure/bip32 2: the PSBT roles as a coordinator and its
 * cosigners would run them with this library (HD signing through bip32Derivation /
 * tapBip32Derivation, built-in combiner and finalizer).
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { p2ms, p2tr, p2tr_ms, p2wsh, TEST_NETWORK, Transaction } from '@scure/btc-signer';
import { tapLeafHash } from '@scure/btc-signer/payment.js';
import {
  LOCKTIME, NUMS_INTERNAL_KEY_HEX, SEQUENCE, TESTNET_VERSIONS, TX_VERSION, ZERO_AUX, compareBytes, sha256Hex,
} from '../common/fixtures.ts';
import type { SpendFixture } from '../common/fixtures.ts';
import { PhaseTimer } from '../common/harness.ts';
import type { RunOutput } from '../common/harness.ts';

const NUMS = hexToBytes(NUMS_INTERNAL_KEY_HEX);
const TAPSCRIPT_LEAF_VERSION = 0xc0;

interface Account {
  readonly fingerprint: number;
  readonly path: readonly number[];
  readonly branches: readonly [HDKey, HDKey];
}

function accountsOf(fx: SpendFixture): Account[] {
  return fx.cosigners.map((c) => {
    const node = HDKey.fromExtendedKey(c.tpub, TESTNET_VERSIONS);
    return {
      fingerprint: Number.parseInt(c.fingerprint, 16),
      path: c.accountPath,
      branches: [node.deriveChild(0), node.deriveChild(1)] as const,
    };
  });
}

type InputFields = Omit<Parameters<Transaction['addInput']>[0], 'txid' | 'index'>;
type OutputFields = Omit<Parameters<Transaction['addOutput']>[0], 'script' | 'amount'>;

/** Script, PSBT fields of one wallet address (branch, index). */
function walletFields(
  fx: SpendFixture, accounts: readonly Account[], branch: 0 | 1, index: number,
): { script: Uint8Array; input: InputFields; output: OutputFields } {
  const keys = accounts.map((a) => ({
    pubkey: a.branches[branch].deriveChild(index).publicKey!,
    der: { fingerprint: a.fingerprint, path: [...a.path, branch, index] },
  }));
  if (fx.kind === 'wsh') {
    const pay = p2wsh(p2ms(fx.threshold, keys.map((k) => k.pubkey).sort(compareBytes)), TEST_NETWORK);
    return {
      script: pay.script,
      input: {
        witnessScript: pay.witnessScript,
        bip32Derivation: keys.map((k) => [k.pubkey, k.der]),
      },
      output: {
        witnessScript: pay.witnessScript,
        bip32Derivation: keys.map((k) => [k.pubkey, k.der]),
      },
    };
  }
  // sortedmulti_a (BIP-387) sorts the x-only keys.
  const xonly = keys.map((k) => k.pubkey.subarray(1));
  const leaf = p2tr_ms(fx.threshold, [...xonly].sort(compareBytes)).script;
  const pay = p2tr(NUMS, { script: leaf }, TEST_NETWORK, true);
  const hashes = [tapLeafHash(leaf, TAPSCRIPT_LEAF_VERSION)];
  const tapBip32Derivation = keys.map((k, i) => [xonly[i]!, { hashes, der: k.der }] as [Uint8Array, { hashes: Uint8Array[]; der: typeof k.der }]);
  return {
    script: pay.script,
    input: { tapInternalKey: pay.tapInternalKey, tapLeafScript: pay.tapLeafScript!, tapBip32Derivation },
    output: {
      tapInternalKey: pay.tapInternalKey,
      tapTree: [{ depth: 0, version: TAPSCRIPT_LEAF_VERSION, script: leaf }],
      tapBip32Derivation,
    },
  };
}

/** One full run: build, sign (each signer parses, HD-signs, serializes), combine, finalize, extract. */
export function runSpend(fx: SpendFixture): RunOutput & { readonly raw: Uint8Array } {
  const timer = new PhaseTimer();
  const accounts = accountsOf(fx);
  const tx = new Transaction({ version: TX_VERSION, lockTime: LOCKTIME });
  for (const utxo of fx.utxos) {
    const fields = walletFields(fx, accounts, 0, utxo.index);
    tx.addInput({
      txid: utxo.txid,
      index: utxo.vout,
      sequence: SEQUENCE,
      witnessUtxo: { script: fields.script, amount: utxo.amount },
      ...fields.input,
    });
  }
  tx.addOutputAddress(fx.paymentAddress, fx.paymentAmount, TEST_NETWORK);
  const change = walletFields(fx, accounts, 1, fx.changeIndex);
  tx.addOutput({ script: change.script, amount: fx.changeAmount, ...change.output });
  const unsigned = tx.toPSBT();
  timer.lap('build');

  const signed = fx.signers.map((s) => {
    const psbt = Transaction.fromPSBT(unsigned);
    const master = HDKey.fromMasterSeed(fx.cosigners[s]!.seed, TESTNET_VERSIONS);
    // @scure/bip32's HDKey is what btc-signer's HD signing expects (its Signer type spells
    // publicKey as non-null).
    const count = psbt.sign(master as unknown as Parameters<Transaction['sign']>[0], undefined, ZERO_AUX);
    if (count !== fx.utxos.length) throw new Error(`scure: signer ${s} signed ${count} of ${fx.utxos.length} inputs`);
    return psbt.toPSBT();
  });
  timer.lap('sign');

  const combined = Transaction.fromPSBT(signed[0]!);
  for (const other of signed.slice(1)) combined.combine(Transaction.fromPSBT(other));
  timer.lap('combine');
  combined.finalize();
  timer.lap('finalize');
  const raw = combined.extract();
  timer.lap('extract');
  return { raw, digest: sha256Hex(raw), phases: timer.phases, info: { txid: combined.id, bytes: raw.length } };
}
