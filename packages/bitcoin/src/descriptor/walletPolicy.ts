/**
 * BIP-388 wallet policies: a descriptor template with key keySlots (`@0/**`,
 * `@1/<2;3>/*`, `musig(@0,@1)/**`) plus the list of keys, as hardware signers register them.
 */
import { InvalidDescriptorError } from '@mofn/core';
import { findInvalidDescriptorChar } from './checksum.ts';
import { parseKeyExpression } from './parser.ts';

/** A BIP-388 template's key key slot occurrence. */
export interface KeySlot {
  /** The `i` of `@i`. */
  readonly key: number;
  /** Receive/change steps: `[0, 1]` for `/**`, `[a, b]` for `/<a;b>/*`; undefined inside musig(). */
  readonly branches: readonly [number, number] | undefined;
}

/** A validated BIP-388 wallet policy. */
export interface WalletPolicy {
  readonly template: string;
  readonly keys: readonly string[];
  readonly keySlots: readonly KeySlot[];
  /** The descriptor it stands for (`/**` written as `/<0;1>/*`). */
  readonly descriptor: string;
}

function fail(code: string, message: string, hint?: string): never {
  throw new InvalidDescriptorError(`wallet_policy.${code}`, message, hint === undefined ? {} : { hint });
}

const STEP = '(0|[1-9]\\d{0,9})';
const MULTIPATH = new RegExp(`^/<${STEP};${STEP}>/\\*`);

/** Ranges [open, close] of every `musig(...)` in the template. */
function musigRanges(t: string): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  for (;;) {
    const i = t.indexOf('musig(', from);
    if (i < 0) return out;
    let depth = 0;
    let close = -1;
    for (let j = i + 5; j < t.length; j++) {
      if (t[j] === '(') depth++;
      else if (t[j] === ')' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) fail('syntax', "musig( is missing its ')'");
    out.push([i + 5, close]);
    from = i + 6;
  }
}

function readBranches(t: string, at: number, what: string): { branches: [number, number]; length: number } {
  if (t.startsWith('/**', at)) return { branches: [0, 1], length: 3 };
  const m = MULTIPATH.exec(t.slice(at));
  if (m !== null) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a >= 0x80000000 || b >= 0x80000000) fail('bad_path', `${what}: step out of range`);
    if (a === b) fail('bad_path', `${what}: /<${a};${b}>/* repeats a step`);
    return { branches: [a, b], length: m[0].length };
  }
  if (/^\/<[^>]*;[^>]*;/.test(t.slice(at))) fail('cardinality', `${what}: multipath steps in wallet policies have exactly 2 values`);
  if (t[at] === '/') fail('explicit_path', `${what} must be followed by /** or /<M;N>/* (no other derivation)`);
  return fail('no_derivation', `${what} has no derivation: write ${what}/**`);
}

/**
 * Validates a BIP-388 descriptor template and lists its key keySlots.
 * @throws InvalidDescriptorError `wallet_policy.no_derivation`, `wallet_policy.explicit_path`,
 *   `wallet_policy.cardinality`, `wallet_policy.order`, `wallet_policy.skipped_key`,
 *   `wallet_policy.repeated_key`, `wallet_policy.literal_key`, `wallet_policy.musig_derivation`,
 *   `wallet_policy.syntax`
 */
