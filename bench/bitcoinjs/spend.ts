/**
 * W2 / W4 with bitcoinjs-lib 7 + bip32 5 + tiny-secp256k1 2.
 *
 * W2 uses the library's own roles end to end (signAllInputsHD, combine, finalizeAllInputs).
 * W4 needs two additions a bitcoinjs user would have to write too: bitcoinjs's HD signer reads
 * only bip32Derivation (not tapBip32Derivation), so each signer derives its keys from the
 * tapBip32Derivation paths itself; and its default taproot finalizer does not put the empty
 * placeholders multi_a needs for the keys that did not sign, so a multi_a finalizer is given.
 */
import * as bitcoin from 'bitcoinjs-lib';
import { BIP32Factory } from 'bip32';
import type { BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  LOCKTIME, NUMS_INTERNAL_KEY_HEX, SEQUENCE, TX_VERSION, ZERO_AUX, compareBytes, sha256Hex,
} from '../common/fixtures.ts';
import type { SpendFixture } from '../common/fixtures.ts';
import { PhaseTimer } from '../common/harness.ts';
import type { RunOutput } from '../common/harness.ts';

bitcoin.initEccLib(ecc);
const bip32 = BIP32Factory(ecc);
const network = bitcoin.networks.testnet;
const NUMS = hexToBytes(NUMS_INTERNAL_KEY_HEX);
const TAPSCRIPT_LEAF_VERSION = 0xc0;
const { OPS } = bitcoin.script;

interface Account {
  readonly fingerprint: Uint8Array;
  readonly pathText: string;
  readonly branches: readonly [BIP32Interface, BIP32Interface];
}

function accountsOf(fx: SpendFixture): Account[] {
  return fx.cosigners.map((c) => {
    const node = bip32.fromBase58(c.tpub, network);
    return { fingerprint: hexToBytes(c.fingerprint), pathText: c.accountPathText, branches: [node.derive(0), node.derive(1)] as const };
  });
}

function compactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8);
  throw new Error(`compactSize ${n} not needed here`);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** BIP-341 tapleaf hash. */
function tapLeafHash(script: Uint8Array): Uint8Array {
  return bitcoin.crypto.taggedHash('TapLeaf', concat([Uint8Array.of(TAPSCRIPT_LEAF_VERSION), compactSize(script.length), script]));
}

/** BIP-387 multi_a: <k0> CHECKSIG <k1> CHECKSIGADD ... <m> NUMEQUAL (bitcoinjs has no builder). */
function multiA(threshold: number, xonly: readonly Uint8Array[]): Uint8Array {
  const chunks: (Uint8Array | number)[] = [];
  xonly.forEach((k, i) => chunks.push(k, i === 0 ? OPS.OP_CHECKSIG : OPS.OP_CHECKSIGADD));
  chunks.push(bitcoin.script.number.encode(threshold), OPS.OP_NUMEQUAL);
  // Small numbers must be minimal pushes (OP_1..OP_16), as every other implementation writes them.
  if (threshold >= 1 && threshold <= 16) chunks[chunks.length - 2] = OPS.OP_1 + threshold - 1;
  return bitcoin.script.compile(chunks);
}

function walletFields(fx: SpendFixture, accounts: readonly Account[], branch: 0 | 1, index: number) {
  const keys = accounts.map((a) => ({
    pubkey: a.branches[branch].derive(index).publicKey,
    masterFingerprint: a.fingerprint,
    path: `${a.pathText}/${branch}/${index}`,
  }));
  if (fx.kind === 'wsh') {
    const pay = bitcoin.payments.p2wsh({
      redeem: bitcoin.payments.p2ms({ m: fx.threshold, pubkeys: keys.map((k) => k.pubkey).sort(compareBytes), network }),
      network,
    });
    return {
      script: pay.output!,
      input: { witnessScript: pay.redeem!.output!, bip32Derivation: keys },
      output: { witnessScript: pay.redeem!.output!, bip32Derivation: keys },
    };
  }
  const xonly = keys.map((k) => k.pubkey.subarray(1));
  const leaf = multiA(fx.threshold, [...xonly].sort(compareBytes));
  const pay = bitcoin.payments.p2tr({
    internalPubkey: NUMS,
    scriptTree: { output: leaf },
    redeem: { output: leaf, redeemVersion: TAPSCRIPT_LEAF_VERSION },
    network,
  });
  const controlBlock = pay.witness![pay.witness!.length - 1]!;
  const leafHashes = [tapLeafHash(leaf)];
  const tapBip32Derivation = keys.map((k, i) => ({ masterFingerprint: k.masterFingerprint, path: k.path, pubkey: xonly[i]!, leafHashes }));
  return {
    script: pay.output!,
    input: {
      tapInternalKey: NUMS,
      tapLeafScript: [{ leafVersion: TAPSCRIPT_LEAF_VERSION, script: leaf, controlBlock }],
      tapBip32Derivation,
    },
    output: {
      tapInternalKey: NUMS,
      tapTree: { leaves: [{ depth: 0, leafVersion: TAPSCRIPT_LEAF_VERSION, script: leaf }] },
      tapBip32Derivation,
    },
  };
}

