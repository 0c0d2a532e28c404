/** BIP-329 parsing rules: mandatory fields, per-type refs, where origin and spendable may appear, unknown types. */
import { describe, expect, it } from 'vitest';
import { bip329Key, formatBip329, parseBip329 } from '../src/formats/bip329.ts';
import { codeOf } from '../../../test/support/errors.ts';

const TXID = 'F91D0A8A78462BC59398F2C5D7A84FCFF491C26BA54C4833478B202796C8AAFD';

describe('parseBip329', () => {
  it('keeps absence distinct from empty, lower-cases hex refs, and lets a later record win', () => {
    const { labels } = parseBip329(
      [
        JSON.stringify({ type: 'output', ref: `${TXID}:1`, spendable: false }),
        '',
        JSON.stringify({ type: 'tx', ref: TXID, label: 'first' }),
        JSON.stringify({ type: 'tx', ref: TXID.toLowerCase(), label: 'second', height: 800000, fee: 100 }),
      ].join('\r\n'),
    );
    expect(labels).toEqual([
      { type: 'output', ref: `${TXID.toLowerCase()}:1`, spendable: false },
      { type: 'tx', ref: TXID.toLowerCase(), label: 'second' },
    ]);
    expect(bip329Key({ type: 'tx', ref: TXID })).toBe(`tx:${TXID.toLowerCase()}`);
  });

  it('ignores records of unknown type, as the BIP asks', () => {
    expect(parseBip329('{"type":"future","ref":"x","label":"y"}\n')).toEqual({ labels: [], ignored: 1 });
  });

  const bad: [string, string][] = [
    ['not JSON', '{"type":"tx",'],
    ['an array', '[1,2]'],
    ['no type', '{"ref":"x"}'],
    ['no ref', '{"type":"tx"}'],
    ['a bad txid', '{"type":"tx","ref":"abc"}'],
    ['an outpoint without vout', `{"type":"input","ref":"${TXID}"}`],
    ['a vout beyond 32 bits', `{"type":"output","ref":"${TXID}:4294967296"}`],
    ['a non-hex pubkey', '{"type":"pubkey","ref":"zz"}'],
    ['a label that is a number', `{"type":"tx","ref":"${TXID}","label":5}`],
    ['origin on an address', '{"type":"addr","ref":"bc1q34aq5drpuwy3wgl9lhup9892qp6svr8ldzyy7c","origin":"wpkh()"}'],
    ['spendable on a tx', `{"type":"tx","ref":"${TXID}","spendable":true}`],
    ['spendable as a string', `{"type":"output","ref":"${TXID}:0","spendable":"false"}`],
  ];
  for (const [what, line] of bad) {
    it(`refuses ${what} (labels.bad_record)`, () => {
      expect(codeOf(() => parseBip329(line))).toBe('labels.bad_record');
    });
  }
});

describe('formatBip329', () => {
  it('writes one record per line with a final newline, nothing for no labels, and refuses a bad ref', () => {
    expect(formatBip329([])).toBe('');
    expect(formatBip329([{ type: 'input', ref: `${TXID.toLowerCase()}:0`, label: 'in' }])).toBe(`{"type":"input","ref":"${TXID.toLowerCase()}:0","label":"in"}\n`);
    expect(codeOf(() => formatBip329([{ type: 'tx', ref: 'nope' }]))).toBe('labels.bad_record');
  });
});
