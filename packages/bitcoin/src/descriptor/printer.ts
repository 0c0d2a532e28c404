/**
 * Descriptor printer: the inverse of the parser. Every key keeps the spelling and hardened-marker
 * style it was parsed with, so `printDescriptor(parseDescriptor(s)) === s`.
 */
import { HARDENED } from '../types.ts';
import type { Descriptor, KeyExpr, PathStep, ScriptExpr, TapTree } from './ast.ts';
import { descriptorChecksum } from './checksum.ts';

/** Options of {@link printDescriptor}. */
export interface PrintDescriptorOptions {
  /** Append `#checksum`. Default: only when the parsed descriptor had one. */
  readonly checksum?: boolean;
}

function printStep(s: PathStep): string {
  if (s.index >= HARDENED) return `${s.index - HARDENED}${s.marker === '' ? 'h' : s.marker}`;
  return String(s.index);
}

/** Text of one KEY expression. */
export function printKeyExpression(k: KeyExpr): string {
  let out = '';
  if (k.origin !== undefined) {
    out += `[${k.origin.fingerprint}`;
    for (const s of k.origin.path) out += `/${printStep(s)}`;
    out += ']';
  }
  out += k.key.kind === 'musig' ? `musig(${k.key.participants.map(printKeyExpression).join(',')})` : k.key.text;
  k.path.forEach((s, i) => {
    if (k.multipath !== undefined && k.multipath.position === i) out += `/<${k.multipath.steps.map(printStep).join(';')}>`;
    out += `/${printStep(s)}`;
  });
  if (k.multipath !== undefined && k.multipath.position >= k.path.length) out += `/<${k.multipath.steps.map(printStep).join(';')}>`;
  if (k.wildcard === 'unhardened') out += '/*';
  else if (k.wildcard === 'hardened') out += `/*${k.wildcardMarker === '' ? 'h' : k.wildcardMarker}`;
  return out;
}

function printTree(t: TapTree): string {
  return t.type === 'leaf' ? printScript(t.script) : `{${printTree(t.left)},${printTree(t.right)}}`;
}

/** Text of one script expression (no checksum). */
export function printScript(s: ScriptExpr): string {
  switch (s.type) {
    case 'pk':
    case 'pkh':
    case 'wpkh':
    case 'combo':
    case 'rawtr':
      return `${s.type}(${printKeyExpression(s.key)})`;
    case 'sh':
    case 'wsh':
      return `${s.type}(${printScript(s.inner)})`;
    case 'multi':
    case 'sortedmulti':
    case 'multi_a':
    case 'sortedmulti_a':
      return `${s.type}(${s.threshold},${s.keys.map(printKeyExpression).join(',')})`;
    case 'tr':
      return s.tree === undefined ? `tr(${printKeyExpression(s.internalKey)})` : `tr(${printKeyExpression(s.internalKey)},${printTree(s.tree)})`;
    case 'raw':
      return `raw(${s.text})`;
    case 'addr':
      return `addr(${s.address})`;
  }
}

/**
 * Prints a descriptor. A parsed descriptor prints back exactly as it was written.
 * @param d - the descriptor tree
 * @param options - `checksum: true|false` forces the `#checksum` suffix on or off
 * @returns the descriptor text
 */
export function printDescriptor(d: Descriptor, options: PrintDescriptorOptions = {}): string {
  const body = printScript(d.script);
  const withChecksum = options.checksum ?? d.checksum !== undefined;
  return withChecksum ? `${body}#${descriptorChecksum(body)}` : body;
}
