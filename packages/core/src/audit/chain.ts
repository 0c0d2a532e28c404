/**
 * A hash-chained, append-only audit log. Each event commits to the previous event's hash:
 * `hash = sha256(prevHash || canonicalJson({ seq, at, type, data }))`, the first event to
 * {@link GENESIS_HASH}. Any edited, deleted or reordered event breaks the chain at that point;
 * deleting events at the end (truncation) or rewriting the whole tail is only detectable against an
 * {@link AuditAnchor} kept elsewhere (exported, printed, or countersigned).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { ConflictError, InvalidInputError } from '../errors.ts';

/** The `prevHash` of the first event: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a caller appends: an event type (`proposal.transition`, `signature.added`...), its instant and JSON-like data (bigint allowed). */
export interface AuditEntry {
  /** Event type, `area.verb`. */
  readonly type: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** Plain data: objects, arrays, strings, finite numbers, booleans, null, bigint. */
  readonly data: unknown;
}

/** One event of the log as stored. */
export interface AuditEvent extends AuditEntry {
  /** Position in the log, from 0. */
  readonly seq: number;
  /** Hash of the previous event ({@link GENESIS_HASH} for seq 0). */
  readonly prevHash: string;
  /** sha256(prevHash || canonicalJson({ seq, at, type, data })), lowercase hex. */
  readonly hash: string;
}

/** A (length, head hash) pair recorded outside the log; a later log must extend it. */
export interface AuditAnchor {
  readonly length: number;
  readonly head: string;
}

/** Why verification stopped. */
export type AuditFailureReason = 'bad_genesis' | 'edited' | 'deleted' | 'reordered' | 'malformed';

/** Result of {@link verifyChain}: the head on success, else the first bad index and why. */
export type AuditVerification =
  | { readonly ok: true; readonly length: number; readonly head: string }
  | { readonly ok: false; readonly index: number; readonly reason: AuditFailureReason; readonly message: string };

const HASH_HEX = /^[0-9a-f]{64}$/;

/** A short printable form of a value that may not be what its type says (untyped callers). */
function preview(value: unknown, max: number): string {
  return typeof value === 'string' ? value.slice(0, max) : `<${typeof value}>`;
}
const MAX_DEPTH = 64;

function notCanonical(path: string, why: string): never {
  throw new InvalidInputError('audit.not_canonical', `audit data at ${path} ${why}`, {
    hint: 'audit data must be plain JSON (objects, arrays, strings, finite numbers, booleans, null) or bigint',
  });
}

