/**
 * The proposal state machine as frozen data: from-state -> event -> { to-state, who may trigger, guard }.
 *
 * collecting -> ready (M valid signatures on every input) -> broadcast -> confirmed; or a terminal
 * exit: rejected (declines > N - M), expired (TTL), cancelled (proposer or admin), superseded
 * (another proposal spending the same inputs was broadcast or confirmed). The table only moves
 * forward: no event leads back to an earlier state, and terminal states accept no event.
 */
import { ConflictError, ForbiddenError, InvalidInputError, NotReadyError } from '../errors.ts';
import { isUnreachable, readinessOf } from './signatures.ts';
import type { SignatureSet } from './signatures.ts';

/** Every proposal state, in forward order of the happy path first. */
export const PROPOSAL_STATES = Object.freeze(['collecting', 'ready', 'broadcast', 'confirmed', 'rejected', 'expired', 'cancelled', 'superseded'] as const);
/** A proposal's lifecycle state. */
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** Every event that may move a proposal. */
export const PROPOSAL_EVENTS = Object.freeze(['complete', 'broadcast', 'confirm', 'reject', 'expire', 'cancel', 'supersede'] as const);
/** Something that happens to a proposal. */
export type ProposalEvent = (typeof PROPOSAL_EVENTS)[number];

/** Who may trigger an event: the proposal's creator, a wallet admin, or the coordinator itself (timers, chain watchers, quorum checks). */
export type ActorRole = 'proposer' | 'admin' | 'system';

/** A precondition evaluated on the proposal before the move. */
export type TransitionGuard = 'quorum_reached' | 'quorum_unreachable' | 'ttl_elapsed';

/** One row of the transition table. */
export interface TransitionRule {
  readonly to: ProposalState;
  /** Roles allowed to trigger it (any one suffices). */
  readonly by: readonly ActorRole[];
  /** Condition that must hold on the proposal at `now`. */
  readonly guard?: TransitionGuard;
}

const rule = (to: ProposalState, by: readonly ActorRole[], guard?: TransitionGuard): TransitionRule =>
  Object.freeze(guard === undefined ? { to, by: Object.freeze([...by]) } : { to, by: Object.freeze([...by]), guard });
const HUMANS: readonly ActorRole[] = ['proposer', 'admin'];
const SYSTEM: readonly ActorRole[] = ['system'];

/** The transition table. Terminal states map to an empty row. */
export const TRANSITIONS: Readonly<Record<ProposalState, Readonly<Partial<Record<ProposalEvent, TransitionRule>>>>> = Object.freeze({
  collecting: Object.freeze({
    complete: rule('ready', SYSTEM, 'quorum_reached'),
    reject: rule('rejected', SYSTEM, 'quorum_unreachable'),
    expire: rule('expired', SYSTEM, 'ttl_elapsed'),
    cancel: rule('cancelled', HUMANS),
    supersede: rule('superseded', SYSTEM),
  }),
  ready: Object.freeze({
    // Any cosigner may end up pushing the transaction; the service decides which humans act as proposer/admin.
    broadcast: rule('broadcast', ['proposer', 'admin', 'system']),
    expire: rule('expired', SYSTEM, 'ttl_elapsed'),
    cancel: rule('cancelled', HUMANS),
    supersede: rule('superseded', SYSTEM),
  }),
  broadcast: Object.freeze({
    confirm: rule('confirmed', SYSTEM),
    // A conflicting transaction (another proposal over the same inputs) confirmed first.
    supersede: rule('superseded', SYSTEM),
  }),
  confirmed: Object.freeze({}),
  rejected: Object.freeze({}),
  expired: Object.freeze({}),
  cancelled: Object.freeze({}),
  superseded: Object.freeze({}),
});

/** Position of each state on the forward path; every terminal state shares the last rank. */
export const STATE_RANK: Readonly<Record<ProposalState, number>> = Object.freeze({
  collecting: 0,
  ready: 1,
  broadcast: 2,
  confirmed: 3,
  rejected: 3,
  expired: 3,
  cancelled: 3,
  superseded: 3,
});

/** True when `state` accepts no further event. Never throws. */
export function isTerminalState(state: ProposalState): boolean {
  return Object.keys(TRANSITIONS[state] ?? {}).length === 0;
}

/** True when `value` names a proposal state. Never throws. */
export function isProposalState(value: unknown): value is ProposalState {
  return typeof value === 'string' && (PROPOSAL_STATES as readonly string[]).includes(value);
}

