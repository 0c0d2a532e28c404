/**
 * Building a proposal and recording cosigners' answers (signatures, declines). State changes
 * themselves go through {@link transition}; these operations only change what the guards read.
 */
import { ConflictError, InvalidInputError } from '../errors.ts';
import { preview } from './preview.ts';
import { EMPTY_SIGNATURE_SET, assertQuorumShape, mergeSignatures } from './signatures.ts';
import type { MergeResult, SignatureEntry } from './signatures.ts';
import { assertInstant, isTerminalState } from './states.ts';
import type { Proposal } from './states.ts';

/** Parameters of {@link createProposal}. */
export interface CreateProposalParams {
  readonly id: string;
  readonly proposer: string;
  readonly threshold: number;
  readonly cosigners: readonly string[];
  readonly inputCount: number;
  /** Creation instant, ms. */
  readonly now: number;
  /** Time to live in ms (> 0): the proposal may be expired from `now + ttlMs`. */
  readonly ttlMs: number;
}

/**
 * Creates a proposal in `collecting` with no signatures and no declines (version 0).
 * @throws InvalidInputError `proposal.bad_id`, `proposal.bad_threshold`, `proposal.bad_cosigners`,
 *   `proposal.bad_inputs`, `proposal.bad_time`, `proposal.bad_ttl`.
 */
export function createProposal(params: CreateProposalParams): Proposal {
  if (typeof params.id !== 'string' || params.id.length === 0 || params.id.length > 200) throw new InvalidInputError('proposal.bad_id', 'proposal id must be a non-empty string of at most 200 characters');
  if (typeof params.proposer !== 'string' || params.proposer.length === 0) throw new InvalidInputError('proposal.bad_id', 'proposer id must be a non-empty string');
  assertQuorumShape(params);
  assertInstant('now', params.now);
  if (!Number.isSafeInteger(params.ttlMs) || params.ttlMs <= 0 || !Number.isSafeInteger(params.now + params.ttlMs)) {
    throw new InvalidInputError('proposal.bad_ttl', `ttl must be a positive integer of milliseconds, got ${String(params.ttlMs)}`);
  }
  return Object.freeze({
    id: params.id,
    state: 'collecting',
    proposer: params.proposer,
    threshold: params.threshold,
    cosigners: Object.freeze([...params.cosigners]),
    inputCount: params.inputCount,
    signatures: EMPTY_SIGNATURE_SET,
    declines: Object.freeze([]),
    createdAt: params.now,
    updatedAt: params.now,
    expiresAt: params.now + params.ttlMs,
    version: 0,
  });
}

function assertOpen(proposal: Proposal, what: string): void {
  if (isTerminalState(proposal.state)) throw new ConflictError('proposal.terminal', `proposal ${proposal.id} is ${proposal.state}: it accepts no ${what}`);
  if (proposal.state !== 'collecting' && proposal.state !== 'ready') {
    throw new ConflictError('proposal.invalid_transition', `proposal ${proposal.id} is ${proposal.state}: it accepts no ${what}`);
  }
}

/** The outcome of {@link addSignatures}. */
export interface AddSignaturesResult<P extends Proposal> {
  /** The proposal with the merged set; the same object when nothing was added (a pure no-op). */
  readonly proposal: P;
  readonly merge: MergeResult;
}

/**
 * Merges signatures the chain adapter has already verified into a `collecting` or `ready` proposal.
 * Submitting the same signatures again is a no-op (same proposal object, version unchanged).
 * Readiness is not applied here: call {@link pendingSystemEvent} and {@link transition} next.
 * @throws ConflictError `proposal.terminal`, `proposal.invalid_transition` (already broadcast),
 *   `proposal.signature_conflict`, `proposal.already_declined`; InvalidInputError
 *   `proposal.unknown_cosigner`, `proposal.bad_signature_entry` (input out of range), `proposal.bad_time`.
 */
export function addSignatures<P extends Proposal>(proposal: P, incoming: readonly SignatureEntry[], now: number): AddSignaturesResult<P> {
  assertOpen(proposal, 'signatures');
  assertInstant('now', now);
  const known = new Set(proposal.cosigners);
  const declined = new Set(proposal.declines);
  for (const e of incoming) {
    if (!known.has(e.cosigner)) throw new InvalidInputError('proposal.unknown_cosigner', `'${preview(e.cosigner)}' is not a cosigner of proposal ${proposal.id}`);
    if (declined.has(e.cosigner)) throw new ConflictError('proposal.already_declined', `cosigner '${e.cosigner}' declined proposal ${proposal.id} and cannot sign it`);
    if (!Number.isSafeInteger(e.input) || e.input < 0 || e.input >= proposal.inputCount) {
      throw new InvalidInputError('proposal.bad_signature_entry', `input ${String(e.input)} is out of range: proposal ${proposal.id} has ${proposal.inputCount} input(s)`, { details: { field: 'input' } });
    }
  }
  const merge = mergeSignatures(proposal.signatures, incoming);
  if (merge.added.length === 0) return Object.freeze({ proposal, merge });
  const next: P = { ...proposal, signatures: merge.set, updatedAt: Math.max(proposal.updatedAt, now), version: proposal.version + 1 };
  return Object.freeze({ proposal: Object.freeze(next), merge });
}

/**
 * Records that `cosigner` declines the proposal. Declining twice is a no-op (same object).
 * Rejection is not applied here: when declines exceed N - M, {@link pendingSystemEvent} returns `reject`.
 * @throws ConflictError `proposal.terminal`, `proposal.invalid_transition`, `proposal.already_signed`;
 *   InvalidInputError `proposal.unknown_cosigner`, `proposal.bad_time`.
 */
export function declineProposal<P extends Proposal>(proposal: P, cosigner: string, now: number): P {
  assertOpen(proposal, 'declines');
  assertInstant('now', now);
  if (!proposal.cosigners.includes(cosigner)) throw new InvalidInputError('proposal.unknown_cosigner', `'${preview(cosigner)}' is not a cosigner of proposal ${proposal.id}`);
  if (proposal.declines.includes(cosigner)) return proposal;
  if (proposal.signatures.some((s) => s.cosigner === cosigner)) {
    throw new ConflictError('proposal.already_signed', `cosigner '${cosigner}' already signed proposal ${proposal.id}; ask for a cancellation instead`);
  }
  const declines = Object.freeze([...proposal.declines, cosigner].sort());
  return Object.freeze({ ...proposal, declines, updatedAt: Math.max(proposal.updatedAt, now), version: proposal.version + 1 });
}
