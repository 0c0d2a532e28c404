/**
 * The Bitcoin chain adapter of the proposal workflow: a proposal's payload is the wallet's PSBT
 * without signatures; cosigners submit signed copies of it, from which the coordinator extracts
 * one {@link SignatureEntry} per (input, key), verified against the sighash it recomputes itself.
 */
import {
  ConflictError,
  InvalidInputError,
  InvalidPsbtError,
  equalBytes,
  readinessOf,
  type BroadcastResult,
  type ChainAdapter,
  type ProposalReview,
  type Readiness,
  type ReviewWarning,
  type SignatureEntry,
  type SignatureSet,
} from '@mofn/core';
import { decodeDerSignature, SIGHASH_ALL } from '../keys/signature.ts';
import { secp } from '../secp.ts';
import { fromHex, toHex } from '../tx/bytes.ts';
import { tapLeafHash } from '../tx/script.ts';
import { SIGHASH_DEFAULT, SighashContext } from '../tx/sighash.ts';
import { analyzePsbt } from '../psbt/analyze.ts';
import { serializeUnsignedTx } from '../psbt/codec.ts';
import { extractTransaction, finalizePsbt, type ExtractedTransaction } from '../psbt/finalize.ts';
import { inspectPsbt, type PsbtSummary } from '../psbt/inspect.ts';
import type { Psbt, PsbtInput, WalletDeriver } from '../psbt/types.ts';
import { allPrevouts, isFinalized } from '../psbt/wallet.ts';
import type { DerivedAddress } from '../types.ts';

/** Sends a finalized transaction; returns its txid (the backend's answer). */
export type BroadcastFn = (tx: ExtractedTransaction) => Promise<BroadcastResult>;

/** What {@link createBitcoinAdapter} needs. */
export interface BitcoinAdapterOptions {
  readonly deriver: WalletDeriver;
  /** The chain backend's broadcast; without it `broadcast` refuses with `backend.not_configured`. */
  readonly broadcast?: BroadcastFn;
  /** Change indexes recognised per branch (default 1000). */
  readonly changeGap?: number;
}

/** The Bitcoin adapter: core's port plus the PSBT-specific steps the service needs. */
export interface BitcoinAdapter extends ChainAdapter<Psbt, ExtractedTransaction> {
  /** The cosigner id of wallet key `position` (hex of its account public key). */
  cosignerId(position: number): string;
  /** Cosigner ids in policy order. */
  readonly cosigners: readonly string[];
  /** The full PSBT review (the proposal's `describe` is derived from it). */
  inspect(payload: Psbt): PsbtSummary;
  /**
   * Checks a payload for a new proposal: every input is the wallet's, nothing is finalized, and
   * returns it without signatures (signatures it carried are returned separately, unverified).
   * @throws InvalidPsbtError `proposal.foreign_input`, `proposal.finalized_input`
   */
  preparePayload(psbt: Psbt): { readonly payload: Psbt; readonly signatures: readonly SignatureEntry[] };
  /**
   * Extracts the signatures of a cosigner's signed copy of `payload`.
   * @throws ConflictError `proposal.payload_mismatch` when anything but signatures differs;
   *   InvalidPsbtError `proposal.foreign_signature` for a key outside the input's script.
   */
  signaturesOf(payload: Psbt, signed: Psbt): readonly SignatureEntry[];
  /** The payload with `signatures` written in (what a cosigner downloads to continue). */
  withSignatures(payload: Psbt, signatures: SignatureSet): Psbt;
}

function stripSignatures(input: PsbtInput): PsbtInput {
  const rest: { -readonly [K in keyof PsbtInput]: PsbtInput[K] } = { ...input, partialSigs: [], tapScriptSigs: [] };
  delete rest.tapKeySig;
  return rest;
}

function mismatch(what: string): never {
  throw new ConflictError('proposal.payload_mismatch', `the submitted PSBT changes the proposal's ${what}: only signatures may be added`, {
    details: { field: what },
    hint: "download the proposal's PSBT again, sign that, and submit the signed copy unchanged otherwise",
  });
}

function sameUtxos(stored: PsbtInput, signed: PsbtInput, index: number): void {
  if (signed.witnessUtxo !== undefined) {
    const a = stored.witnessUtxo;
    if (a === undefined || a.amount !== signed.witnessUtxo.amount || !equalBytes(a.script, signed.witnessUtxo.script)) mismatch(`input ${String(index)} amount or script`);
  }
  if (signed.nonWitnessUtxo !== undefined) {
    const a = stored.nonWitnessUtxo;
    if (a !== undefined && !equalBytes(a, signed.nonWitnessUtxo)) mismatch(`input ${String(index)} previous transaction`);
  }
  if (signed.sighashType !== undefined && signed.sighashType !== (stored.sighashType ?? signed.sighashType)) mismatch(`input ${String(index)} sighash type`);
}