/** True when `value` names a proposal event. Never throws. */
export function isProposalEvent(value: unknown): value is ProposalEvent {
  return typeof value === 'string' && (PROPOSAL_EVENTS as readonly string[]).includes(value);
}

/** The chain-agnostic part of a proposal that the state machine needs. Stores may extend it; extra fields are carried through. */
export interface Proposal {
  readonly id: string;
  readonly state: ProposalState;
  /** Id of the user who created it (holds the `proposer` role). */
  readonly proposer: string;
  /** M. */
  readonly threshold: number;
  /** The wallet's N cosigner ids. */
  readonly cosigners: readonly string[];
  /** Inputs that each need M signatures (1 for a Safe transaction). */
  readonly inputCount: number;
  /** Signatures the chain adapter verified before they were merged. */
  readonly signatures: SignatureSet;
  /** Cosigners who declined, sorted, distinct. */
  readonly declines: readonly string[];
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The TTL deadline: from this instant the proposal may be expired. */
  readonly expiresAt: number;
  /** Incremented on every change (optimistic concurrency for stores). */
  readonly version: number;
}

/** Who triggers a transition. `admin` is a wallet-level right granted by the service, not a claim core can verify. */
export interface Actor {
  readonly kind: 'user' | 'system';
  readonly id: string;
  readonly admin?: boolean;
}

/** The coordinator acting on its own (TTL timer, quorum check, chain watcher). */
export const SYSTEM_ACTOR: Actor = Object.freeze({ kind: 'system', id: 'system' });

/** The record of one transition, to be appended to the audit log. */
export interface TransitionRecord {
  readonly proposalId: string;
  readonly event: ProposalEvent;
  readonly from: ProposalState;
  readonly to: ProposalState;
  readonly actor: { readonly kind: 'user' | 'system'; readonly id: string };
  /** The role that authorised the move. */
  readonly role: ActorRole;
  readonly at: number;
  /** The proposal's version after the move. */
  readonly version: number;
}

/** The outcome of {@link transition}. */
export interface TransitionResult<P extends Proposal> {
  readonly proposal: P;
  readonly record: TransitionRecord;
}

/** The roles `actor` holds on `proposal`, in table order. Never throws. */
export function rolesOf(proposal: Pick<Proposal, 'proposer'>, actor: Actor): readonly ActorRole[] {
  if (actor.kind === 'system') return ['system'];
  const roles: ActorRole[] = [];
  if (actor.id === proposal.proposer) roles.push('proposer');
  if (actor.admin === true) roles.push('admin');
  return roles;
}

/**
 * Checks that a timestamp is a usable millisecond instant.
 * @throws InvalidInputError `proposal.bad_time`.
 */
export function assertInstant(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError('proposal.bad_time', `${name} must be a non-negative integer of milliseconds, got ${String(value)}`);
  }
}

/** True when `guard` holds on `p` at `now`. Never throws. */
function guardHolds(guard: TransitionGuard, p: Proposal, now: number): boolean {
  switch (guard) {
    case 'quorum_reached':
      return readinessOf(p.signatures, { inputCount: p.inputCount, threshold: p.threshold, cosigners: p.cosigners }).ready;
    case 'quorum_unreachable':
      return isUnreachable({ cosignerCount: p.cosigners.length, threshold: p.threshold, declines: p.declines.length });
    case 'ttl_elapsed':
      return now >= p.expiresAt;
  }
}

/** Evaluates a guard; returns an error to throw, or undefined when it holds. */
function guardFailure(guard: TransitionGuard, p: Proposal, now: number): ConflictError | NotReadyError | undefined {
  if (guardHolds(guard, p, now)) return undefined;
  switch (guard) {
    case 'quorum_reached': {
      const r = readinessOf(p.signatures, { inputCount: p.inputCount, threshold: p.threshold, cosigners: p.cosigners });
      const short = r.inputs.filter((i) => i.missing > 0);
      return new NotReadyError('proposal.not_ready', `proposal ${p.id} lacks signatures on ${short.length} of ${p.inputCount} input(s), e.g. input ${short[0]?.input} needs ${short[0]?.missing} more`, {
        details: { missing: short.map((i) => ({ input: i.input, missing: i.missing })) },
      });
    }
    case 'quorum_unreachable':
      return new ConflictError('proposal.still_reachable', `proposal ${p.id} has ${p.declines.length} decline(s); it is rejected only after more than ${p.cosigners.length - p.threshold}`);
    case 'ttl_elapsed':
      return new ConflictError('proposal.not_expired', `proposal ${p.id} expires at ${p.expiresAt}, now is ${now}`);
  }
}

