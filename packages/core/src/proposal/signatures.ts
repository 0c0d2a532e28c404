/**
 * Partial signatures of a proposal as a set keyed by (input index, public key).
 *
 * Cosigners submit concurrently (a hardware wallet here, an air-gapped file there), so the
 * set must merge like a CRDT: commutative, associative and idempotent. A second, different
 * signature for a key already in the set is refused (`proposal.signature_conflict`), never
 * silently overwritten: a coordinator that lets the last writer win lets anyone replace a
 * good signature with a bad one.
 */
import { ConflictError, InvalidInputError } from '../errors.ts';
import { preview } from './preview.ts';

/** One partial signature of one input by one key. Chain-agnostic: keys and signatures are canonical text from the chain adapter. */
export interface SignatureEntry {
  /** Index of the input (Bitcoin) or 0 for single-message chains (a Safe transaction). */
  readonly input: number;
  /** The signing key as the adapter canonicalises it (lowercase hex public key, lowercase owner address). */
  readonly publicKey: string;
  /** The cosigner the key belongs to (e.g. master fingerprint or owner id): readiness counts distinct cosigners. */
  readonly cosigner: string;
  /** The signature, lowercase hex (DER+sighash, BIP-340 64/65 bytes, EIP-712 r||s||v...). */
  readonly signature: string;
}

/** A canonical signature set: unique (input, publicKey), sorted by input then public key, frozen. */
export type SignatureSet = readonly SignatureEntry[];

/** The empty signature set. */
export const EMPTY_SIGNATURE_SET: SignatureSet = Object.freeze([]);

/** The outcome of {@link mergeSignatures}. */
export interface MergeResult {
  /** The merged canonical set. */
  readonly set: SignatureSet;
  /** Incoming entries that were new (each at most once, canonical order). */
  readonly added: readonly SignatureEntry[];
  /** Incoming entries already present (or repeated within `incoming`): no-ops. */
  readonly duplicates: readonly SignatureEntry[];
}

