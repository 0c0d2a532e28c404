import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  PROPOSAL_EVENTS,
  PROPOSAL_STATES,
  STATE_RANK,
  SYSTEM_ACTOR,
  TRANSITIONS,
  addSignatures,
  createProposal,
  declineProposal,
  isTerminalState,
  pendingSystemEvent,
  transition,
} from '../src/index.ts';
import type { Actor, ActorRole, Proposal, ProposalEvent, ProposalState, SignatureEntry } from '../src/index.ts';

const T0 = 1_700_000_000_000;
const TTL = 3_600_000;
const COSIGNERS = ['alice', 'bob', 'carol'] as const;

const ACTORS: Record<ActorRole | 'stranger', Actor> = {
  proposer: { kind: 'user', id: 'alice' },
  admin: { kind: 'user', id: 'dave', admin: true },
  system: SYSTEM_ACTOR,
  stranger: { kind: 'user', id: 'bob' },
};

/** Independent statement of the lifecycle: `from event role -> to`. */
const EXPECTED_ALLOWED = [
  'collecting complete system -> ready',
  'collecting reject system -> rejected',
  'collecting expire system -> expired',
  'collecting cancel proposer -> cancelled',
  'collecting cancel admin -> cancelled',
  'collecting supersede system -> superseded',
  'ready broadcast proposer -> broadcast',
  'ready broadcast admin -> broadcast',
  'ready broadcast system -> broadcast',
  'ready expire system -> expired',
  'ready cancel proposer -> cancelled',
  'ready cancel admin -> cancelled',
  'ready supersede system -> superseded',
  'broadcast confirm system -> confirmed',
  'broadcast supersede system -> superseded',
];

function sig(input: number, cosigner: string, signature = 'aa'): SignatureEntry {
  return { input, publicKey: `02${cosigner}`.replace(/[^0-9a-z]/g, ''), cosigner, signature };
}

function base(inputCount = 2): Proposal {
  return createProposal({ id: 'p1', proposer: 'alice', threshold: 2, cosigners: COSIGNERS, inputCount, now: T0, ttlMs: TTL });
}

/** A proposal in `state` whose guard for `event` holds (enough signatures, declines or elapsed time). */
function fixture(state: ProposalState, event: ProposalEvent): { p: Proposal; now: number } {
  let p = base();
  if (event === 'complete') p = addSignatures(p, [sig(0, 'alice'), sig(1, 'alice'), sig(0, 'bob'), sig(1, 'bob')], T0).proposal;
  if (event === 'reject') p = declineProposal(declineProposal(p, 'bob', T0), 'carol', T0);
  const now = event === 'expire' ? T0 + TTL : T0 + 1;
  return { p: { ...p, state }, now };
}

