import { InvalidInputError } from './errors.ts';

/** Satoshis in one bitcoin. */
export const SATS_PER_BTC = 100_000_000n;
/** The 21M cap in satoshis: no amount can exceed it. */
export const MAX_MONEY_SATS = 21_000_000n * SATS_PER_BTC;

/**
 * Parses a non-negative integer amount of base units written in decimal (`"150000"`).
 * @throws InvalidInputError `amount.invalid` for anything but plain digits, `amount.too_large` above `max`.
 * @example parseSats('1500') // 1500n
 */
export function parseSats(text: string, max: bigint = MAX_MONEY_SATS): bigint {
  if (!/^[0-9]{1,20}$/.test(text)) {
    throw new InvalidInputError('amount.invalid', `amount '${text.slice(0, 40)}' is not a whole number of satoshis`, {
      hint: 'write amounts as integer satoshis, e.g. 150000',
    });
  }
  const value = BigInt(text);
  if (value > max) throw new InvalidInputError('amount.too_large', `amount ${value} exceeds the maximum ${max}`);
  return value;
}

/** Formats satoshis as a BTC decimal string with 8 decimals (`150000n` -> `"0.00150000"`). */
export function formatBtc(sats: bigint): string {
  const sign = sats < 0n ? '-' : '';
  const abs = sats < 0n ? -sats : sats;
  return `${sign}${abs / SATS_PER_BTC}.${(abs % SATS_PER_BTC).toString().padStart(8, '0')}`;
}