function canon(value: unknown, path: string, depth: number, seen: Set<object>): string {
  if (depth > MAX_DEPTH) notCanonical(path, `nests deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) notCanonical(path, `is ${value}`);
      return JSON.stringify(value);
    case 'bigint':
      // Decimal strings keep amounts exact and match how mofn writes amounts in JSON and SQL.
      return JSON.stringify(value.toString(10));
    case 'object': {
      if (value === null) return 'null';
      if (seen.has(value)) notCanonical(path, 'is circular');
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(canon((value as readonly unknown[])[i], `${path}[${i}]`, depth + 1, seen));
        out = `[${items.join(',')}]`;
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) notCanonical(path, 'is not a plain object');
        const record = value as Record<string, unknown>;
        const parts: string[] = [];
        // Code-unit order, as RFC 8785 (JCS) sorts member names.
        for (const key of Object.keys(record).sort()) {
          const v = record[key];
          if (v === undefined) continue;
          parts.push(`${JSON.stringify(key)}:${canon(v, `${path}.${key}`, depth + 1, seen)}`);
        }
        out = `{${parts.join(',')}}`;
      }
      seen.delete(value);
      return out;
    }
    default:
      return notCanonical(path, `is a ${typeof value}`);
  }
}

/**
 * Canonical JSON: object keys sorted, no whitespace, bigint as a decimal string, `undefined`
 * members omitted. Equal data gives equal text whatever the key order.
 * @throws InvalidInputError `audit.not_canonical` for non-finite numbers, functions, symbols,
 *   `undefined` values, class instances (Date, Map, Uint8Array...) and cycles.
 * @example canonicalJson({ b: 1n, a: [true] }) // '{"a":[true],"b":"1"}'
 */
export function canonicalJson(value: unknown): string {
  return canon(value, '$', 0, new Set());
}

/** The hash an event must carry, from its fields and the previous hash. */
function eventHash(prevHash: string, seq: number, entry: AuditEntry): string {
  const body = canonicalJson({ seq, at: entry.at, type: entry.type, data: entry.data });
  return bytesToHex(sha256(concatBytes(hexToBytes(prevHash), utf8ToBytes(body))));
}

function assertEntry(entry: AuditEntry): void {
  if (typeof entry.type !== 'string' || entry.type.length === 0 || entry.type.length > 200) {
    throw new InvalidInputError('audit.bad_entry', 'audit event type must be a non-empty string of at most 200 characters');
  }
  if (!Number.isSafeInteger(entry.at) || entry.at < 0) throw new InvalidInputError('audit.bad_entry', `audit event time must be non-negative integer milliseconds, got ${String(entry.at)}`);
}

/**
 * Builds the event that follows `head` (the log's last event, or undefined for an empty log).
 * The data is copied, so later changes to the caller's object do not alter the event.
 * @throws InvalidInputError `audit.bad_entry`, `audit.not_canonical`.
 */
export function createAuditEvent(head: AuditEvent | undefined, entry: AuditEntry): AuditEvent {
  assertEntry(entry);
  const seq = head === undefined ? 0 : head.seq + 1;
  const prevHash = head === undefined ? GENESIS_HASH : head.hash;
  if (!HASH_HEX.test(prevHash)) throw new InvalidInputError('audit.bad_entry', `head hash '${preview(prevHash, 70)}' is not 64 lowercase hex characters`);
  const hash = eventHash(prevHash, seq, entry);
  return Object.freeze({ seq, at: entry.at, type: entry.type, data: structuredClone(entry.data), prevHash, hash });
}

/**
 * Appends one event to a log, returning a new frozen log (the input is not modified).
 * Trusts the existing log: verify it with {@link verifyChain} when it comes from storage.
 * @throws InvalidInputError `audit.bad_entry`, `audit.not_canonical`.
 * @example
 * let log = appendEvent([], { type: 'proposal.transition', at: now, data: record });
 */
export function appendEvent(log: readonly AuditEvent[], entry: AuditEntry): readonly AuditEvent[] {
  return Object.freeze([...log, createAuditEvent(log.at(-1), entry)]);
}

function isWellFormed(e: AuditEvent): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isSafeInteger(e.seq) &&
    e.seq >= 0 &&
    Number.isSafeInteger(e.at) &&
    e.at >= 0 &&
    typeof e.type === 'string' &&
    e.type.length > 0 &&
    typeof e.prevHash === 'string' &&
    HASH_HEX.test(e.prevHash) &&
    typeof e.hash === 'string' &&
    HASH_HEX.test(e.hash)
  );
}

/**
 * Verifies a whole log from genesis. Returns the head on success, else the first bad index and
 * the reason: `bad_genesis` (the first event does not start from {@link GENESIS_HASH}), `edited`
 * (an event's content no longer matches its hash, or it no longer links to its predecessor),
 * `deleted` (a gap in the sequence, or fewer events than the anchor), `reordered` (an event out
 * of place), `malformed` (not an event, or data that cannot be canonicalised). Never throws.
 * @param anchor an earlier (length, head) the log must extend: catches truncation and tail rewrites.
 */
export function verifyChain(events: readonly AuditEvent[], anchor?: AuditAnchor): AuditVerification {
  const fail = (index: number, reason: AuditFailureReason, message: string): AuditVerification => Object.freeze({ ok: false, index, reason, message });
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (!isWellFormed(e)) return fail(i, 'malformed', `event ${i} is not a well-formed audit event`);
    if (e.seq !== i) {
      let movedHere = false;
      for (let j = i + 1; j < events.length; j++) if (events[j]?.seq === i) movedHere = true;
      if (movedHere || e.seq < i) return fail(i, 'reordered', `event ${i} carries sequence ${e.seq}: events are out of order`);
      return fail(i, 'deleted', `event ${i} carries sequence ${e.seq}: ${e.seq - i} event(s) before it are missing`);
    }
    if (i === 0 && e.prevHash !== GENESIS_HASH) return fail(0, 'bad_genesis', `the first event links to ${e.prevHash}, not the genesis hash`);
    let expected: string;
    try {
      expected = eventHash(e.prevHash, e.seq, e);
    } catch {
      return fail(i, 'malformed', `event ${i} has data that cannot be canonicalised`);
    }
    if (expected !== e.hash) return fail(i, 'edited', `event ${i} does not match its hash ${e.hash}: its content was changed`);
    if (i > 0 && e.prevHash !== events[i - 1]!.hash) {
      return fail(i, 'edited', `event ${i} does not link to event ${i - 1}: one of them was rewritten`);
    }
  }
  if (anchor !== undefined) {
    if (!Number.isSafeInteger(anchor.length) || anchor.length < 0) return fail(0, 'malformed', `anchor length ${String(anchor.length)} is not a count of events`);
    if (events.length < anchor.length) return fail(events.length, 'deleted', `the log has ${events.length} events but was anchored at ${anchor.length}`);
    if (anchor.length > 0 && events[anchor.length - 1]!.hash !== anchor.head) {
      return fail(anchor.length - 1, 'edited', `event ${anchor.length - 1} has hash ${events[anchor.length - 1]!.hash}, the anchor recorded ${anchor.head}`);
    }
  }
  return Object.freeze({ ok: true, length: events.length, head: events.at(-1)?.hash ?? GENESIS_HASH });
}

/**
 * Like {@link verifyChain} but throws on the first problem.
 * @throws ConflictError `audit.tampered` with `details: { index, reason }`.
 */
export function assertAuditChain(events: readonly AuditEvent[], anchor?: AuditAnchor): AuditAnchor {
  const r = verifyChain(events, anchor);
  if (!r.ok) throw new ConflictError('audit.tampered', `audit log fails verification at event ${r.index} (${r.reason}): ${r.message}`, { details: { index: r.index, reason: r.reason } });
  return Object.freeze({ length: r.length, head: r.head });
}