describe('transition table', () => {
  it('allows exactly the lifecycle of the issue', () => {
    const fromTable: string[] = [];
    for (const [from, row] of Object.entries(TRANSITIONS)) {
      for (const [event, rule] of Object.entries(row)) for (const role of rule.by) fromTable.push(`${from} ${event} ${role} -> ${rule.to}`);
    }
    expect(fromTable.sort()).toEqual([...EXPECTED_ALLOWED].sort());
  });

  it('is frozen data that only moves forward', () => {
    expect(Object.isFrozen(TRANSITIONS)).toBe(true);
    for (const s of PROPOSAL_STATES) {
      expect(Object.isFrozen(TRANSITIONS[s])).toBe(true);
      for (const rule of Object.values(TRANSITIONS[s])) {
        expect(Object.isFrozen(rule)).toBe(true);
        expect(Object.isFrozen(rule.by)).toBe(true);
        expect(STATE_RANK[rule.to]).toBeGreaterThan(STATE_RANK[s]);
      }
    }
    expect(PROPOSAL_STATES.filter(isTerminalState)).toEqual(['confirmed', 'rejected', 'expired', 'cancelled', 'superseded']);
  });

  // Every (state, event, actor) combination, allowed or refused, with the exact outcome.
  for (const from of PROPOSAL_STATES) {
    for (const event of PROPOSAL_EVENTS) {
      for (const [who, actor] of Object.entries(ACTORS)) {
        const allowed = EXPECTED_ALLOWED.find((t) => t.startsWith(`${from} ${event} ${who} -> `));
        const refusal = isTerminalState(from)
          ? 'proposal.terminal'
          : TRANSITIONS[from][event] === undefined
            ? 'proposal.invalid_transition'
            : 'proposal.not_allowed';
        it(`${from} --${event}--> by ${who}: ${allowed ? allowed.split(' -> ')[1]! : refusal}`, () => {
          const { p, now } = fixture(from, event);
          const snapshot = structuredClone(p);
          if (allowed) {
            const to = allowed.split(' -> ')[1];
            const { proposal, record } = transition(p, event, actor, now);
            expect(proposal.state).toBe(to);
            expect(proposal.version).toBe(p.version + 1);
            expect(proposal.updatedAt).toBe(now);
            expect(proposal.signatures).toEqual(p.signatures);
            expect(record).toEqual({ proposalId: 'p1', event, from, to, actor: { kind: actor.kind, id: actor.id }, role: who, at: now, version: p.version + 1 });
          } else {
            expect(() => transition(p, event, actor, now)).toThrow(expect.objectContaining({ code: refusal }));
          }
          expect(p).toEqual(snapshot);
        });
      }
    }
  }
});

describe('transition guards and inputs', () => {
  it('refuses ready until every input has M distinct cosigners', () => {
    let p = base();
    p = addSignatures(p, [sig(0, 'alice'), sig(0, 'bob'), sig(1, 'alice')], T0).proposal;
    expect(() => transition(p, 'complete', SYSTEM_ACTOR, T0)).toThrow(expect.objectContaining({ code: 'proposal.not_ready', details: { missing: [{ input: 1, missing: 1 }] } }));
    // A second key of the same cosigner does not make two signers.
    p = addSignatures(p, [{ input: 1, publicKey: '03alice2', cosigner: 'alice', signature: 'bb' }], T0).proposal;
    expect(() => transition(p, 'complete', SYSTEM_ACTOR, T0)).toThrow(expect.objectContaining({ code: 'proposal.not_ready' }));
    p = addSignatures(p, [sig(1, 'carol')], T0).proposal;
    expect(transition(p, 'complete', SYSTEM_ACTOR, T0).proposal.state).toBe('ready');
  });

  it('rejects only once declines exceed N - M', () => {
    let p = declineProposal(base(), 'bob', T0);
    expect(() => transition(p, 'reject', SYSTEM_ACTOR, T0)).toThrow(expect.objectContaining({ code: 'proposal.still_reachable' }));
    p = declineProposal(p, 'carol', T0);
    expect(transition(p, 'reject', SYSTEM_ACTOR, T0).proposal.state).toBe('rejected');
  });

  it('expires only from the TTL deadline on', () => {
    const p = base();
    expect(() => transition(p, 'expire', SYSTEM_ACTOR, T0 + TTL - 1)).toThrow(expect.objectContaining({ code: 'proposal.not_expired' }));
    expect(transition(p, 'expire', SYSTEM_ACTOR, T0 + TTL).proposal.state).toBe('expired');
  });

  it('refuses unknown events, bad or backwards time', () => {
    const p = base();
    expect(() => transition(p, 'explode' as ProposalEvent, SYSTEM_ACTOR, T0)).toThrow(expect.objectContaining({ code: 'proposal.unknown_event' }));
    expect(() => transition(p, 'cancel', { kind: 'robot', id: 'alice' } as unknown as Actor, T0)).toThrow(expect.objectContaining({ code: 'proposal.bad_actor' }));
    expect(() => transition(p, 'cancel', { kind: 'user', id: '' }, T0)).toThrow(expect.objectContaining({ code: 'proposal.bad_actor' }));
    expect(() => transition(p, 'cancel', ACTORS.proposer, -1)).toThrow(expect.objectContaining({ code: 'proposal.bad_time' }));
    expect(() => transition(p, 'cancel', ACTORS.proposer, 1.5)).toThrow(expect.objectContaining({ code: 'proposal.bad_time' }));
    expect(() => transition(p, 'cancel', ACTORS.proposer, T0 - 1)).toThrow(expect.objectContaining({ code: 'proposal.time_backwards' }));
  });

  it('lets an admin who is also the proposer act, recording the first matching role', () => {
    const { record } = transition(base(), 'cancel', { kind: 'user', id: 'alice', admin: true }, T0);
    expect(record.role).toBe('proposer');
  });

  it('carries extra store fields through', () => {
    const p = { ...base(), walletId: 'w1' };
    const { proposal } = transition(p, 'cancel', ACTORS.admin, T0);
    expect(proposal.walletId).toBe('w1');
  });

  it('names the pending system event: expire, then reject, then complete', () => {
    const p = base(1);
    expect(pendingSystemEvent(p, T0)).toBeUndefined();
    const signed = addSignatures(p, [sig(0, 'alice'), sig(0, 'bob')], T0).proposal;
    expect(pendingSystemEvent(signed, T0)).toBe('complete');
    expect(pendingSystemEvent(signed, T0 + TTL)).toBe('expire');
    const declined = declineProposal(declineProposal(p, 'bob', T0), 'carol', T0);
    expect(pendingSystemEvent(declined, T0)).toBe('reject');
    const ready = transition(signed, 'complete', SYSTEM_ACTOR, T0).proposal;
    expect(pendingSystemEvent(ready, T0)).toBeUndefined();
    expect(pendingSystemEvent(ready, T0 + TTL)).toBe('expire');
    expect(pendingSystemEvent({ ...ready, state: 'broadcast' }, T0 + TTL)).toBeUndefined();
  });
});

