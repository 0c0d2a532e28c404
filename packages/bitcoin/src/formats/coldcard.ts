/**
 * Coldcard files: the multisig setup file (text, imported and exported by Coldcard, Sparrow,
 * Specter, Nunchuk...) and the per-device multisig xpub export (`ccxp-<XFP>.json`).
 *
 * Setup file, as Coinkite documents it (docs "Multisig Features"):
 * ```
 * # comment
 * Name: CC-2-of-4            (1..20 ASCII characters; default "M-of-N")
 * Policy: 2 of 4             (default: N of N)
 * Format: P2WSH              (P2SH when absent; P2SH-P2WSH, alias P2WSH-P2SH)
 * Derivation: m/48'/1'/0'/2' (applies to the keys that follow; may change between keys)
 * 0F056943: tpubDF2r...      (XFP: xpub, one line per cosigner)
 * ```
 * Coldcard always builds BIP-67 sorted multisig (its make_redeem_script sorts the keys), so
 * imports give sortedmulti policies.
 */
import { encodeExtendedPublicKey, formatDerivationPath, parseExtendedPublicKey } from '../keys/index.ts';
import type { ExtendedPublicKey, MultisigPolicy, Network, ScriptType } from '../types.ts';
import {
  assertFileText,
  buildPolicy,
  field,
  fileError,
  formatFilePath,
  keyPreview,
  lookup,
  parseFilePath,
  parseFingerprint,
  parseJsonObject,
  requireOrigins,
  requireSortedMulti,
} from './common.ts';
import type { FileKey } from './common.ts';

const FORMAT = 'Coldcard';

const FORMATS: Readonly<Record<string, ScriptType>> = Object.freeze({
  p2sh: 'sh',
  p2wsh: 'wsh',
  'p2sh-p2wsh': 'sh-wsh',
  // Older Coldcard firmware wrote the wrapped form this way round; still accepted as an alias.
  'p2wsh-p2sh': 'sh-wsh',
});
const FORMAT_NAMES: Readonly<Partial<Record<ScriptType, string>>> = Object.freeze({ sh: 'P2SH', wsh: 'P2WSH', 'sh-wsh': 'P2SH-P2WSH' });

/** Coldcard's wallet-name limit. */
const MAX_NAME = 20;
const MAX_LINES = 1000;

/** A parsed Coldcard multisig setup file. */
export interface ColdcardWallet {
  readonly name: string;
  readonly policy: MultisigPolicy;
}

/** A Coldcard comment runs from `#` to the end of the line, except `#` followed by a digit (a name like "Vault #2"). */
function stripComment(line: string): string {
  for (let i = line.indexOf('#'); i !== -1; i = line.indexOf('#', i + 1)) {
    if (i === 0 || !/[0-9]/u.test(line.charAt(i + 1))) return line.slice(0, i);
  }
  return line;
}

function lineError(code: string, lineNo: number, message: string, details: Record<string, unknown> = {}) {
  return fileError(code, `Coldcard file line ${lineNo}: ${message}`, { details: { line: lineNo, ...details } });
}

/**
 * Parses a Coldcard multisig setup file.
 * @param text - the file contents
 * @param network - the network the caller expects (default: from the key versions, xpub -> main, tpub -> test)
 * @throws InvalidWalletFileError `walletfile.*`: `bad_line` (a line that is neither a known
 *   `label: value` nor a key), `duplicate_field`, `bad_policy_line`, `unsupported_type`, `bad_path`,
 *   `missing_path`, `missing_fingerprint`, `bad_key`, `private_key`, `key_count`, `bad_quorum`,
 *   `wrong_network`, `path_depth_mismatch`, `fingerprint_mismatch`, `bad_policy`...
 */
