/**
 * The combiner role (BIP-174): merges PSBTs of the same unsigned transaction. Multi-key fields are
 * merged as sets keyed by their PSBT key; the same key with two different values is a conflict,
 * never resolved silently. The result is in a canonical order (Bitcoin Core's map order), so
 * combining is independent of the order of the PSBTs given.
 */
import { InvalidPsbtError, compareBytes, equalBytes } from '@mofn/core';
import { toHex } from '../tx/bytes.ts';
import type { TxOutput } from '../tx/transaction.ts';
import { serializeUnsignedTx } from './codec.ts';
import { sortPartialSigs, sortTapScriptSigs } from './sign.ts';
import type { Bip32Derivation, GlobalXpub, HashPreimage, Psbt, PsbtGlobal, PsbtInput, PsbtKeyValue, PsbtOutput, TapBip32Derivation, TapLeafScript, TapTreeLeaf } from './types.ts';

function conflict(where: string, field: string, key?: string): never {
  throw new InvalidPsbtError('psbt.conflict', `the PSBTs disagree on ${field}${key === undefined ? '' : ` ${key}`} in ${where}`, {
    details: { where, field, ...(key === undefined ? {} : { key }) },
    hint: 'the PSBTs were changed after they were created; start again from the coordinator\'s PSBT',
  });
}

function scalar<T>(values: readonly (T | undefined)[], eq: (a: T, b: T) => boolean, where: string, field: string): T | undefined {
  let out: T | undefined;
  for (const v of values) {
    if (v === undefined) continue;
    if (out === undefined) out = v;
    else if (!eq(out, v)) conflict(where, field);
  }
  return out;
}

function keyed<T>(lists: readonly (readonly T[])[], keyOf: (x: T) => string, eq: (a: T, b: T) => boolean, where: string, field: string): T[] {
  const map = new Map<string, T>();
  for (const list of lists) {
    for (const x of list) {
      const k = keyOf(x);
      const prev = map.get(k);
      if (prev === undefined) map.set(k, x);
      else if (!eq(prev, x)) conflict(where, field, k);
    }
  }
  return [...map.values()];
}

