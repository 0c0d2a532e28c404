/**
 * BIP-329 wallet labels: JSON Lines, one record per line, `type` and `ref` mandatory; `label`,
 * `origin` (tx only) and `spendable` (output only) optional. A missing `label` or `spendable`
 * means "leave it as it is" on import, so absence is kept distinct from an empty value.
 * The BIP's additional fields (height, time, fee, value, ...) are derived data an importer may
 * ignore; they are not kept.
 */
import { InvalidInputError } from '@mofn/core';

/** The record types of BIP-329. */
export type Bip329Type = 'tx' | 'addr' | 'pubkey' | 'input' | 'output' | 'xpub' | 'spscan';

/** One label record. */
export interface Bip329Label {
  readonly type: Bip329Type;
  /** txid (tx), address (addr), hex public key (pubkey), `txid:vout` (input, output), extended key (xpub), spscan key expression. */
  readonly ref: string;
  readonly label?: string;
  /** Abbreviated output descriptor of the wallet the transaction belongs to (tx only). */
  readonly origin?: string;
  /** Whether the output may be spent (output only). */
  readonly spendable?: boolean;
}

/** Result of {@link parseBip329}. */
export interface Bip329ParseResult {
  readonly labels: readonly Bip329Label[];
  /** Lines with a type this implementation does not know (BIP-329: importers ignore them). */
  readonly ignored: number;
}

const TYPES: readonly Bip329Type[] = ['tx', 'addr', 'pubkey', 'input', 'output', 'xpub', 'spscan'];
const TXID = /^[0-9a-fA-F]{64}$/;
const OUTPOINT = /^[0-9a-fA-F]{64}:[0-9]{1,10}$/;
const REF_RULES: Readonly<Record<Bip329Type, { test: (ref: string) => boolean; what: string }>> = {
  tx: { test: (r) => TXID.test(r), what: 'a 64-hex-digit txid' },
  input: { test: (r) => OUTPOINT.test(r) && Number(r.split(':')[1]) <= 0xffffffff, what: 'TXID:VOUT' },
  output: { test: (r) => OUTPOINT.test(r) && Number(r.split(':')[1]) <= 0xffffffff, what: 'TXID:VOUT' },
  pubkey: { test: (r) => /^(0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128}|[0-9a-fA-F]{64})$/.test(r), what: 'a hex public key (33 or 65 bytes, or 32-byte x-only)' },
  addr: { test: (r) => /^[A-Za-z0-9]{14,90}$/.test(r), what: 'an address' },
  xpub: { test: (r) => /^[1-9A-HJ-NP-Za-km-z]{100,120}$/.test(r), what: 'a base58 extended public key' },
  spscan: { test: (r) => /^t?spscan1[02-9ac-hj-np-z]{50,}$/.test(r), what: 'a silent payments scan key expression' },
};

// Hex refs are case-insensitive; one canonical spelling lets imports merge with existing labels.
const canonicalRef = (type: Bip329Type, ref: string): string => (type === 'tx' || type === 'input' || type === 'output' || type === 'pubkey' ? ref.toLowerCase() : ref);

/** The key identifying a label record in a wallet: `type:ref`. */
export function bip329Key(label: Pick<Bip329Label, 'type' | 'ref'>): string {
  return `${label.type}:${canonicalRef(label.type, label.ref)}`;
}

/**
 * Parses BIP-329 JSON Lines (blank lines allowed). Refs are checked per type; hex refs are
 * lower-cased. A later record for the same type and ref replaces an earlier one.
 * @throws InvalidInputError `labels.bad_record` naming the line
 * @example parseBip329('{"type":"tx","ref":"f91d...","label":"rent"}\n').labels[0].label // 'rent'
 */
export function parseBip329(text: string): Bip329ParseResult {
  const byKey = new Map<string, Bip329Label>();
  let ignored = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === '') return;
    const bad = (why: string): never => {
      throw new InvalidInputError('labels.bad_record', `BIP-329 line ${String(n)}: ${why}`, { details: { line: n } });
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return bad('not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('not a JSON object');
    const rec = value as Record<string, unknown>;
    if (typeof rec['type'] !== 'string') return bad('"type" is missing or not a string');
    if (typeof rec['ref'] !== 'string') return bad('"ref" is missing or not a string');
    const type = TYPES.find((t) => t === rec['type']);
    if (type === undefined) {
      ignored++;
      return;
    }
    const rule = REF_RULES[type];
    if (!rule.test(rec['ref'])) return bad(`"ref" of a ${type} record must be ${rule.what}`);
    const label = rec['label'];
    if (label !== undefined && label !== null && typeof label !== 'string') return bad('"label" must be a string');
    const origin = rec['origin'];
    if (origin !== undefined && origin !== null && (typeof origin !== 'string' || type !== 'tx')) return bad('"origin" must be a string and appears only on tx records');
    const spendable = rec['spendable'];
    if (spendable !== undefined && spendable !== null && (typeof spendable !== 'boolean' || type !== 'output')) return bad('"spendable" must be true or false and appears only on output records');
    const parsed: Bip329Label = {
      type,
      ref: canonicalRef(type, rec['ref']),
      ...(typeof label === 'string' ? { label } : {}),
      ...(typeof origin === 'string' ? { origin } : {}),
      ...(typeof spendable === 'boolean' ? { spendable } : {}),
    };
    byKey.set(bip329Key(parsed), parsed);
  });
  return { labels: [...byKey.values()], ignored };
}

/**
 * Writes labels as BIP-329 JSON Lines (keys in the BIP's order, one record per line, final newline).
 * @throws InvalidInputError `labels.bad_record` for a record that would not parse back
 */
export function formatBip329(labels: readonly Bip329Label[]): string {
  const lines = labels.map((l) => {
    if (!TYPES.includes(l.type) || !REF_RULES[l.type].test(l.ref)) throw new InvalidInputError('labels.bad_record', `cannot export a ${l.type} label with ref '${l.ref.slice(0, 80)}'`);
    return JSON.stringify({
      type: l.type,
      ref: l.ref,
      ...(l.label === undefined ? {} : { label: l.label }),
      ...(l.origin === undefined || l.type !== 'tx' ? {} : { origin: l.origin }),
      ...(l.spendable === undefined || l.type !== 'output' ? {} : { spendable: l.spendable }),
    });
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