export function parseColdcardConfig(text: string, network?: Network): ColdcardWallet {
  assertFileText(text, FORMAT);
  const lines = text.replace(/^\uFEFF/u, '').split(/\r?\n|\r/u);
  if (lines.length > MAX_LINES) throw fileError('walletfile.too_large', `Coldcard file has ${lines.length} lines, more than ${MAX_LINES}`);
  let name: string | undefined;
  let policy: { m: number; n: number } | undefined;
  let type: ScriptType | undefined;
  let derivation: number[] | undefined;
  const keys: FileKey[] = [];

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = stripComment(raw).trim();
    if (line.length === 0) return;
    const colon = line.indexOf(':');
    if (colon === -1) {
      // Coldcard accepts a bare xpub when its XFP can be read from it (depth 1).
      if (/^[a-zA-Z]pub[1-9A-HJ-NP-Za-km-z]+$/u.test(line)) {
        keys.push(bareKey(line, lineNo, derivation));
        return;
      }
      throw lineError('walletfile.bad_line', lineNo, "expected 'label: value' or 'XFP: xpub'");
    }
    const label = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (label) {
      case 'name':
        if (name !== undefined) throw lineError('walletfile.duplicate_field', lineNo, "second 'Name' line", { field: 'name' });
        if (value.length === 0) throw lineError('walletfile.bad_name', lineNo, 'empty name');
        name = value;
        return;
      case 'policy': {
        if (policy !== undefined) throw lineError('walletfile.duplicate_field', lineNo, "second 'Policy' line", { field: 'policy' });
        const match = /^(\d{1,3})\s*(?:of|\/|,|\s)\s*(\d{1,3})$/iu.exec(value);
        if (!match) throw lineError('walletfile.bad_policy_line', lineNo, `policy must read 'M of N', got '${value.slice(0, 20)}'`);
        policy = { m: Number(match[1]), n: Number(match[2]) };
        return;
      }
      case 'format': {
        if (type !== undefined) throw lineError('walletfile.duplicate_field', lineNo, "second 'Format' line", { field: 'format' });
        const t = lookup(FORMATS, value.toLowerCase());
        if (t === undefined) {
          throw lineError('walletfile.unsupported_type', lineNo, `format '${value.slice(0, 20)}' is not P2SH, P2WSH or P2SH-P2WSH`);
        }
        type = t;
        return;
      }
      case 'derivation':
        if (value.length === 0) throw lineError('walletfile.bad_path', lineNo, 'empty derivation');
        derivation = parseFilePath(value, `line ${lineNo}`);
        return;
      default:
        break;
    }
    if (/^[0-9a-f]{8}$/u.test(label)) {
      if (derivation === undefined) {
        // Derivation is mandatory since Coldcard 3.2.1, except where a depth-1 xpub shows it.
        const implied = impliedPath(value, label);
        if (implied === undefined) {
          throw lineError('walletfile.missing_path', lineNo, `key ${label.toUpperCase()} has no 'Derivation' line before it`);
        }
        keys.push({ where: `line ${lineNo} (${label.toUpperCase()})`, xpub: value, fingerprint: label, path: implied });
        return;
      }
      keys.push({ where: `line ${lineNo} (${label.toUpperCase()})`, xpub: value, fingerprint: label, path: derivation });
      return;
    }
    throw lineError('walletfile.bad_line', lineNo, `unknown label '${label.slice(0, 20)}'`, {
      hint: 'Coldcard files hold Name, Policy, Format, Derivation and XFP: xpub lines',
    });
  });

  if (keys.length === 0) throw fileError('walletfile.no_keys', 'Coldcard file lists no keys');
  const m = policy?.m ?? keys.length;
  const n = policy?.n ?? keys.length;
  const built = buildPolicy({
    format: FORMAT,
    type: type ?? 'sh',
    threshold: m,
    keys,
    requestedNetwork: network,
    totalKeys: n,
  });
  return { name: name ?? `${m}-of-${n}`, policy: built };
}

/** The path a depth-1 xpub implies when its parent is the labelled master; else undefined. */
function impliedPath(xpubText: string, fingerprint: string): number[] | undefined {
  try {
    const xpub = parseExtendedPublicKey(xpubText);
    return xpub.depth === 1 && xpub.parentFingerprint.toString(16).padStart(8, '0') === fingerprint ? [xpub.childNumber] : undefined;
  } catch {
    return undefined;
  }
}

/** A key line without XFP label or without a Derivation line: only a depth-1 xpub tells both. */
function bareKey(xpubText: string, lineNo: number, derivation: readonly number[] | undefined): FileKey {
  let xpub: ExtendedPublicKey | undefined;
  try {
    xpub = parseExtendedPublicKey(xpubText);
  } catch {
    // Reported with context by buildPolicy; here we only need depth and parent.
    xpub = undefined;
  }
  if (xpub === undefined) return { where: `line ${lineNo}`, xpub: xpubText, fingerprint: undefined, path: derivation };
  if (xpub.depth !== 1) {
    throw lineError('walletfile.missing_fingerprint', lineNo, `key '${keyPreview(xpubText)}' needs an 'XFP:' label and a 'Derivation' line (its master fingerprint cannot be read from a depth-${xpub.depth} xpub)`);
  }
  return {
    where: `line ${lineNo}`,
    xpub: xpubText,
    fingerprint: xpub.parentFingerprint.toString(16).padStart(8, '0'),
    path: derivation ?? [xpub.childNumber],
  };
}

