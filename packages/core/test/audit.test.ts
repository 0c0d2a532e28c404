import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GENESIS_HASH, SYSTEM_ACTOR, appendEvent, assertAuditChain, canonicalJson, createAuditEvent, createProposal, transition, verifyChain } from '../src/index.ts';
import type { AuditEvent } from '../src/index.ts';

function buildLog(n: number): readonly AuditEvent[] {
  let log: readonly AuditEvent[] = [];
  for (let i = 0; i < n; i++) log = appendEvent(log, { type: i % 2 ? 'signature.added' : 'proposal.transition', at: 1000 + i, data: { i, amount: BigInt(i) * 1000n, note: `event ${i}` } });
  return log;
}

describe('canonicalJson', () => {
  it('sorts keys, writes bigint as decimal strings and drops undefined members', () => {
    expect(canonicalJson({ b: 1n, a: [true, null, 'x'], c: undefined, d: { z: 1, y: -2.5 } })).toBe('{"a":[true,null,"x"],"b":"1","d":{"y":-2.5,"z":1}}');
    expect(canonicalJson(21_000_000n * 100_000_000n)).toBe('"2100000000000000"');
    expect(canonicalJson(Object.assign(Object.create(null) as object, { k: 'v' }))).toBe('{"k":"v"}');
  });

  it('refuses what has no canonical JSON form', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const bad of [Number.NaN, Infinity, undefined, () => 1, Symbol('s'), new Date(0), new Uint8Array(1), new Map(), [undefined], cyclic]) {
      expect(() => canonicalJson(bad)).toThrow(expect.objectContaining({ code: 'audit.not_canonical' }));
    }
    // Shared (non-cyclic) references are fine.
    const shared = { x: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.bigInt())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(() => JSON.parse(canonicalJson(obj)) as unknown).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});

describe('hash chain', () => {
  it('computes sha256(prevHash || canonical(event)), checked with node:crypto', () => {
    const log = buildLog(3);
    expect(log[0]!.prevHash).toBe(GENESIS_HASH);
    for (const e of log) {
      const body = canonicalJson({ seq: e.seq, at: e.at, type: e.type, data: e.data });
      const expected = createHash('sha256').update(Buffer.from(e.prevHash, 'hex')).update(body, 'utf8').digest('hex');
      expect(e.hash).toBe(expected);
    }
    expect(log[1]!.prevHash).toBe(log[0]!.hash);
    expect(verifyChain(log)).toEqual({ ok: true, length: 3, head: log[2]!.hash });
    expect(verifyChain([])).toEqual({ ok: true, length: 0, head: GENESIS_HASH });
  });

  it('records proposal transitions and copies the data', () => {
    const p = createProposal({ id: 'p1', proposer: 'alice', threshold: 1, cosigners: ['alice'], inputCount: 1, now: 5, ttlMs: 10 });
    const { record } = transition(p, 'expire', SYSTEM_ACTOR, 15);
    const data = { ...record, extra: [1] };
    const log = appendEvent([], { type: 'proposal.transition', at: record.at, data });
    data.extra.push(2);
    expect(verifyChain(log).ok).toBe(true);
    expect(log[0]!.data).toMatchObject({ from: 'collecting', to: 'expired', extra: [1] });
  });

  it('refuses bad entries', () => {
    expect(() => appendEvent([], { type: '', at: 1, data: null })).toThrow(expect.objectContaining({ code: 'audit.bad_entry' }));
    expect(() => appendEvent([], { type: 't', at: -1, data: null })).toThrow(expect.objectContaining({ code: 'audit.bad_entry' }));
    expect(() => appendEvent([], { type: 't', at: 1, data: new Date() })).toThrow(expect.objectContaining({ code: 'audit.not_canonical' }));
    expect(() => createAuditEvent({ ...buildLog(1)[0]!, hash: 'nope' }, { type: 't', at: 1, data: null })).toThrow(expect.objectContaining({ code: 'audit.bad_entry' }));
  });

  it('names a bad genesis, malformed events and anchors', () => {
    const log = buildLog(4);
    const e0 = createAuditEvent({ ...log[0]!, seq: -1, hash: 'f'.repeat(64) }, { type: 't', at: 1, data: 1 });
    expect(verifyChain([e0])).toMatchObject({ ok: false, index: 0, reason: 'bad_genesis' });
    expect(verifyChain([log[0]!, { ...log[1]!, hash: 'xyz' }])).toMatchObject({ ok: false, index: 1, reason: 'malformed' });
    expect(verifyChain([log[0]!, { ...log[1]!, data: () => 1 }])).toMatchObject({ ok: false, index: 1, reason: 'malformed' });
    const anchor = assertAuditChain(log);
    expect(anchor).toEqual({ length: 4, head: log[3]!.hash });
    const longer = appendEvent(log, { type: 't', at: 9, data: null });
    expect(verifyChain(longer, anchor).ok).toBe(true);
    expect(verifyChain(log.slice(0, 3), anchor)).toMatchObject({ ok: false, index: 3, reason: 'deleted' });
    // A rewritten tail that is internally consistent is caught only by the anchor.
    const rewritten = appendEvent(log.slice(0, 3), { type: 'forged', at: 9, data: null });
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(verifyChain(rewritten, anchor)).toMatchObject({ ok: false, index: 3, reason: 'edited' });
    expect(() => assertAuditChain(rewritten, anchor)).toThrow(expect.objectContaining({ code: 'audit.tampered', details: { index: 3, reason: 'edited' } }));
  });
});