export function parseWalletPolicyTemplate(template: string): KeySlot[] {
  if (typeof template !== 'string' || template === '' || findInvalidDescriptorChar(template) >= 0 || template.includes('#')) {
    fail('syntax', 'a wallet policy template is a descriptor text without checksum');
  }
  const musig = musigRanges(template);
  const inMusig = (i: number): boolean => musig.some(([a, b]) => i > a && i < b);
  const keySlots: KeySlot[] = [];
  let stripped = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '@') {
      stripped += c;
      i++;
      continue;
    }
    const m = /^@(0|[1-9]\d{0,3})/.exec(template.slice(i));
    if (m === null) fail('syntax', `'@' must be followed by a key index (position ${i})`);
    const key = Number(m[1]);
    const what = `@${key}`;
    const after = i + m[0].length;
    if (inMusig(i)) {
      const next = template[after];
      if (next === '/') fail('musig_derivation', `${what} inside musig() cannot have derivation steps: derive after the aggregate, musig(...)/**`);
      keySlots.push({ key, branches: undefined });
      stripped += 'KEY';
      i = after;
      continue;
    }
    const { branches, length } = readBranches(template, after, what);
    keySlots.push({ key, branches });
    stripped += 'KEY';
    i = after + length;
  }
  // musig(...) aggregates must be followed by their own /** or /<M;N>/*.
  for (const [, close] of musig) readBranches(template, close + 1, 'musig(...)');
  // BIP-388: the template has no literal keys; every key is a key slot.
  for (const token of stripped.split(/[(),{}]/)) {
    const bare = token.replace(/^[a-z_]+:/, '');
    if (/^\[|^[xt](pub|prv)|^[0-9a-fA-F]{66}$|^[0-9a-fA-F]{130}$|^[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}$/.test(bare)) {
      fail('literal_key', `the template contains a key that is not a key slot ('${bare.slice(0, 12)}...')`);
    }
  }
  // Key slots (@0, @1, ...) are numbered in order of first appearance, without gaps.
  let next = 0;
  for (const p of keySlots) {
    if (p.key > next) {
      if (keySlots.some((q) => q.key === next)) fail('order', `key key slot @${p.key} appears before @${next}`, 'number the keySlots in order of first appearance');
      fail('skipped_key', `key key slot @${next} is never used (the template jumps to @${p.key})`);
    }
    if (p.key === next) next++;
  }
  // The same key may appear several times only with disjoint derivations.
  const used = new Map<number, Set<number>>();
  for (const p of keySlots) {
    if (p.branches === undefined) continue;
    const set = used.get(p.key) ?? new Set<number>();
    for (const b of p.branches) {
      if (set.has(b)) fail('repeated_key', `@${p.key} is used twice with the derivation step ${b} (its derivations must be disjoint)`);
      set.add(b);
    }
    used.set(p.key, set);
  }
  return keySlots;
}

/**
 * Builds a BIP-388 wallet policy: checks the template and the key information vector and
 * expands the descriptor (`@i/**` becomes `KEY_i/<0;1>/*`).
 * @param template - descriptor template, e.g. `wsh(sortedmulti(2,@0/**,@1/**))`
 * @param keys - key information `[fingerprint/path]xpub` (or a bare xpub), no derivation after it
 * @throws InvalidDescriptorError `wallet_policy.*` (see {@link parseWalletPolicyTemplate}),
 *   `wallet_policy.key_count`, `wallet_policy.bad_key_info`
 */
export function createWalletPolicy(template: string, keys: readonly string[]): WalletPolicy {
  const keySlots = parseWalletPolicyTemplate(template);
  const count = keySlots.reduce((n, p) => Math.max(n, p.key + 1), 0);
  if (keys.length !== count) fail('key_count', `the template uses ${count} keys, ${keys.length} given`);
  keys.forEach((k, i) => {
    let ok = false;
    try {
      const e = parseKeyExpression(k);
      ok = e.key.kind === 'xkey' && e.path.length === 0 && e.multipath === undefined && e.wildcard === 'none';
    } catch {
      ok = false;
    }
    if (!ok) fail('bad_key_info', `key ${i} must be an extended key with an optional origin and no derivation after it`);
  });
  // In a valid template `/**` only follows a key slot or a musig() aggregate (BIP-388).
  const descriptor = template.replace(/@(\d+)/g, (_m: string, i: string) => keys[Number(i)]!).replaceAll('/**', '/<0;1>/*');
  return Object.freeze({ template, keys: Object.freeze([...keys]), keySlots: Object.freeze(keySlots), descriptor });
}
