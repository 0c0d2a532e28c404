/** BIP-329 against the BIP's own example export: every record parses, round-trips byte for byte in meaning. */
import { describe, expect, it } from 'vitest';
import { formatBip329, parseBip329 } from '../src/formats/bip329.ts';
import { readVectorText } from '../../../test/support/vectors.ts';

describe('BIP-329 test vector (bip329_labels_example.jsonl)', () => {
  const text = readVectorText('BIP-329/bip329_labels_example.jsonl');
  const lines = text.split('\n').filter((l) => l.trim() !== '');

  it('parses every record with its type, ref, label, origin and spendable', () => {
    const { labels, ignored } = parseBip329(text);
    expect(ignored).toBe(0);
    expect(labels).toHaveLength(lines.length);
    expect(labels.map((l) => l.type)).toEqual(['tx', 'addr', 'pubkey', 'input', 'output', 'xpub', 'spscan', 'tx']);
    lines.forEach((line, i) => {
      const raw = JSON.parse(line) as Record<string, unknown>;
      expect(labels[i]).toEqual(raw);
    });
    expect(labels.find((l) => l.type === 'output')?.spendable).toBe(false);
    expect(labels[0]?.origin).toBe("wpkh([d34db33f/84'/0'/0'])");
  });

  it('writes records that parse back to the same labels, and JSON equal to the source lines', () => {
    const { labels } = parseBip329(text);
    const out = formatBip329(labels);
    expect(parseBip329(out).labels).toEqual(labels);
    expect(out.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(lines.map((l) => JSON.parse(l) as unknown));
  });
});