/** One key that carries two different signatures (reported in the error's `details.conflicts`). */
export interface SignatureConflict {
  readonly input: number;
  readonly publicKey: string;
  readonly existing: SignatureEntry;
  readonly incoming: SignatureEntry;
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const MAX_TEXT = 4096;

/**
 * Checks the shape of one signature entry (not its cryptographic validity: that is the chain adapter's `verifySignature`).
 * @throws InvalidInputError `proposal.bad_signature_entry` naming the bad field.
 */
export function assertSignatureEntry(entry: SignatureEntry): void {
  const bad = (field: string, why: string): never => {
    throw new InvalidInputError('proposal.bad_signature_entry', `signature entry ${field} ${why}`, {
      details: { field },
      hint: 'signatures come from the chain adapter in canonical form: input index, lowercase key, lowercase hex signature',
    });
  };
  if (!Number.isSafeInteger(entry.input) || entry.input < 0) bad('input', `must be a non-negative integer, got ${String(entry.input)}`);
  if (typeof entry.publicKey !== 'string' || entry.publicKey.length === 0 || entry.publicKey.length > MAX_TEXT || /\s/.test(entry.publicKey)) {
    bad('publicKey', 'must be a non-empty string without whitespace');
  }
  if (typeof entry.cosigner !== 'string' || entry.cosigner.length === 0 || entry.cosigner.length > MAX_TEXT) bad('cosigner', 'must be a non-empty string');
  if (typeof entry.signature !== 'string' || entry.signature.length > MAX_TEXT || !HEX.test(entry.signature)) {
    bad('signature', `must be non-empty lowercase hex, got '${preview(entry.signature, 20)}'`);
  }
}

/** The set key of an entry: (input, publicKey). */
function keyOf(entry: SignatureEntry): string {
  return `${entry.input}\u0000${entry.publicKey}`;
}

function compareEntries(a: SignatureEntry, b: SignatureEntry): number {
  if (a.input !== b.input) return a.input - b.input;
  return a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0;
}

function sameEntry(a: SignatureEntry, b: SignatureEntry): boolean {
  return a.signature === b.signature && a.cosigner === b.cosigner;
}

function freezeEntry(e: SignatureEntry): SignatureEntry {
  return Object.freeze({ input: e.input, publicKey: e.publicKey, cosigner: e.cosigner, signature: e.signature });
}

/**
 * Merges `incoming` signatures into `existing`. The resulting set does not depend on the order
 * of arguments or entries (commutative, associative, idempotent); a repeated signature is a no-op.
 * Neither argument is modified; on a conflict nothing is merged.
 * @throws ConflictError `proposal.signature_conflict` when a key carries two different signatures
 *   (or is claimed by two cosigners), with every conflict in `details.conflicts`.
 * @throws InvalidInputError `proposal.bad_signature_entry` for a malformed entry.
 * @example
 * const { set, added } = mergeSignatures(proposal.signatures, submitted);
 */
export function mergeSignatures(existing: readonly SignatureEntry[], incoming: readonly SignatureEntry[]): MergeResult {
  const byKey = new Map<string, SignatureEntry>();
  const conflicts: SignatureConflict[] = [];
  const conflict = (a: SignatureEntry, b: SignatureEntry): void => {
    conflicts.push({ input: a.input, publicKey: a.publicKey, existing: freezeEntry(a), incoming: freezeEntry(b) });
  };
  // `existing` may be any array (not only a canonical set), so it is merged with the same rules.
  for (const e of existing) {
    assertSignatureEntry(e);
    const prior = byKey.get(keyOf(e));
    if (prior === undefined) byKey.set(keyOf(e), e);
    else if (!sameEntry(prior, e)) conflict(prior, e);
  }
  const added = new Map<string, SignatureEntry>();
  const duplicates: SignatureEntry[] = [];
  for (const e of incoming) {
    assertSignatureEntry(e);
    const k = keyOf(e);
    const prior = byKey.get(k);
    if (prior === undefined) {
      byKey.set(k, e);
      added.set(k, e);
    } else if (sameEntry(prior, e)) {
      duplicates.push(freezeEntry(e));
    } else {
      conflict(prior, e);
    }
  }
  if (conflicts.length > 0) {
    const first = conflicts[0]!;
    throw new ConflictError(
      'proposal.signature_conflict',
      `${conflicts.length} signature conflict(s): input ${first.input} key ${first.publicKey} already has a different signature (or cosigner)`,
      {
        details: { conflicts },
        hint: 'a key signs each input once; if the device re-signed, discard the proposal and create a new one rather than replacing signatures',
      },
    );
  }
  const set = Object.freeze([...byKey.values()].map(freezeEntry).sort(compareEntries));
  return Object.freeze({
    set,
    added: Object.freeze([...added.values()].map(freezeEntry).sort(compareEntries)),
    duplicates: Object.freeze(duplicates.sort(compareEntries)),
  });
}

/**
 * Builds a canonical set from entries in any order (duplicates collapse).
 * @throws ConflictError `proposal.signature_conflict`; InvalidInputError `proposal.bad_signature_entry`.
 */
export function createSignatureSet(entries: readonly SignatureEntry[]): SignatureSet {
  return mergeSignatures(EMPTY_SIGNATURE_SET, entries).set;
}

/** The M-of-N shape readiness is measured against. */
export interface ReadinessOptions {
  /** Number of inputs that each need M signatures (>= 1). */
  readonly inputCount: number;
  /** M: signatures required per input (1 <= M <= N). */
  readonly threshold: number;
  /** The wallet's cosigner ids (N of them, distinct); signatures of anyone else do not count. */
  readonly cosigners: readonly string[];
  /** Optional validity filter (e.g. the chain adapter's verifySignature); entries for which it returns false do not count. */
  readonly isValid?: (entry: SignatureEntry) => boolean;
}

/** Signature progress of one input. */
export interface InputReadiness {
  readonly input: number;
  /** Distinct cosigners with a counted signature on this input, sorted. */
  readonly signers: readonly string[];
  /** How many more distinct cosigners must sign this input (0 when it has M). */
  readonly missing: number;
}

/** Readiness of a whole proposal: ready when every input has at least M distinct valid cosigner signatures. */
export interface Readiness {
  readonly ready: boolean;
  readonly inputs: readonly InputReadiness[];
  /** Entries that did not count: unknown cosigner, input out of range, or rejected by `isValid`. */
  readonly ignored: readonly SignatureEntry[];
}

/**
 * Checks an M-of-N shape (1 <= M <= N, distinct cosigners, at least one input).
 * @throws InvalidInputError `proposal.bad_threshold` or `proposal.bad_cosigners` or `proposal.bad_inputs`.
 */
export function assertQuorumShape(params: { readonly threshold: number; readonly cosigners: readonly string[]; readonly inputCount: number }): void {
  const n = params.cosigners.length;
  if (new Set(params.cosigners).size !== n || params.cosigners.some((c) => typeof c !== 'string' || c.length === 0)) {
    throw new InvalidInputError('proposal.bad_cosigners', `cosigner ids must be distinct non-empty strings (got ${n}, ${new Set(params.cosigners).size} distinct)`);
  }
  if (!Number.isSafeInteger(params.threshold) || params.threshold < 1 || params.threshold > n) {
    throw new InvalidInputError('proposal.bad_threshold', `threshold ${String(params.threshold)} must be between 1 and the ${n} cosigners`);
  }
  if (!Number.isSafeInteger(params.inputCount) || params.inputCount < 1) {
    throw new InvalidInputError('proposal.bad_inputs', `a proposal needs at least one input, got ${String(params.inputCount)}`);
  }
}

/**
 * Measures how far a signature set is from M-of-N on every input. Two keys of the same cosigner
 * on one input count once: M means M distinct people, not M signatures.
 * @throws InvalidInputError `proposal.bad_threshold`, `proposal.bad_cosigners` or `proposal.bad_inputs` for a bad shape.
 */
export function readinessOf(set: readonly SignatureEntry[], options: ReadinessOptions): Readiness {
  assertQuorumShape(options);
  const known = new Set(options.cosigners);
  const perInput: Set<string>[] = Array.from({ length: options.inputCount }, () => new Set<string>());
  const ignored: SignatureEntry[] = [];
  for (const e of set) {
    const bucket = perInput[e.input];
    if (bucket === undefined || !known.has(e.cosigner) || (options.isValid !== undefined && !options.isValid(e))) {
      ignored.push(e);
      continue;
    }
    bucket.add(e.cosigner);
  }
  const inputs = perInput.map((signers, input) =>
    Object.freeze({ input, signers: Object.freeze([...signers].sort()), missing: Math.max(0, options.threshold - signers.size) }),
  );
  return Object.freeze({ ready: inputs.every((i) => i.missing === 0), inputs: Object.freeze(inputs), ignored: Object.freeze(ignored) });
}

/**
 * The most cosigners that may decline while M of N can still be reached: N - M.
 * @throws InvalidInputError `proposal.bad_threshold` unless 1 <= M <= N.
 */
export function maxDeclines(cosignerCount: number, threshold: number): number {
  if (!Number.isSafeInteger(cosignerCount) || !Number.isSafeInteger(threshold) || threshold < 1 || threshold > cosignerCount) {
    throw new InvalidInputError('proposal.bad_threshold', `threshold ${threshold} must be between 1 and the ${cosignerCount} cosigners`);
  }
  return cosignerCount - threshold;
}

/**
 * True when so many cosigners declined that M signatures can no longer be collected
 * (declines > N - M). Never throws; validate the shape with {@link maxDeclines} or {@link assertQuorumShape}.
 * @example isUnreachable({ cosignerCount: 3, threshold: 2, declines: 2 }) // true
 */
export function isUnreachable(params: { readonly cosignerCount: number; readonly threshold: number; readonly declines: number }): boolean {
  return params.declines > params.cosignerCount - params.threshold;
}