describe('tamper detection (properties)', () => {
  const logAndIndex = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(buildLog(n)), fc.nat(n - 1)));

  it('detects any single edit at the edited event', () => {
    const edit = fc.constantFrom('data', 'type', 'at', 'prevHash', 'hash');
    fc.assert(
      fc.property(logAndIndex, edit, ([log, k], field) => {
        const e = log[k]!;
        const edited: AuditEvent =
          field === 'data' ? { ...e, data: { ...(e.data as object), note: 'changed' } }
          : field === 'type' ? { ...e, type: `${e.type}!` }
          : field === 'at' ? { ...e, at: e.at + 1 }
          : field === 'prevHash' ? { ...e, prevHash: e.prevHash.replace(/^./, (c) => (c === '0' ? '1' : '0')) }
          : { ...e, hash: e.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
        const tampered = log.map((x, i) => (i === k ? edited : x));
        const r = verifyChain(tampered);
        expect(r).toMatchObject({ ok: false, index: k, reason: k === 0 && field === 'prevHash' ? 'bad_genesis' : 'edited' });
      }),
      { numRuns: 200 },
    );
  });

  it('detects an edit whose hash was recomputed at the next link (or by the anchor for the last event)', () => {
    fc.assert(
      fc.property(logAndIndex, ([log, k]) => {
        const forged = createAuditEvent(log[k - 1], { type: 'forged', at: log[k]!.at, data: 'changed' });
        const tampered = log.map((x, i) => (i === k ? forged : x));
        if (k < log.length - 1) expect(verifyChain(tampered)).toMatchObject({ ok: false, index: k + 1, reason: 'edited' });
        else expect(verifyChain(tampered, { length: log.length, head: log.at(-1)!.hash })).toMatchObject({ ok: false, index: k, reason: 'edited' });
      }),
      { numRuns: 200 },
    );
  });

  it('detects any single deletion', () => {
    fc.assert(
      fc.property(logAndIndex, ([log, k]) => {
        const tampered = log.filter((_, i) => i !== k);
        const anchor = { length: log.length, head: log.at(-1)!.hash };
        expect(verifyChain(tampered, anchor)).toMatchObject({ ok: false, index: k, reason: 'deleted' });
        if (k < log.length - 1) expect(verifyChain(tampered)).toMatchObject({ ok: false, index: k, reason: 'deleted' });
      }),
      { numRuns: 200 },
    );
  });

  it('detects any swap of two events', () => {
    const pair = fc.integer({ min: 2, max: 12 }).chain((n) => fc.tuple(fc.constant(buildLog(n)), fc.nat(n - 1), fc.nat(n - 1)).filter(([, i, j]) => i !== j));
    fc.assert(
      fc.property(pair, ([log, i, j]) => {
        const tampered = [...log];
        [tampered[i], tampered[j]] = [tampered[j]!, tampered[i]!];
        expect(verifyChain(tampered)).toMatchObject({ ok: false, index: Math.min(i, j), reason: 'reordered' });
      }),
      { numRuns: 200 },
    );
  });
});
