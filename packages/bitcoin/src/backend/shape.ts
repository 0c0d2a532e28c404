/**
 * Checks the shape of what a backend answered. Backends are remote and may be buggy or hostile:
 * every field read is checked, and a wrong one becomes `backend.malformed_response` naming the
 * backend and the field, instead of a TypeError deep in the caller.
 */
import { InvalidInputError } from '@mofn/core';
import { BackendError, describeBackend, type BackendLabel } from './errors.ts';

/** Field checkers bound to one backend and one request, for error messages. */
export interface ShapeReader {
  fail(what: string): never;
  object(value: unknown, what: string): Record<string, unknown>;
  array(value: unknown, what: string): unknown[];
  string(value: unknown, what: string): string;
  hex(value: unknown, what: string): string;
  txid(value: unknown, what: string): string;
  integer(value: unknown, what: string, min?: number): number;
  number(value: unknown, what: string): number;
  sats(value: unknown, what: string): bigint;
  boolean(value: unknown, what: string): boolean;
}

/** A {@link ShapeReader} whose errors name `label` and the request `request`. */
export function shapeReader(label: BackendLabel, request: string): ShapeReader {
  const fail = (what: string): never => {
    throw new BackendError('backend.malformed_response', `${describeBackend(label)} answered ${request} with ${what}`, {
      details: { backend: label.kind, endpoint: label.endpoint, request },
      hint: 'the server is misbehaving or not speaking the expected protocol; check its URL and version, or use another backend',
    });
  };
  const reader: ShapeReader = {
    fail,
    object: (v, what) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${what} that is not an object`)),
    array: (v, what) => (Array.isArray(v) ? (v as unknown[]) : fail(`${what} that is not an array`)),
    string: (v, what) => (typeof v === 'string' ? v : fail(`${what} that is not a string`)),
    hex: (v, what) => (typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(v) ? v.toLowerCase() : fail(`${what} that is not hex`)),
    txid: (v, what) => (typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v) ? v.toLowerCase() : fail(`${what} that is not a txid`)),
    integer: (v, what, min = 0) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : fail(`${what} that is not an integer >= ${min}`)),
    number: (v, what) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(`${what} that is not a number`)),
    sats: (v, what) => {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
      if (typeof v === 'string' && /^[0-9]{1,16}$/.test(v)) return BigInt(v);
      return fail(`${what} that is not an amount in satoshis`);
    },
    boolean: (v, what) => (typeof v === 'boolean' ? v : fail(`${what} that is not a boolean`)),
  };
  return reader;
}

/**
 * Parses JSON text, failing with `backend.malformed_response`.
 * @throws BackendError `backend.malformed_response`
 */
export function parseJsonFrom(label: BackendLabel, request: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new BackendError('backend.malformed_response', `${describeBackend(label)} answered ${request} with text that is not JSON: '${text.slice(0, 60)}'`, {
      details: { backend: label.kind, endpoint: label.endpoint, request },
      hint: 'the server is misbehaving or not speaking the expected protocol; check its URL, or use another backend',
      cause,
    });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Checks txids given to a backend (they end up in URLs and requests); returns them lower-cased.
 * @throws InvalidInputError `backend.bad_txid`
 */
export function assertTxids(txids: readonly string[]): string[] {
  return txids.map((t) => {
    if (typeof t !== 'string' || !/^[0-9a-fA-F]{64}$/.test(t)) throw new InvalidInputError('backend.bad_txid', `${JSON.stringify(t).slice(0, 70)} is not a txid (64 hex characters)`);
    return t.toLowerCase();
  });
}