describe('createProposal, addSignatures, declineProposal', () => {
  it('validates the shape', () => {
    const ok = { id: 'p', proposer: 'alice', threshold: 2, cosigners: COSIGNERS, inputCount: 1, now: T0, ttlMs: TTL };
    expect(base().state).toBe('collecting');
    expect(() => createProposal({ ...ok, threshold: 4 })).toThrow(expect.objectContaining({ code: 'proposal.bad_threshold' }));
    expect(() => createProposal({ ...ok, threshold: 0 })).toThrow(expect.objectContaining({ code: 'proposal.bad_threshold' }));
    expect(() => createProposal({ ...ok, cosigners: ['a', 'a'] })).toThrow(expect.objectContaining({ code: 'proposal.bad_cosigners' }));
    expect(() => createProposal({ ...ok, inputCount: 0 })).toThrow(expect.objectContaining({ code: 'proposal.bad_inputs' }));
    expect(() => createProposal({ ...ok, ttlMs: 0 })).toThrow(expect.objectContaining({ code: 'proposal.bad_ttl' }));
    expect(() => createProposal({ ...ok, id: '' })).toThrow(expect.objectContaining({ code: 'proposal.bad_id' }));
  });

  it('treats a repeated submission as a no-op', () => {
    const once = addSignatures(base(), [sig(0, 'alice')], T0 + 1);
    expect(once.merge.added).toHaveLength(1);
    expect(once.proposal.version).toBe(1);
    const twice = addSignatures(once.proposal, [sig(0, 'alice')], T0 + 2);
    expect(twice.proposal).toBe(once.proposal);
    expect(twice.merge.duplicates).toHaveLength(1);
  });

  it('refuses a different signature for the same key instead of overwriting', () => {
    const p = addSignatures(base(), [sig(0, 'alice', 'aa')], T0).proposal;
    expect(() => addSignatures(p, [sig(0, 'alice', 'bb')], T0)).toThrow(expect.objectContaining({ code: 'proposal.signature_conflict' }));
    expect(p.signatures).toEqual([sig(0, 'alice', 'aa')]);
  });

  it('refuses strangers, out-of-range inputs, signers who declined, closed proposals', () => {
    const p = base();
    expect(() => addSignatures(p, [sig(0, 'mallory')], T0)).toThrow(expect.objectContaining({ code: 'proposal.unknown_cosigner' }));
    expect(() => addSignatures(p, [sig(2, 'alice')], T0)).toThrow(expect.objectContaining({ code: 'proposal.bad_signature_entry' }));
    const declined = declineProposal(p, 'bob', T0);
    expect(() => addSignatures(declined, [sig(0, 'bob')], T0)).toThrow(expect.objectContaining({ code: 'proposal.already_declined' }));
    expect(() => addSignatures({ ...p, state: 'broadcast' }, [sig(0, 'alice')], T0)).toThrow(expect.objectContaining({ code: 'proposal.invalid_transition' }));
    expect(() => addSignatures({ ...p, state: 'cancelled' }, [sig(0, 'alice')], T0)).toThrow(expect.objectContaining({ code: 'proposal.terminal' }));
  });

  it('records declines once, and not from a cosigner who signed', () => {
    const p = declineProposal(base(), 'carol', T0);
    expect(p.declines).toEqual(['carol']);
    expect(declineProposal(p, 'carol', T0)).toBe(p);
    const signed = addSignatures(base(), [sig(0, 'bob')], T0).proposal;
    expect(() => declineProposal(signed, 'bob', T0)).toThrow(expect.objectContaining({ code: 'proposal.already_signed' }));
    expect(() => declineProposal(p, 'mallory', T0)).toThrow(expect.objectContaining({ code: 'proposal.unknown_cosigner' }));
    expect(() => declineProposal({ ...p, state: 'expired' }, 'bob', T0)).toThrow(expect.objectContaining({ code: 'proposal.terminal' }));
  });
});