/**
 * Moves `proposal` by `event`, validated against {@link TRANSITIONS}: the event must be allowed
 * from the current state, `actor` must hold one of the rule's roles and the rule's guard must hold.
 * Returns a new proposal (extra fields of `P` carried over, `version` + 1) and the record to audit;
 * the input is never modified.
 * @throws ConflictError `proposal.terminal` (the state accepts nothing), `proposal.invalid_transition`
 *   (the event is not allowed from this state), `proposal.not_allowed` (the actor lacks the role),
 *   `proposal.still_reachable` / `proposal.not_expired` (guard); NotReadyError `proposal.not_ready`;
 *   InvalidInputError `proposal.unknown_event`, `proposal.bad_actor`, `proposal.bad_time`, `proposal.time_backwards`.
 * @example
 * const { proposal: next, record } = transition(p, 'cancel', { kind: 'user', id: 'alice' }, Date.now());
 */
export function transition<P extends Proposal>(proposal: P, event: ProposalEvent, actor: Actor, now: number): TransitionResult<P> {
  if (!isProposalEvent(event)) throw new InvalidInputError('proposal.unknown_event', `unknown proposal event '${String(event).slice(0, 40)}'`, { details: { allowed: PROPOSAL_EVENTS } });
  if (!isProposalState(proposal.state)) throw new InvalidInputError('proposal.unknown_state', `proposal ${proposal.id} is in unknown state '${String(proposal.state).slice(0, 40)}'`);
  if ((actor.kind !== 'user' && actor.kind !== 'system') || typeof actor.id !== 'string' || actor.id.length === 0) {
    throw new InvalidInputError('proposal.bad_actor', 'an actor is { kind: "user" | "system", id: non-empty string, admin?: boolean }');
  }
  assertInstant('now', now);
  const from = proposal.state;
  const row = TRANSITIONS[from];
  if (isTerminalState(from)) {
    throw new ConflictError('proposal.terminal', `proposal ${proposal.id} is ${from}: it accepts no '${event}'`, { details: { state: from, event } });
  }
  const r = row[event];
  if (r === undefined) {
    throw new ConflictError('proposal.invalid_transition', `proposal ${proposal.id} is ${from}: '${event}' is not allowed (allowed: ${Object.keys(row).join(', ')})`, {
      details: { state: from, event, allowed: Object.keys(row) },
    });
  }
  const role = rolesOf(proposal, actor).find((x) => r.by.includes(x));
  if (role === undefined) {
    throw new ForbiddenError('proposal.not_allowed', `${actor.kind} '${actor.id}' may not '${event}' proposal ${proposal.id}: only ${r.by.join(' or ')}`, {
      details: { event, actor: actor.id, allowed: r.by },
    });
  }
  if (now < proposal.updatedAt) {
    throw new InvalidInputError('proposal.time_backwards', `transition at ${now} precedes the proposal's last change at ${proposal.updatedAt}`, {
      hint: 'use a monotonic clock for the coordinator',
    });
  }
  if (r.guard !== undefined) {
    const failure = guardFailure(r.guard, proposal, now);
    if (failure !== undefined) throw failure;
  }
  const version = proposal.version + 1;
  const next: P = { ...proposal, state: r.to, updatedAt: now, version };
  const record: TransitionRecord = Object.freeze({
    proposalId: proposal.id,
    event,
    from,
    to: r.to,
    actor: Object.freeze({ kind: actor.kind, id: actor.id }),
    role,
    at: now,
    version,
  });
  return Object.freeze({ proposal: Object.freeze(next), record });
}

/**
 * The event the coordinator itself should apply now, if any: `expire` once the TTL elapsed (before
 * broadcast), else `reject` once M is unreachable, else `complete` once every input has M signatures.
 * @throws InvalidInputError `proposal.bad_threshold`, `proposal.bad_cosigners`, `proposal.bad_inputs` for a malformed proposal.
 */
export function pendingSystemEvent(proposal: Proposal, now: number): ProposalEvent | undefined {
  const row = TRANSITIONS[proposal.state];
  for (const event of ['expire', 'reject', 'complete'] as const) {
    const r = row[event];
    // Asked on every change: a boolean, since building the refusal (an Error with its stack) costs more than the check.
    if (r?.guard !== undefined && guardHolds(r.guard, proposal, now)) return event;
  }
  return undefined;
}