/**
 * Creates the adapter for one wallet.
 * @param options - the wallet's deriver and, to broadcast, the backend
 */
export function createBitcoinAdapter(options: BitcoinAdapterOptions): BitcoinAdapter {
  const { deriver } = options;
  const policy = deriver.policy;
  const taproot = policy.type === 'tr';
  const cosigners = Object.freeze(policy.keys.map((k) => toHex(k.xpub.publicKey)));
  const chain = `bitcoin:${policy.network}`;
  const addrCache = new WeakMap<Psbt, readonly DerivedAddress[]>();
  const ctxCache = new WeakMap<Psbt, SighashContext>();

  /** The wallet address of every input, or a typed error naming the first foreign one. */
  function inputAddresses(payload: Psbt): readonly DerivedAddress[] {
    let out = addrCache.get(payload);
    if (out !== undefined) return out;
    const analysis = analyzePsbt(payload, deriver);
    out = analysis.inputs.map((a) => {
      if (a.address === undefined) {
        throw new InvalidPsbtError('proposal.foreign_input', `input ${String(a.index)} is not this wallet's${a.mismatch === undefined ? '' : ` (${a.mismatch})`}`, {
          details: { input: a.index },
          hint: 'a proposal spends only coins of its wallet, each with its BIP-32 derivation for every cosigner',
        });
      }
      return a.address;
    });
    addrCache.set(payload, out);
    return out;
  }

  function sighashContext(payload: Psbt): SighashContext {
    let ctx = ctxCache.get(payload);
    if (ctx === undefined) {
      ctx = new SighashContext(payload.tx, allPrevouts(payload));
      ctxCache.set(payload, ctx);
    }
    return ctx;
  }

  /** Entries of one input's signatures; keys outside the input's script are refused. */
  function entriesOf(input: PsbtInput, index: number, addr: DerivedAddress): SignatureEntry[] {
    const out: SignatureEntry[] = [];
    const foreign: (pubkey: Uint8Array) => never = (pubkey) => {
      throw new InvalidPsbtError('proposal.foreign_signature', `input ${String(index)} carries a signature by key ${toHex(pubkey)}, which is not one of this input's cosigner keys`, {
        details: { input: index, publicKey: toHex(pubkey) },
      });
    };
    if (taproot) {
      const leaf = tapLeafHash(addr.tapLeafScript!);
      for (const s of input.tapScriptSigs) {
        const k = addr.keys.find((x) => equalBytes(x.publicKey.subarray(1), s.pubkey));
        if (k === undefined || !equalBytes(s.leafHash, leaf)) foreign(s.pubkey);
        out.push({ input: index, publicKey: toHex(s.pubkey), cosigner: cosigners[k.cosigner]!, signature: toHex(s.signature) });
      }
      if (input.tapKeySig !== undefined) {
        throw new InvalidPsbtError('proposal.foreign_signature', `input ${String(index)} carries a key-path signature, but the wallet's internal key is unspendable`, { details: { input: index } });
      }
    } else {
      for (const s of input.partialSigs) {
        const k = addr.keys.find((x) => equalBytes(x.publicKey, s.pubkey));
        if (k === undefined) foreign(s.pubkey);
        out.push({ input: index, publicKey: toHex(s.pubkey), cosigner: cosigners[k.cosigner]!, signature: toHex(s.signature) });
      }
    }
    return out;
  }

  function verifySignature(payload: Psbt, entry: SignatureEntry): boolean {
    try {
      const addr = inputAddresses(payload)[entry.input];
      if (addr === undefined) return false;
      const pk = fromHex(entry.publicKey);
      const key = addr.keys.find((k) => equalBytes(taproot ? k.publicKey.subarray(1) : k.publicKey, pk));
      if (key === undefined || cosigners[key.cosigner] !== entry.cosigner) return false;
      const sig = fromHex(entry.signature);
      const ctx = sighashContext(payload);
      if (taproot) {
        if (sig.length !== 64 && !(sig.length === 65 && sig[64] === SIGHASH_ALL)) return false;
        const digest = ctx.taproot(entry.input, sig.length === 65 ? SIGHASH_ALL : SIGHASH_DEFAULT, tapLeafHash(addr.tapLeafScript!));
        return secp.verifySchnorr(digest, pk, sig.subarray(0, 64));
      }
      const d = decodeDerSignature(sig);
      // The coordinator accepts SIGHASH_ALL only: other types let a third party change the transaction after signing.
      if (d.sighashType !== SIGHASH_ALL) return false;
      const prevout = ctx.prevouts[entry.input];
      if (prevout === undefined) return false;
      const digest =
        policy.type === 'sh' ? ctx.legacy(entry.input, addr.redeemScript!, SIGHASH_ALL) : ctx.segwitV0(entry.input, addr.witnessScript!, prevout.amount, SIGHASH_ALL);
      return secp.verifyEcdsa(digest, pk, d.sig64);
    } catch {
      return false;
    }
  }

  function withSignatures(payload: Psbt, signatures: SignatureSet): Psbt {
    const addrs = inputAddresses(payload);
    const inputs = payload.inputs.map((input, i) => {
      const mine = signatures.filter((s) => s.input === i);
      if (mine.length === 0) return input;
      if (taproot) {
        const leafHash = tapLeafHash(addrs[i]!.tapLeafScript!);
        return { ...input, tapScriptSigs: mine.map((s) => ({ pubkey: fromHex(s.publicKey), leafHash, signature: fromHex(s.signature) })) };
      }
      return { ...input, partialSigs: mine.map((s) => ({ pubkey: fromHex(s.publicKey), signature: fromHex(s.signature) })) };
    });
    return { ...payload, inputs };
  }

  const adapter: BitcoinAdapter = {
    chain,
    cosigners,
    cosignerId(position) {
      const id = cosigners[position];
      if (id === undefined) throw new InvalidInputError('wallet.bad_cosigner', `the wallet has no cosigner at position ${String(position)} (it has ${String(cosigners.length)})`);
      return id;
    },
    inspect(payload) {
      return inspectPsbt(payload, deriver, options.changeGap === undefined ? {} : { changeGap: options.changeGap });
    },
    describe(payload): ProposalReview {
      inputAddresses(payload);
      const s = adapter.inspect(payload);
      const warnings: ReviewWarning[] = s.warnings.map((message) => ({ code: 'bitcoin.review', message }));
      return {
        chain,
        inputCount: s.inputs.length,
        outputs: s.outputs.map((o) => ({ to: o.address ?? `script:${o.script}`, amount: o.amount, asset: 'BTC', isChange: o.change })),
        ...(s.fee === undefined ? {} : { fee: s.fee }),
        warnings,
        spends: s.inputs.map((i) => `${i.txid}:${String(i.vout)}`),
      };
    },
    preparePayload(psbt) {
      psbt.inputs.forEach((input, i) => {
        if (isFinalized(input)) {
          throw new InvalidPsbtError('proposal.finalized_input', `input ${String(i)} is already finalized`, { details: { input: i }, hint: 'propose the PSBT before finalizing it' });
        }
      });
      const addrs = inputAddresses(psbt);
      const signatures: SignatureEntry[] = [];
      psbt.inputs.forEach((input, i) => signatures.push(...entriesOf(input, i, addrs[i]!)));
      const payload: Psbt = { ...psbt, inputs: psbt.inputs.map(stripSignatures) };
      return { payload, signatures };
    },
    signaturesOf(payload, signed) {
      if (!equalBytes(serializeUnsignedTx(payload.tx), serializeUnsignedTx(signed.tx))) mismatch('transaction (inputs, outputs, amounts, sequence, version or locktime)');
      if (signed.inputs.length !== payload.inputs.length) mismatch('inputs');
      const addrs = inputAddresses(payload);
      const out: SignatureEntry[] = [];
      signed.inputs.forEach((input, i) => {
        sameUtxos(payload.inputs[i]!, input, i);
        if (isFinalized(input)) {
          throw new InvalidPsbtError('proposal.finalized_input', `input ${String(i)} of the submitted PSBT is finalized`, { details: { input: i }, hint: 'submit the signed PSBT before finalizing it' });
        }
        out.push(...entriesOf(input, i, addrs[i]!));
      });
      return out;
    },
    verifySignature,
    countValid(payload, signatures): Readiness {
      return readinessOf(signatures, { inputCount: payload.inputs.length, threshold: policy.threshold, cosigners, isValid: (e) => verifySignature(payload, e) });
    },
    withSignatures,
    finalize(payload, signatures) {
      return extractTransaction(finalizePsbt(withSignatures(payload, signatures), deriver));
    },
    async broadcast(final) {
      if (options.broadcast === undefined) {
        throw new InvalidInputError('backend.not_configured', 'no Bitcoin backend is configured to broadcast through', { hint: 'configure an Esplora, Electrum or Bitcoin Core backend' });
      }
      return options.broadcast(final);
    },
  };
  return Object.freeze(adapter);
}