/**
 * Writes a policy as a Coldcard multisig setup file, in Coldcard's own layout (Format line
 * omitted for P2SH, a Derivation line whenever the path changes, XFPs upper case).
 * @throws InvalidWalletFileError `walletfile.unsupported_type` (tr), `walletfile.unsupported_unsorted`,
 *   `walletfile.missing_origin`, `walletfile.duplicate_fingerprint` (Coldcard needs distinct XFPs),
 *   `walletfile.too_many_keys` (Coldcard signs at most 15), `walletfile.bad_name` (1..20 printable ASCII, no '#').
 */
export function exportColdcardConfig(policy: MultisigPolicy, name: string): string {
  requireSortedMulti(policy, FORMAT, ['sh', 'wsh', 'sh-wsh']);
  requireOrigins(policy, FORMAT);
  // A '#' not followed by a digit would start a comment when the file is read back.
  if (typeof name !== 'string' || !/^[\x20-\x7e]{1,20}$/u.test(name.trim()) || stripComment(name) !== name) {
    throw fileError('walletfile.bad_name', `Coldcard wallet names are 1..${MAX_NAME} printable ASCII characters ('#' only before a digit)`, {
      details: { length: typeof name === 'string' ? name.length : 0 },
    });
  }
  if (policy.keys.length > 15) {
    throw fileError('walletfile.too_many_keys', `Coldcard supports at most 15 cosigners, this wallet has ${policy.keys.length}`);
  }
  const fps = policy.keys.map((k) => k.origin!.fingerprint);
  const dup = fps.findIndex((fp, i) => fps.indexOf(fp) !== i);
  if (dup !== -1) {
    throw fileError('walletfile.duplicate_fingerprint', `Coldcard needs a distinct master fingerprint per cosigner; ${fps[dup]!} appears twice`, {
      details: { fingerprint: fps[dup]! },
    });
  }
  const out: string[] = ['# Coldcard Multisig setup file (exported from mofn)', '#', `Name: ${name.trim()}`, `Policy: ${policy.threshold} of ${policy.keys.length}`];
  if (policy.type !== 'sh') out.push(`Format: ${FORMAT_NAMES[policy.type]!}`);
  let last: string | undefined;
  for (const key of policy.keys) {
    const path = formatFilePath(key.origin!.path);
    if (path !== last) {
      out.push('', `Derivation: ${path}`, '');
      last = path;
    }
    out.push(`${key.origin!.fingerprint.toUpperCase()}: ${encodeExtendedPublicKey(key.xpub, policy.network)}`);
  }
  return `${out.join('\n')}\n`;
}

/** Field names of a Coldcard multisig xpub export per script type. */
const XPUB_EXPORT_FIELDS: Readonly<Record<ScriptType, string>> = Object.freeze({
  sh: 'p2sh',
  'sh-wsh': 'p2sh_p2wsh',
  wsh: 'p2wsh',
  tr: 'p2tr',
});

