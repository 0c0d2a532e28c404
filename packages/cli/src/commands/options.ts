import { InvalidInputError } from '@mofn/core';
import type { ScriptType } from '@mofn/bitcoin';

const SCRIPT_TYPES: Record<string, ScriptType> = { wsh: 'wsh', 'sh-wsh': 'sh-wsh', 'sh-p2wsh': 'sh-wsh', sh: 'sh', tr: 'tr', p2wsh: 'wsh', p2sh: 'sh', 'p2sh-p2wsh': 'sh-wsh', p2tr: 'tr' };

/** Parses a script type option. @throws InvalidInputError `option.bad_type`. */
export function parseScriptType(text: string): ScriptType {
  const type = SCRIPT_TYPES[text.toLowerCase()];
  if (type === undefined) throw new InvalidInputError('option.bad_type', `unknown script type '${text}'`, { hint: 'use wsh, sh-wsh, sh or tr' });
  return type;
}

/** Parses a non-negative integer option. @throws InvalidInputError `option.bad_integer`. */
export function parseIntegerOption(name: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidInputError('option.bad_integer', `${name} must be an integer in ${min}..${max}, got '${text}'`);
  }
  return Number(text);
}

/** commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
