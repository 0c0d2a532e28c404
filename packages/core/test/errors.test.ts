import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidDescriptorError, MofnError, isMofnError, parseSats, formatBtc, MAX_MONEY_SATS, compareBytes, equalBytes } from '../src/index.ts';

describe('MofnError', () => {
  it('keeps code, details, hint and cause, and serialises without the stack', () => {
    const cause = new Error('low level');
    const err = new InvalidDescriptorError('descriptor.bad_checksum', "checksum mismatch, expected 'xyz12345'", { details: { expected: 'xyz12345' }, hint: 'fix it', cause });
    expect(err.name).toBe('InvalidDescriptor');
    expect(err.code).toBe('descriptor.bad_checksum');
    expect(err.cause).toBe(cause);
    expect(err.walk()).toBe(cause);
    expect(err.walk((e) => e instanceof MofnError)).toBe(err);
    expect(isMofnError(err)).toBe(true);
    expect(isMofnError(cause)).toBe(false);
    expect(err.toJSON()).toEqual({ name: 'InvalidDescriptor', code: 'descriptor.bad_checksum', message: "checksum mismatch, expected 'xyz12345'", details: { expected: 'xyz12345' }, hint: 'fix it' });
  });
});

describe('amounts', () => {
  it('parses whole satoshis only', () => {
    expect(parseSats('0')).toBe(0n);
    expect(parseSats('2100000000000000')).toBe(MAX_MONEY_SATS);
    for (const bad of ['', '-1', '1.5', '1e3', ' 1', '0x10', '1_000']) expect(() => parseSats(bad)).toThrow(expect.objectContaining({ code: 'amount.invalid' }));
    expect(() => parseSats('2100000000000001')).toThrow(expect.objectContaining({ code: 'amount.too_large' }));
  });
  it('formats BTC with 8 decimals', () => {
    expect(formatBtc(150000n)).toBe('0.00150000');
    expect(formatBtc(-100000001n)).toBe('-1.00000001');
  });
  it('round-trips every amount through format and parse', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_MONEY_SATS }), (sats) => {
        const [whole, frac] = formatBtc(sats).split('.') as [string, string];
        expect(BigInt(whole) * 100_000_000n + BigInt(frac)).toBe(sats);
        expect(parseSats(sats.toString())).toBe(sats);
      }),
    );
  });
});

describe('bytes', () => {
  it('compares lexicographically and by content', () => {
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 3))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
  });
});