describe('state machine properties', () => {
  type Step =
    | { kind: 'event'; event: ProposalEvent; actor: keyof typeof ACTORS; dt: number }
    | { kind: 'sign'; input: number; cosigner: number; dt: number }
    | { kind: 'decline'; cosigner: number; dt: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('event' as const), event: fc.constantFrom(...PROPOSAL_EVENTS), actor: fc.constantFrom('proposer', 'admin', 'system', 'stranger'), dt: fc.nat(TTL) }),
    fc.record({ kind: fc.constant('sign' as const), input: fc.nat(1), cosigner: fc.nat(2), dt: fc.nat(1000) }),
    fc.record({ kind: fc.constant('decline' as const), cosigner: fc.nat(2), dt: fc.nat(1000) }),
  );

  it('only moves forward, never revisits a state, and terminal states accept nothing', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        let p = base();
        let now = T0;
        const visited: ProposalState[] = [p.state];
        for (const s of steps) {
          now += s.dt;
          const before = p;
          try {
            if (s.kind === 'event') p = transition(p, s.event, ACTORS[s.actor], now).proposal;
            else if (s.kind === 'sign') p = addSignatures(p, [sig(s.input, COSIGNERS[s.cosigner]!)], now).proposal;
            else p = declineProposal(p, COSIGNERS[s.cosigner]!, now);
          } catch (err) {
            // A refused step changes nothing, and a terminal proposal refuses with proposal.terminal.
            expect(p).toBe(before);
            if (isTerminalState(before.state) && s.kind === 'event') expect(err).toMatchObject({ code: 'proposal.terminal' });
            continue;
          }
          if (isTerminalState(before.state)) throw new Error(`terminal state ${before.state} accepted ${s.kind}`);
          expect(p.version).toBeGreaterThanOrEqual(before.version);
          if (p.state !== before.state) {
            expect(STATE_RANK[p.state]).toBeGreaterThan(STATE_RANK[before.state]);
            expect(visited).not.toContain(p.state);
            expect(TRANSITIONS[before.state][(s as { event: ProposalEvent }).event]?.to).toBe(p.state);
            visited.push(p.state);
          }
        }
        if (isTerminalState(p.state)) {
          for (const event of PROPOSAL_EVENTS) for (const actor of Object.values(ACTORS)) expect(() => transition(p, event, actor, now + TTL)).toThrow(expect.objectContaining({ code: 'proposal.terminal' }));
        }
      }),
      { numRuns: 300 },
    );
  });
});