/** HD-signs every taproot input whose tapBip32Derivation names this master key (BIP-340, zero aux). */
function signTaprootHD(psbt: bitcoin.Psbt, master: BIP32Interface): void {
  psbt.data.inputs.forEach((input, i) => {
    for (const der of input.tapBip32Derivation ?? []) {
      if (compareBytes(der.masterFingerprint, master.fingerprint) !== 0) continue;
      const child = master.derivePath(der.path);
      if (compareBytes(child.publicKey.subarray(1), der.pubkey) !== 0) throw new Error(`bitcoinjs: input ${i}: wrong key at ${der.path}`);
      const privateKey = child.privateKey!;
      psbt.signTaprootInput(i, {
        publicKey: child.publicKey,
        sign: (hash) => ecc.sign(hash, privateKey),
        signSchnorr: (hash) => ecc.signSchnorr(hash, privateKey, ZERO_AUX),
      });
    }
  });
}

/** multi_a witness: one element per key in reverse script order, empty for keys that did not sign. */
const multiAFinalizer = (_inputIndex: number, input: bitcoin.Psbt['data']['inputs'][number]) => {
  const leaf = input.tapLeafScript![0]!;
  const leafHash = tapLeafHash(leaf.script);
  const sigs = (bitcoin.script.decompile(leaf.script) ?? [])
    .filter((chunk): chunk is Uint8Array => chunk instanceof Uint8Array && chunk.length === 32)
    .map((key) => input.tapScriptSig?.find((s) => compareBytes(s.pubkey, key) === 0 && compareBytes(s.leafHash, leafHash) === 0)?.signature ?? new Uint8Array(0));
  const stack = [...sigs.reverse(), leaf.script, leaf.controlBlock];
  return { finalScriptWitness: concat([compactSize(stack.length), ...stack.flatMap((item) => [compactSize(item.length), item])]) };
};

/** One full run: build, sign (each signer parses, HD-signs, serializes), combine, finalize, extract. */
export function runSpend(fx: SpendFixture): RunOutput & { readonly raw: Uint8Array } {
  const timer = new PhaseTimer();
  const accounts = accountsOf(fx);
  const psbt = new bitcoin.Psbt({ network });
  psbt.setVersion(TX_VERSION);
  psbt.setLocktime(LOCKTIME);
  for (const utxo of fx.utxos) {
    const fields = walletFields(fx, accounts, 0, utxo.index);
    psbt.addInput({
      hash: utxo.txid,
      index: utxo.vout,
      sequence: SEQUENCE,
      witnessUtxo: { script: fields.script, value: utxo.amount },
      ...fields.input,
    });
  }
  psbt.addOutput({ address: fx.paymentAddress, value: fx.paymentAmount });
  const change = walletFields(fx, accounts, 1, fx.changeIndex);
  psbt.addOutput({ script: change.script, value: fx.changeAmount, ...change.output });
  const unsigned = psbt.toBuffer();
  timer.lap('build');

  const signed = fx.signers.map((s) => {
    const own = bitcoin.Psbt.fromBuffer(unsigned, { network });
    const master = bip32.fromSeed(fx.cosigners[s]!.seed, network);
    if (fx.kind === 'wsh') own.signAllInputsHD(master);
    else signTaprootHD(own, master);
    return own.toBuffer();
  });
  timer.lap('sign');

  const combined = bitcoin.Psbt.fromBuffer(signed[0]!, { network });
  combined.combine(...signed.slice(1).map((b) => bitcoin.Psbt.fromBuffer(b, { network })));
  timer.lap('combine');
  if (fx.kind === 'wsh') combined.finalizeAllInputs();
  else for (let i = 0; i < fx.utxos.length; i++) combined.finalizeTaprootInput(i, undefined, multiAFinalizer);
  timer.lap('finalize');
  const tx = combined.extractTransaction();
  const raw = tx.toBuffer();
  timer.lap('extract');
  return { raw, digest: sha256Hex(raw), phases: timer.phases, info: { txid: tx.getId(), bytes: raw.length } };
}