const eqBytes = (a: Uint8Array, b: Uint8Array): boolean => equalBytes(a, b);
const eqPath = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const eqOrigin = (a: Bip32Derivation | GlobalXpub, b: Bip32Derivation | GlobalXpub): boolean => a.fingerprint === b.fingerprint && eqPath(a.path, b.path);
const eqTxOut = (a: TxOutput, b: TxOutput): boolean => a.amount === b.amount && equalBytes(a.script, b.script);
const eqStack = (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean => a.length === b.length && a.every((x, i) => equalBytes(x, b[i]!));
const eqTapBip32 = (a: TapBip32Derivation, b: TapBip32Derivation): boolean => eqOrigin(a, b) && eqStack(a.leafHashes, b.leafHashes);
const eqTree = (a: readonly TapTreeLeaf[], b: readonly TapTreeLeaf[]): boolean =>
  a.length === b.length && a.every((x, i) => x.depth === b[i]!.depth && x.leafVersion === b[i]!.leafVersion && equalBytes(x.script, b[i]!.script));
const byKey = (a: { key: Uint8Array }, b: { key: Uint8Array }): number => compareBytes(a.key, b.key);
const byPubkey = (a: { pubkey: Uint8Array }, b: { pubkey: Uint8Array }): number => compareBytes(a.pubkey, b.pubkey);
const byHash = (a: HashPreimage, b: HashPreimage): number => compareBytes(a.hash, b.hash);

function mergeUnknown(lists: readonly (readonly PsbtKeyValue[])[], where: string): PsbtKeyValue[] {
  return keyed(lists, (x) => toHex(x.key), (a, b) => equalBytes(a.value, b.value), where, 'unknown key').sort(byKey);
}

function mergePreimages(lists: readonly (readonly HashPreimage[])[], where: string, field: string): HashPreimage[] {
  return keyed(lists, (x) => toHex(x.hash), (a, b) => equalBytes(a.preimage, b.preimage), where, field).sort(byHash);
}

function optional<K extends string, T>(key: K, v: T | undefined): Partial<Record<K, T>> {
  return (v === undefined ? {} : { [key]: v }) as Partial<Record<K, T>>;
}

function mergeGlobal(gs: readonly PsbtGlobal[]): PsbtGlobal {
  const where = 'the global map';
  const xpubs = keyed(gs.map((g) => g.xpubs), (x) => toHex(x.extendedKey), eqOrigin, where, 'xpub').sort(
    // Bitcoin Core orders global xpubs by key origin (fingerprint, then path).
    (a, b) => a.fingerprint.localeCompare(b.fingerprint) || comparePaths(a.path, b.path) || compareBytes(a.extendedKey, b.extendedKey),
  );
  const version = scalar(gs.map((g) => g.version), (a, b) => a === b, where, 'PSBT version');
  return { xpubs, unknown: mergeUnknown(gs.map((g) => g.unknown), where), ...optional('version', version) };
}

function comparePaths(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function mergeInput(ins: readonly PsbtInput[], index: number): PsbtInput {
  const where = `input ${String(index)}`;
  const s = <T>(get: (i: PsbtInput) => T | undefined, eq: (a: T, b: T) => boolean, field: string): T | undefined => scalar(ins.map(get), eq, where, field);
  const tapLeafScripts = keyed(
    ins.map((i) => i.tapLeafScripts),
    (x) => toHex(x.controlBlock),
    (a: TapLeafScript, b: TapLeafScript) => a.leafVersion === b.leafVersion && equalBytes(a.script, b.script),
    where,
    'tapLeafScript',
  ).sort((a, b) => compareBytes(a.script, b.script) || a.leafVersion - b.leafVersion || compareBytes(a.controlBlock, b.controlBlock));
  return {
    ...optional('nonWitnessUtxo', s((i) => i.nonWitnessUtxo, eqBytes, 'nonWitnessUtxo')),
    ...optional('witnessUtxo', s((i) => i.witnessUtxo, eqTxOut, 'witnessUtxo')),
    partialSigs: sortPartialSigs(keyed(ins.map((i) => i.partialSigs), (x) => toHex(x.pubkey), (a, b) => equalBytes(a.signature, b.signature), where, 'partial signature of key')),
    ...optional('sighashType', s((i) => i.sighashType, (a, b) => a === b, 'sighash type')),
    ...optional('redeemScript', s((i) => i.redeemScript, eqBytes, 'redeemScript')),
    ...optional('witnessScript', s((i) => i.witnessScript, eqBytes, 'witnessScript')),
    bip32Derivation: keyed(ins.map((i) => i.bip32Derivation), (x) => toHex(x.pubkey), eqOrigin, where, 'BIP-32 derivation of key').sort(byPubkey),
    ...optional('finalScriptSig', s((i) => i.finalScriptSig, eqBytes, 'final scriptSig')),
    ...optional('finalScriptWitness', s((i) => i.finalScriptWitness, eqStack, 'final script witness')),
    ripemd160Preimages: mergePreimages(ins.map((i) => i.ripemd160Preimages), where, 'ripemd160 preimage'),
    sha256Preimages: mergePreimages(ins.map((i) => i.sha256Preimages), where, 'sha256 preimage'),
    hash160Preimages: mergePreimages(ins.map((i) => i.hash160Preimages), where, 'hash160 preimage'),
    hash256Preimages: mergePreimages(ins.map((i) => i.hash256Preimages), where, 'hash256 preimage'),
    ...optional('tapKeySig', s((i) => i.tapKeySig, eqBytes, 'taproot key signature')),
    tapScriptSigs: sortTapScriptSigs(
      keyed(ins.map((i) => i.tapScriptSigs), (x) => toHex(x.pubkey) + toHex(x.leafHash), (a, b) => equalBytes(a.signature, b.signature), where, 'taproot script signature of key'),
    ),
    tapLeafScripts,
    tapBip32Derivation: keyed(ins.map((i) => i.tapBip32Derivation), (x) => toHex(x.pubkey), eqTapBip32, where, 'taproot BIP-32 derivation of key').sort(byPubkey),
    ...optional('tapInternalKey', s((i) => i.tapInternalKey, eqBytes, 'taproot internal key')),
    ...optional('tapMerkleRoot', s((i) => i.tapMerkleRoot, eqBytes, 'taproot merkle root')),
    unknown: mergeUnknown(ins.map((i) => i.unknown), where),
  };
}

function mergeOutput(outs: readonly PsbtOutput[], index: number): PsbtOutput {
  const where = `output ${String(index)}`;
  const s = <T>(get: (o: PsbtOutput) => T | undefined, eq: (a: T, b: T) => boolean, field: string): T | undefined => scalar(outs.map(get), eq, where, field);
  return {
    ...optional('redeemScript', s((o) => o.redeemScript, eqBytes, 'redeemScript')),
    ...optional('witnessScript', s((o) => o.witnessScript, eqBytes, 'witnessScript')),
    bip32Derivation: keyed(outs.map((o) => o.bip32Derivation), (x) => toHex(x.pubkey), eqOrigin, where, 'BIP-32 derivation of key').sort(byPubkey),
    ...optional('tapInternalKey', s((o) => o.tapInternalKey, eqBytes, 'taproot internal key')),
    ...optional('tapTree', s((o) => o.tapTree, eqTree, 'taproot tree')),
    tapBip32Derivation: keyed(outs.map((o) => o.tapBip32Derivation), (x) => toHex(x.pubkey), eqTapBip32, where, 'taproot BIP-32 derivation of key').sort(byPubkey),
    unknown: mergeUnknown(outs.map((o) => o.unknown), where),
  };
}

/**
 * Combines PSBTs that describe the same unsigned transaction (BIP-174 combiner).
 * @param psbts - one or more PSBTs (none is modified)
 * @returns the union of their fields, in canonical order
 * @throws InvalidPsbtError `psbt.mismatch` (different unsigned transactions), `psbt.conflict` (same
 *   key, different values), `psbt.nothing_to_combine` (empty list)
 */
export function combinePsbts(psbts: readonly Psbt[]): Psbt {
  const first = psbts[0];
  if (first === undefined) throw new InvalidPsbtError('psbt.nothing_to_combine', 'combinePsbts needs at least one PSBT');
  const txBytes = serializeUnsignedTx(first.tx);
  psbts.forEach((p, k) => {
    if (k > 0 && !equalBytes(serializeUnsignedTx(p.tx), txBytes)) {
      throw new InvalidPsbtError('psbt.mismatch', `PSBT ${String(k)} is for a different transaction than PSBT 0`, {
        details: { psbt: k },
        hint: 'combine only signed copies of the same PSBT',
      });
    }
  });
  return {
    tx: first.tx,
    global: mergeGlobal(psbts.map((p) => p.global)),
    inputs: first.inputs.map((_, i) => mergeInput(psbts.map((p) => p.inputs[i]!), i)),
    outputs: first.outputs.map((_, i) => mergeOutput(psbts.map((p) => p.outputs[i]!), i)),
  };
}