const ORIGIN_KEY_RE = /\[([0-9a-fA-F]{8})((?:\/\d+['hH]?)*)\]([1-9A-HJ-NP-Za-km-z]{100,120})/u;

/**
 * Reads one cosigner key from a Coldcard multisig xpub export (`ccxp-<XFP>.json`: `xfp`,
 * `p2sh_deriv`/`p2sh`, `p2sh_p2wsh_deriv`/`p2sh_p2wsh`, `p2wsh_deriv`/`p2wsh`, and descriptor
 * templates `*_desc`). SLIP-132 keys (Upub/Vpub/Ypub/Zpub) are re-encoded as xpub/tpub, and the
 * key must agree with the descriptor template when the file has one.
 * @param text - the JSON file
 * @param type - which of the exported keys to take
 * @param network - expected network (checks the key version)
 * @returns the cosigner key string `[xfp/path]tpub...` for {@link createPolicy}
 * @throws InvalidWalletFileError `walletfile.bad_json`, `walletfile.missing_field`, `walletfile.bad_key`,
 *   `walletfile.wrong_network`, `walletfile.path_depth_mismatch`, `walletfile.fingerprint_mismatch`,
 *   `walletfile.inconsistent` (the key differs from the descriptor template)
 * @example parseColdcardXpubExport(text, 'wsh') // "[0f056943/48h/1h/0h/2h]tpubDF2r..."
 */
export function parseColdcardXpubExport(text: string, type: ScriptType, network?: Network): string {
  const json = parseJsonObject(text, 'Coldcard xpub export');
  const prefix = lookup(XPUB_EXPORT_FIELDS, type);
  if (prefix === undefined) throw fileError('walletfile.unsupported_type', `unknown script type '${type as string}'`);
  const fingerprint = parseFingerprint(field(json, 'xfp'), "Coldcard xpub export 'xfp'");
  const xpubText = field(json, prefix);
  const pathText = field(json, `${prefix}_deriv`);
  if (typeof xpubText !== 'string' || typeof pathText !== 'string') {
    throw fileError('walletfile.missing_field', `Coldcard xpub export has no '${prefix}' key with '${prefix}_deriv' path (for ${type})`, {
      details: { field: prefix },
    });
  }
  const path = parseFilePath(pathText, `'${prefix}_deriv'`);
  const where = `'${prefix}'`;
  let xpub: ExtendedPublicKey;
  try {
    xpub = parseExtendedPublicKey(xpubText, network);
  } catch (cause) {
    const reason = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : 'key.invalid';
    throw fileError(reason === 'key.wrong_network' ? 'walletfile.wrong_network' : 'walletfile.bad_key', `Coldcard xpub export ${where}: ${cause instanceof Error ? cause.message : 'invalid key'}`, {
      cause,
      details: { field: prefix, reason },
    });
  }
  if (xpub.depth !== path.length) {
    throw fileError('walletfile.path_depth_mismatch', `Coldcard xpub export ${where} is at depth ${xpub.depth} but its path ${pathText.slice(0, 40)} has ${path.length} steps`);
  }
  if (xpub.depth === 1 && (xpub.parentFingerprint.toString(16).padStart(8, '0') !== fingerprint || xpub.childNumber !== path[0])) {
    throw fileError('walletfile.fingerprint_mismatch', `Coldcard xpub export ${where}: depth-1 key does not come from master ${fingerprint}`);
  }
  const encoded = encodeExtendedPublicKey(xpub, network ?? xpub.versionNetwork);
  const template = field(json, `${prefix}_desc`);
  if (template !== undefined) assertTemplateAgrees(template, prefix, fingerprint, path, xpub);
  const originPath = path.length === 0 ? '' : `/${formatDerivationPath(path, { marker: 'h', prefix: false })}`;
  return `[${fingerprint}${originPath}]${encoded}`;
}

/** The `*_desc` template repeats the key with its origin; a file whose two copies disagree is refused. */
function assertTemplateAgrees(template: unknown, prefix: string, fingerprint: string, path: readonly number[], xpub: ExtendedPublicKey): void {
  const inconsistent = (why: string) =>
    fileError('walletfile.inconsistent', `Coldcard xpub export: '${prefix}_desc' ${why}`, { details: { field: `${prefix}_desc` } });
  if (typeof template !== 'string') throw inconsistent('is not a string');
  const match = ORIGIN_KEY_RE.exec(template);
  if (!match) throw inconsistent('holds no [xfp/path]key expression');
  if (match[1]!.toLowerCase() !== fingerprint) throw inconsistent(`names fingerprint ${match[1]!.toLowerCase()}, the file says ${fingerprint}`);
  const templatePath = match[2] === '' ? [] : parseFilePath(`m${match[2]!}`, `'${prefix}_desc'`);
  if (templatePath.length !== path.length || templatePath.some((s, i) => s !== path[i])) {
    throw inconsistent(`has path ${formatFilePath(templatePath)}, the file says ${formatFilePath(path)}`);
  }
  let other: ExtendedPublicKey;
  try {
    other = parseExtendedPublicKey(match[3]!);
  } catch (cause) {
    throw fileError('walletfile.inconsistent', `Coldcard xpub export: '${prefix}_desc' holds an invalid key`, { cause });
  }
  const same =
    other.depth === xpub.depth &&
    other.childNumber === xpub.childNumber &&
    other.parentFingerprint === xpub.parentFingerprint &&
    other.versionNetwork === xpub.versionNetwork &&
    bytesEqual(other.publicKey, xpub.publicKey) &&
    bytesEqual(other.chainCode, xpub.chainCode);
  if (!same) throw inconsistent(`holds a different key than '${prefix}'`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
