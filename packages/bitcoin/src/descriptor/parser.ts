/**
 * Output descriptor parser (BIP-380 .. BIP-390) producing the {@link Descriptor} tree.
 *
 * Context rules follow the BIPs and Bitcoin Core's reference implementation: `sh()` only at the
 * top, `wsh()` at the top or in `sh()`, `wpkh()` never inside `wsh()`, `multi_a()` only in `tr()`
 * leaves, `musig()` only inside `tr()`/`rawtr()`, compressed keys only under segwit, x-only keys
 * only under `tr()`, and the BIP-383 key-count limits (3 bare, 520-byte P2SH redeem script, 20).
 */
import { InvalidDescriptorError, isMofnError } from '@mofn/core';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { addressToScript } from '../address.ts';
import { neuterNode, parseExtendedPrivateKey, parseExtendedPublicKey, parseWif } from '../keys/index.ts';
import { secp } from '../secp.ts';
import { HARDENED, type Network } from '../types.ts';
import type {
  AddrScript,
  Descriptor,
  HardenedMarker,
  KeyExpr,
  KeyMaterial,
  KeyOriginExpr,
  MultiScript,
  MultipathExpr,
  PathStep,
  ScriptExpr,
  TapTree,
} from './ast.ts';
import { findInvalidDescriptorChar, splitDescriptorChecksum } from './checksum.ts';

/** Options of {@link parseDescriptor}. */
export interface ParseDescriptorOptions {
  /** Reject a descriptor without `#checksum` (`descriptor.missing_checksum`). Default false. */
  readonly requireChecksum?: boolean;
  /**
   * Pin the network: every extended key, WIF and address must belong to it
   * (`descriptor.wrong_network`). Without it, keys of mainnet and test networks may not be mixed.
   */
  readonly network?: Network;
  /**
   * Reject keys that need a private key to derive: a hardened step after an xpub
   * (`descriptor.hardened_after_xpub`). BIP-380 allows them syntactically. Default false.
   */
  readonly requireDerivable?: boolean;
}

/** Where a script expression stands. */
type ScriptCtx = 'top' | 'sh' | 'wsh' | 'tapscript';

/** What a key position accepts. */
interface KeyCtx {
  /** Segwit (v0 or v1): only compressed (or x-only) keys. */
  readonly segwit: boolean;
  /** Inside `tr()`: x-only keys and `musig()` allowed. */
  readonly taproot: boolean;
  /** Inside `musig()`: no nesting, no x-only participants. */
  readonly inMusig: boolean;
  /** The enclosing expression, for messages (e.g. `wpkh()`). */
  readonly where: string;
}

const MINISCRIPT_FRAGMENTS = new Set([
  'pk_k', 'pk_h', 'older', 'after', 'sha256', 'hash256', 'ripemd160', 'hash160', 'andor', 'and_v', 'and_b',
  'and_n', 'or_b', 'or_c', 'or_d', 'or_i', 'thresh', 'multi_a_', 'just_0', 'just_1',
]);
const SLIP132 = new Set(['ypub', 'zpub', 'Ypub', 'Zpub', 'upub', 'vpub', 'Upub', 'Vpub', 'yprv', 'zprv', 'Yprv', 'Zprv', 'uprv', 'vprv', 'Uprv', 'Vprv']);
const MAX_P2SH_SCRIPT = 520; // MAX_SCRIPT_ELEMENT_SIZE: the redeem script is one push (BIP-16)
const MAX_MULTISIG_KEYS = 20; // MAX_PUBKEYS_PER_MULTISIG (OP_CHECKMULTISIG)
const MAX_BARE_MULTISIG_KEYS = 3; // BIP-383: bare multisig is standard only up to 3 keys
const MAX_MULTI_A_KEYS = 999; // BIP-387 (MAX_PUBKEYS_PER_MULTI_A)
const MAX_TAPTREE_DEPTH = 128; // BIP-341 TAPROOT_CONTROL_MAX_NODE_COUNT

function fail(code: string, message: string, at?: number, hint?: string): never {
  throw new InvalidDescriptorError(`descriptor.${code}`, at === undefined ? message : `${message} (at position ${at})`, {
    ...(at === undefined ? {} : { details: { position: at } }),
    ...(hint === undefined ? {} : { hint }),
  });
}

/** A substring with its offset in the descriptor body (for error positions). */
interface Piece {
  readonly text: string;
  readonly at: number;
}

const OPEN: Record<string, string> = { '(': ')', '{': '}', '[': ']' };

/** Splits on commas that are not nested inside (), {} or []. */
function splitTopLevel(p: Piece): Piece[] {
  const out: Piece[] = [];
  const stack: string[] = [];
  let start = 0;
  const s = p.text;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const close = OPEN[c];
    if (close !== undefined) stack.push(close);
    else if (c === ')' || c === '}' || c === ']') {
      if (stack.pop() !== c) fail('syntax', `unbalanced '${c}'`, p.at + i);
    } else if (c === ',' && stack.length === 0) {
      out.push({ text: s.slice(start, i), at: p.at + start });
      start = i + 1;
    }
  }
  if (stack.length > 0) fail('syntax', `missing '${stack[stack.length - 1] ?? ')'}'`, p.at + s.length);
  out.push({ text: s.slice(start), at: p.at + start });
  return out;
}

/** `name(args)` when the whole piece is one call, else undefined. */
function parseCall(p: Piece): { name: string; args: Piece[] } | undefined {
  const s = p.text;
  const open = s.indexOf('(');
  if (open <= 0) return undefined;
  const name = s.slice(0, open);
  if (!/^[A-Za-z0-9_:]+$/.test(name)) return undefined;
  // The parenthesis opened after the name must close at the very end.
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i !== s.length - 1) {
        fail('syntax', `unexpected '${s.slice(i + 1, i + 9)}' after ${name}(...)`, p.at + i + 1);
      }
    }
  }
  if (depth !== 0) fail('syntax', `missing ')' after ${name}(`, p.at + s.length);
  const inner: Piece = { text: s.slice(open + 1, -1), at: p.at + open + 1 };
  return { name, args: inner.text === '' ? [] : splitTopLevel(inner) };
}

function ctxName(ctx: ScriptCtx): string {
  switch (ctx) {
    case 'top':
      return 'the top level';
    case 'sh':
      return 'sh()';
    case 'wsh':
      return 'wsh()';
    case 'tapscript':
      return 'a tr() script leaf';
  }
}

function expectArgs(name: string, args: Piece[], n: number, at: number): void {
  if (args.length !== n) fail('syntax', `${name}() takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`, at);
}

function isHex(s: string): boolean {
  return /^[0-9a-fA-F]*$/.test(s);
}

function hexToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Derivation steps

function parseStep(el: string, at: number, where: string): PathStep {
  const m = /^(\d+)(['h]?)$/.exec(el);
  if (m === null) {
    if (/^\d+H$/.test(el)) {
      fail('bad_path', `'${el}': 'H' is not a hardened marker in descriptors`, at, "write hardened steps as 0h or 0' (BIP-380)");
    }
    if (el === '') fail('bad_path', `empty derivation step in ${where}`, at);
    fail('bad_path', `'${el}' is not a derivation step in ${where}`, at, "a step is a number, optionally followed by h or ' (hardened)");
  }
  const digits = m[1]!;
  if (digits.length > 1 && digits.startsWith('0')) fail('bad_path', `derivation step '${el}' has a leading zero`, at);
  const value = digits.length > 10 ? Infinity : Number(digits);
  if (value >= HARDENED) {
    fail('bad_path', `derivation index ${digits} is out of range (0..2147483647)`, at, "use the hardened marker (h or ') instead of adding 2^31");
  }
  const marker = m[2] as HardenedMarker;
  return { index: marker === '' ? value : value + HARDENED, marker };
}

function parseMultipath(el: string, at: number): PathStep[] {
  if (!el.startsWith('<')) fail('multipath', `missing '<' at the start of multipath step '${el}'`, at);
  if (!el.endsWith('>')) fail('multipath', `missing '>' at the end of multipath step '${el}'`, at);
  const inner = el.slice(1, -1);
  if (inner === '') fail('multipath', 'empty multipath step <>', at);
  const parts = inner.split(';');
  if (parts.length < 2) fail('multipath', `multipath step '${el}' needs at least two values`, at);
  const steps: PathStep[] = [];
  let o = at + 1;
  for (const part of parts) {
    if (part === '') fail('multipath', `missing index in multipath step '${el}'`, o);
    if (part.includes('<') || part.includes('>')) fail('multipath', `nested '<' or '>' in multipath step '${el}'`, o);
    const step = parseStep(part, o, 'a multipath step');
    // BIP-389: "Duplicate NUMs within a tuple are not allowed."
    if (steps.some((s) => s.index === step.index)) fail('multipath', `duplicate value ${part} in multipath step '${el}'`, o);
    steps.push(step);
    o += part.length + 1;
  }
  return steps;
}

interface ParsedPath {
  path: PathStep[];
  multipath: MultipathExpr | undefined;
  wildcard: KeyExpr['wildcard'];
  wildcardMarker: HardenedMarker;
}

function parsePathElements(elements: readonly string[], at: number): ParsedPath {
  const path: PathStep[] = [];
  let multipath: MultipathExpr | undefined;
  let wildcard: KeyExpr['wildcard'] = 'none';
  let wildcardMarker: HardenedMarker = '';
  let o = at;
  elements.forEach((el, i) => {
    if (el.startsWith('*')) {
      if (i !== elements.length - 1) fail('bad_path', "'*' must be the last derivation step", o);
      if (el === '*') wildcard = 'unhardened';
      else if (el === "*'" || el === '*h') {
        wildcard = 'hardened';
        wildcardMarker = el[1] as HardenedMarker;
      } else if (el === '*H') fail('bad_path', "'*H': 'H' is not a hardened marker in descriptors", o, "write *h or *'");
      else fail('bad_path', `'${el}' is not a valid wildcard`, o);
    } else if (el.includes('<') || el.includes('>') || el.includes(';')) {
      if (multipath !== undefined) fail('multipath', 'only one multipath step <..;..> is allowed per key (BIP-389)', o);
      multipath = { position: path.length, steps: parseMultipath(el, o) };
    } else {
      path.push(parseStep(el, o, 'a key path'));
    }
    o += el.length + 1;
  });
  return { path, multipath, wildcard, wildcardMarker };
}

function parseOrigin(text: string, at: number): KeyOriginExpr {
  const parts = text.split('/');
  const fingerprint = parts[0]!;
  if (!/^[0-9a-fA-F]{8}$/.test(fingerprint)) {
    fail('bad_key', `key origin fingerprint '${fingerprint}' must be exactly 8 hex characters`, at);
  }
  const path: PathStep[] = [];
  let o = at + fingerprint.length + 1;
  for (const el of parts.slice(1)) {
    if (el.startsWith('*')) fail('bad_path', "a key origin cannot contain '*'", o);
    if (el.includes('<') || el.includes(';') || el.includes('>')) fail('multipath', 'a key origin cannot contain a multipath step (BIP-389)', o);
    path.push(parseStep(el, o, 'a key origin'));
    o += el.length + 1;
  }
  return { fingerprint, path };
}

// ---------------------------------------------------------------------------------------------
// Keys

function wrapKeyError(err: unknown, text: string, at: number): never {
  if (isMofnError(err) && err.code.startsWith('descriptor.')) throw err;
  const reason = err instanceof Error ? err.message : String(err);
  throw new InvalidDescriptorError('descriptor.bad_key', `invalid key '${abbreviate(text)}': ${reason} (at position ${at})`, {
    cause: err,
    details: { position: at },
  });
}

function abbreviate(s: string): string {
  return s.length > 24 ? `${s.slice(0, 12)}...${s.slice(-8)}` : s;
}

function decodeKeyMaterial(body: string, at: number, kctx: KeyCtx): KeyMaterial {
  if (body === '') fail('bad_key', `missing key in ${kctx.where}`, at);
  if (body.includes(' ')) fail('bad_key', `unexpected space in key '${abbreviate(body)}'`, at + body.indexOf(' '));
  if (isHex(body)) {
    if (body.length === 66) {
      const bytes = hexToBytes(body);
      if ((bytes[0] !== 2 && bytes[0] !== 3) || !secp.isPoint(bytes)) fail('bad_key', `'${abbreviate(body)}' is not a valid compressed public key`, at);
      return { kind: 'hex', bytes, format: 'compressed', text: body };
    }
    if (body.length === 130) {
      const bytes = hexToBytes(body);
      if (bytes[0] !== 4 || !secp.isPoint(bytes)) fail('bad_key', `'${abbreviate(body)}' is not a valid uncompressed public key`, at);
      return { kind: 'hex', bytes, format: 'uncompressed', text: body };
    }
    if (body.length === 64) {
      if (!kctx.taproot || kctx.inMusig) {
        fail('bad_key', `x-only key '${abbreviate(body)}' is only allowed inside tr() (BIP-386)`, at, 'use the 33-byte compressed form (02/03 prefix)');
      }
      const bytes = hexToBytes(body);
      const lifted = new Uint8Array(33);
      lifted[0] = 2;
      lifted.set(bytes, 1);
      if (!secp.isPoint(lifted)) fail('bad_key', `'${abbreviate(body)}' is not a valid x-only public key`, at);
      return { kind: 'hex', bytes, format: 'xonly', text: body };
    }
    fail('bad_key', `hex key '${abbreviate(body)}' has ${body.length} characters: expected 66 (compressed), 130 (uncompressed) or 64 (x-only, in tr())`, at);
  }
  const prefix = body.slice(0, 4);
  if (prefix === 'xpub' || prefix === 'tpub') {
    try {
      const xpub = parseExtendedPublicKey(body);
      return { kind: 'xkey', xpub, privateKey: undefined, versionNetwork: xpub.versionNetwork, text: body };
    } catch (err) {
      wrapKeyError(err, body, at);
    }
  }
  if (prefix === 'xprv' || prefix === 'tprv') {
    try {
      const { node, versionNetwork } = parseExtendedPrivateKey(body);
      const xpub = neuterNode(node);
      return { kind: 'xkey', xpub: { ...xpub, versionNetwork }, privateKey: node.privateKey, versionNetwork, text: body };
    } catch (err) {
      wrapKeyError(err, body, at);
    }
  }
  if (SLIP132.has(prefix)) {
    fail('bad_key', `'${prefix}' (SLIP-132) keys are not allowed in descriptors`, at, 'convert it to xpub/tpub: the descriptor already states the script type');
  }
  let wif: ReturnType<typeof parseWif> | undefined;
  let wifError: unknown;
  try {
    wif = parseWif(body);
  } catch (err) {
    wifError = err;
  }
  if (wif !== undefined) {
    let publicKey: Uint8Array;
    try {
      const pub33 = secp.publicKey(wif.privateKey);
      publicKey = wif.compressed ? pub33 : secp256k1.Point.fromBytes(pub33).toBytes(false);
    } catch (err) {
      wrapKeyError(err, body, at);
    }
    return { kind: 'wif', privateKey: wif.privateKey, compressed: wif.compressed, publicKey, versionNetwork: wif.versionNetwork, text: body };
  }
  if (isMofnError(wifError) && wifError.code === 'key.bad_checksum') fail('bad_key', `key '${abbreviate(body)}' has a bad base58 checksum`, at);
  return fail('bad_key', `'${abbreviate(body)}' is not a public key, WIF private key, xpub or xprv`, at);
}

function isUncompressed(m: KeyMaterial): boolean {
  return (m.kind === 'hex' && m.format === 'uncompressed') || (m.kind === 'wif' && !m.compressed);
}

function parseKeyExpr(p: Piece, kctx: KeyCtx): KeyExpr {
  let s = p.text;
  let at = p.at;
  let origin: KeyOriginExpr | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail('bad_key', "key origin is missing its closing ']'", at);
    origin = parseOrigin(s.slice(1, close), at + 1);
    s = s.slice(close + 1);
    at += close + 1;
    if (s.startsWith('[')) fail('bad_key', 'a key can have only one key origin', at);
  }
  if (s.startsWith('musig(')) return parseMusig({ text: s, at }, kctx, origin);
  if (s.includes(']')) fail('bad_key', "key origin is missing its opening '['", at);
  if (s.includes('(')) {
    const name = s.slice(0, s.indexOf('('));
    fail('bad_context', `${kctx.where} expects a key expression, got the script expression ${name}()`, at);
  }
  const slash = s.indexOf('/');
  const body = slash < 0 ? s : s.slice(0, slash);
  const material = decodeKeyMaterial(body, at, kctx);
  const elements = slash < 0 ? [] : s.slice(slash + 1).split('/');
  if (material.kind !== 'xkey' && elements.length > 0) {
    fail('bad_key', `derivation steps after a key that is not an extended key ('${abbreviate(body)}')`, at + body.length);
  }
  if (kctx.segwit && isUncompressed(material)) {
    fail('uncompressed_in_segwit', `uncompressed key '${abbreviate(body)}' in ${kctx.where}: segwit requires compressed keys`, at);
  }
  const parsed = parsePathElements(elements, at + body.length + 1);
  return freezeKey({ origin, key: material, ...parsed });
}

function freezeKey(k: KeyExpr): KeyExpr {
  return Object.freeze(k);
}

function parseMusig(p: Piece, kctx: KeyCtx, origin: KeyOriginExpr | undefined): KeyExpr {
  if (kctx.inMusig) fail('musig', 'musig() cannot be nested inside musig() (BIP-390)', p.at);
  if (!kctx.taproot) fail('bad_context', `musig() is not allowed in ${kctx.where}: only inside tr() (BIP-390)`, p.at);
  if (origin !== undefined) fail('musig', 'musig() cannot have a key origin', p.at);
  const s = p.text;
  let depth = 0;
  let close = -1;
  for (let i = 5; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    }
  }
  if (close < 0) fail('syntax', "musig( is missing its ')'", p.at + s.length);
  const inner: Piece = { text: s.slice(6, close), at: p.at + 6 };
  if (inner.text === '') fail('musig', 'musig() needs at least one key', p.at);
  const pctx: KeyCtx = { segwit: true, taproot: false, inMusig: true, where: 'musig()' };
  const participants = splitTopLevel(inner).map((a) => parseKeyExpr(a, pctx));
  const rest = s.slice(close + 1);
  if (rest !== '' && !rest.startsWith('/')) fail('syntax', `unexpected '${rest.slice(0, 8)}' after musig(...)`, p.at + close + 1);
  const parsed = parsePathElements(rest === '' ? [] : rest.slice(1).split('/'), p.at + close + 2);
  const derived = parsed.path.length > 0 || parsed.multipath !== undefined || parsed.wildcard !== 'none';
  if (derived) {
    // BIP-390: derivation after musig() is BIP-328 unhardened derivation of the aggregate key,
    // and then participants must be extended keys without their own /* child derivation.
    for (const q of participants) {
      if (q.key.kind !== 'xkey') fail('musig', 'derivation after musig() requires every participant to be an extended key (BIP-390)', p.at);
      if (q.wildcard !== 'none') fail('musig', 'participants cannot have /* when musig() itself has derivation steps (BIP-390)', p.at);
      if (q.multipath !== undefined && parsed.multipath !== undefined) {
        fail('multipath', 'multipath steps both inside and after musig() are not allowed', p.at);
      }
    }
    const steps = parsed.multipath === undefined ? parsed.path : [...parsed.path, ...parsed.multipath.steps];
    if (steps.some((st) => st.index >= HARDENED) || parsed.wildcard === 'hardened') {
      fail('musig', 'musig() has no private key: derivation after it cannot be hardened (BIP-390, BIP-328)', p.at);
    }
  }
  return freezeKey({ origin: undefined, key: Object.freeze({ kind: 'musig', participants: Object.freeze(participants) }), ...parsed });
}

// ---------------------------------------------------------------------------------------------
// Scripts

function keyCtxFor(ctx: ScriptCtx, where: string): KeyCtx {
  return { segwit: ctx === 'wsh' || ctx === 'tapscript', taproot: ctx === 'tapscript', inMusig: false, where };
}

function parseThreshold(p: Piece, name: string): number {
  if (!/^(0|[1-9]\d{0,5})$/.test(p.text)) fail('bad_threshold', `${name}() threshold '${p.text}' is not a number`, p.at);
  return Number(p.text);
}

function keyScriptBytes(k: KeyExpr): number {
  // Size of the key push in a legacy script: uncompressed keys take 65 bytes, all others 33.
  return isUncompressed(k.key) ? 66 : 34;
}

function parseMulti(name: MultiScript['type'], args: Piece[], ctx: ScriptCtx, at: number): MultiScript {
  const tap = name === 'multi_a' || name === 'sortedmulti_a';
  if (tap && ctx !== 'tapscript') {
    fail('bad_context', `${name}() is not allowed in ${ctxName(ctx)}: only in tr() script leaves (BIP-387)`, at);
  }
  if (!tap && ctx === 'tapscript') fail('bad_context', `${name}() is not allowed in tapscript: use ${name}_a() (BIP-387)`, at);
  if (args.length < 2) fail('syntax', `${name}() needs a threshold and at least one key`, at);
  const threshold = parseThreshold(args[0]!, name);
  const n = args.length - 1;
  if (threshold < 1) fail('bad_threshold', `${name}() threshold must be at least 1, got ${threshold}`, args[0]!.at);
  if (threshold > n) fail('bad_threshold', `${name}() threshold ${threshold} is larger than the number of keys (${n})`, args[0]!.at);
  if (tap) {
    if (n > MAX_MULTI_A_KEYS) fail('too_many_keys', `${name}() has ${n} keys; at most ${MAX_MULTI_A_KEYS} are allowed (BIP-387)`, at);
  } else {
    if (n > MAX_MULTISIG_KEYS) fail('too_many_keys', `${name}() has ${n} keys; OP_CHECKMULTISIG allows at most ${MAX_MULTISIG_KEYS}`, at);
    if (ctx === 'top' && n > MAX_BARE_MULTISIG_KEYS) {
      fail('too_many_keys', `bare ${name}() has ${n} keys; at most ${MAX_BARE_MULTISIG_KEYS} at the top level (BIP-383)`, at, 'wrap it in sh() or wsh()');
    }
  }
  const kctx = keyCtxFor(ctx, `${name}()`);
  const keys = args.slice(1).map((a) => parseKeyExpr(a, kctx));
  if (ctx === 'sh') {
    // The redeem script is pushed as one element of at most 520 bytes (BIP-16), which limits
    // sh(multi()) to 15 compressed keys: OP_k + n * (1 + 33) + OP_n + OP_CHECKMULTISIG.
    let size = 3;
    for (const k of keys) size += keyScriptBytes(k);
    if (size > MAX_P2SH_SCRIPT) {
      fail('too_many_keys', `sh(${name}()) with ${n} keys makes a ${size}-byte redeem script; P2SH allows ${MAX_P2SH_SCRIPT} bytes (at most 15 compressed keys)`, at, 'use wsh() or sh(wsh()) for more keys');
    }
  }
  assertNoDuplicateKeys(keys, name, at, tap);
  return Object.freeze({ type: name, threshold, keys: Object.freeze(keys) });
}

function pathId(k: KeyExpr): string {
  const steps = k.path.map((s) => s.index);
  const mp = k.multipath === undefined ? '' : `<${k.multipath.position}:${k.multipath.steps.map((s) => s.index).join(';')}>`;
  return `${steps.join('/')}${mp}/${k.wildcard}`;
}

/** Identity of key material as it will appear in the script: x-only under tapscript. */
function materialId(m: KeyMaterial, xonly: boolean): string {
  const id = (b: Uint8Array): string => toHex(xonly && b.length === 33 ? b.subarray(1) : b);
  switch (m.kind) {
    case 'hex':
      return id(m.bytes);
    case 'wif':
      return id(m.publicKey);
    case 'xkey':
      return `${id(m.xpub.publicKey)}:${toHex(m.xpub.chainCode)}`;
    case 'musig':
      return `musig(${m.participants.map((q) => keyId(q, false)).join(',')})`;
  }
}

function keyId(k: KeyExpr, xonly: boolean): string {
  return `${materialId(k.key, xonly)}|${pathId(k)}`;
}

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function assertNoDuplicateKeys(keys: readonly KeyExpr[], name: string, at: number, xonly: boolean): void {
  // The same key with the same derivation twice in one multisig counts one signer twice, which
  // silently lowers the real threshold. (The same key in two serialisations is a different
  // script push and stays allowed, as in BIP-383's own vectors.)
  const seen = new Map<string, number>();
  keys.forEach((k, i) => {
    const id = keyId(k, xonly);
    const first = seen.get(id);
    if (first !== undefined) {
      fail('duplicate_key', `${name}() lists the same key twice (keys ${first + 1} and ${i + 1})`, at, 'each cosigner must contribute a distinct key');
    }
    seen.set(id, i);
  });
}

function parseTree(p: Piece, depth: number): TapTree {
  if (depth > MAX_TAPTREE_DEPTH) fail('tree_too_deep', `script tree deeper than ${MAX_TAPTREE_DEPTH} levels (BIP-341)`, p.at);
  if (p.text.startsWith('{')) {
    if (!p.text.endsWith('}')) fail('syntax', "script tree branch is missing its closing '}'", p.at + p.text.length);
    const parts = splitTopLevel({ text: p.text.slice(1, -1), at: p.at + 1 });
    if (parts.length !== 2) fail('syntax', `a script tree branch {A,B} has exactly two children, got ${parts.length}`, p.at);
    return Object.freeze({ type: 'branch', left: parseTree(parts[0]!, depth + 1), right: parseTree(parts[1]!, depth + 1) });
  }
  return Object.freeze({ type: 'leaf', script: parseScriptExpr(p, 'tapscript') });
}

function looksLikeKey(s: string): boolean {
  return s.startsWith('[') || /^[0-9a-fA-F]{64,130}$/.test(s) || /^[xt](pub|prv)/.test(s) || /^[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}$/.test(s);
}

function parseScriptExpr(p: Piece, ctx: ScriptCtx): ScriptExpr {
  const call = parseCall(p);
  if (call === undefined) {
    if (p.text === '') fail('syntax', `missing script expression in ${ctxName(ctx)}`, p.at);
    const trimmed = p.text.trim();
    if (trimmed !== p.text && trimmed !== '') {
      // Report what is wrong with the expression itself first (e.g. pkh() in a tr() leaf); if
      // nothing is, the stray space is the error.
      parseScriptExpr({ text: trimmed, at: p.at + p.text.indexOf(trimmed) }, ctx);
      fail('syntax', 'unexpected space in the descriptor', p.at);
    }
    if (looksLikeKey(p.text)) fail('bad_context', `${ctxName(ctx)} expects a script expression, got a key`, p.at, ctx === 'top' ? 'wrap the key, e.g. wpkh(KEY)' : undefined);
    fail('syntax', `'${abbreviate(p.text)}' is not a script expression`, p.at);
  }
  const { name, args } = call;
  const at = p.at;
  const only = (allowed: readonly ScriptCtx[], why: string): void => {
    if (!allowed.includes(ctx)) fail('bad_context', `${name}() is not allowed in ${ctxName(ctx)}: ${why}`, at);
  };
  switch (name) {
    case 'pk': {
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'pk', key: parseKeyExpr(args[0]!, keyCtxFor(ctx, 'pk()')) });
    }
    case 'pkh': {
      only(['top', 'sh', 'wsh'], 'pkh() is allowed at the top level, in sh() or in wsh() (BIP-381)');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'pkh', key: parseKeyExpr(args[0]!, keyCtxFor(ctx, 'pkh()')) });
    }
    case 'wpkh': {
      only(['top', 'sh'], 'wpkh() is allowed at the top level or in sh() (BIP-382)');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'wpkh', key: parseKeyExpr(args[0]!, { segwit: true, taproot: false, inMusig: false, where: 'wpkh()' }) });
    }
    case 'combo': {
      only(['top'], 'combo() is top level only (BIP-384)');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'combo', key: parseKeyExpr(args[0]!, keyCtxFor('top', 'combo()')) });
    }
    case 'sh': {
      only(['top'], 'sh() is top level only (BIP-381)');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'sh', inner: parseScriptExpr(args[0]!, 'sh') });
    }
    case 'wsh': {
      only(['top', 'sh'], 'wsh() is allowed at the top level or in sh() (BIP-382)');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'wsh', inner: parseScriptExpr(args[0]!, 'wsh') });
    }
    case 'multi':
    case 'sortedmulti':
    case 'multi_a':
    case 'sortedmulti_a':
      return parseMulti(name, args, ctx, at);
    case 'tr': {
      only(['top'], 'tr() is top level only (BIP-386)');
      if (args.length !== 1 && args.length !== 2) fail('syntax', `tr() takes a key and an optional script tree, got ${args.length} arguments`, at);
      const internalKey = parseKeyExpr(args[0]!, { segwit: true, taproot: true, inMusig: false, where: 'tr()' });
      const tree = args.length === 2 ? parseTree(args[1]!, 0) : undefined;
      return Object.freeze({ type: 'tr', internalKey, tree });
    }
    case 'rawtr': {
      only(['top'], 'rawtr() is top level only');
      expectArgs(name, args, 1, at);
      return Object.freeze({ type: 'rawtr', key: parseKeyExpr(args[0]!, { segwit: true, taproot: true, inMusig: false, where: 'rawtr()' }) });
    }
    case 'raw': {
      only(['top'], 'raw() is top level only (BIP-385)');
      expectArgs(name, args, 1, at);
      const hex = args[0]!.text;
      if (hex === '' || hex.length % 2 !== 0 || !isHex(hex)) fail('bad_script', `raw() script '${abbreviate(hex)}' is not hex`, args[0]!.at);
      return Object.freeze({ type: 'raw', script: hexToBytes(hex), text: hex });
    }
    case 'addr': {
      only(['top'], 'addr() is top level only (BIP-385)');
      expectArgs(name, args, 1, at);
      return parseAddr(args[0]!);
    }
    case 'musig':
      return fail('bad_context', `musig() is a key expression, not allowed as a script in ${ctxName(ctx)} (BIP-390: only as a key inside tr())`, at);
    default:
      if (name.includes(':') || MINISCRIPT_FRAGMENTS.has(name)) {
        return fail('unsupported', `miniscript fragment '${name}' is not supported`, at, 'mofn reads BIP-380..390 descriptors; miniscript policies are not supported yet');
      }
      return fail('syntax', `unknown script expression '${name}()'`, at);
  }
}

const ADDRESS_NETWORKS: readonly ('main' | 'test' | 'regtest')[] = ['main', 'test', 'regtest'];

function parseAddr(p: Piece): AddrScript {
  let lastError: unknown;
  for (const network of ADDRESS_NETWORKS) {
    try {
      const scriptPubKey = addressToScript(p.text, network);
      return Object.freeze({ type: 'addr', address: p.text, scriptPubKey, network });
    } catch (err) {
      lastError = err;
      if (isMofnError(err) && err.code !== 'address.wrong_network') break;
    }
  }
  throw new InvalidDescriptorError('descriptor.bad_address', `addr(): '${abbreviate(p.text)}' is not a valid address (at position ${p.at})`, {
    cause: lastError,
    details: { position: p.at },
  });
}

// ---------------------------------------------------------------------------------------------
// Whole-descriptor checks

/** Every key expression of a script, musig participants after their aggregate. */
export function descriptorKeys(script: ScriptExpr): KeyExpr[] {
  const out: KeyExpr[] = [];
  const addKey = (k: KeyExpr): void => {
    out.push(k);
    if (k.key.kind === 'musig') for (const q of k.key.participants) addKey(q);
  };
  const visit = (s: ScriptExpr): void => {
    switch (s.type) {
      case 'pk':
      case 'pkh':
      case 'wpkh':
      case 'combo':
      case 'rawtr':
        addKey(s.key);
        break;
      case 'sh':
      case 'wsh':
        visit(s.inner);
        break;
      case 'multi':
      case 'sortedmulti':
      case 'multi_a':
      case 'sortedmulti_a':
        s.keys.forEach(addKey);
        break;
      case 'tr': {
        addKey(s.internalKey);
        const walk = (t: TapTree): void => {
          if (t.type === 'leaf') visit(t.script);
          else {
            walk(t.left);
            walk(t.right);
          }
        };
        if (s.tree !== undefined) walk(s.tree);
        break;
      }
      case 'raw':
      case 'addr':
        break;
    }
  };
  visit(script);
  return out;
}

/** Number of descriptors a multipath descriptor stands for (1 when it has no `<..;..>` step). */
export function multipathCount(script: ScriptExpr): number {
  let n = 1;
  for (const k of descriptorKeys(script)) if (k.multipath !== undefined) n = k.multipath.steps.length;
  return n;
}

/** True if some key ends in `/*`: the descriptor stands for one script per child index. */
export function isRangedDescriptor(d: Descriptor): boolean {
  return descriptorKeys(d.script).some((k) => k.wildcard !== 'none');
}

function versionNetworkOfKey(k: KeyExpr): 'main' | 'test' | undefined {
  return k.key.kind === 'xkey' || k.key.kind === 'wif' ? k.key.versionNetwork : undefined;
}

function checkWhole(script: ScriptExpr, options: ParseDescriptorOptions): void {
  const keys = descriptorKeys(script);
  // BIP-389: every multipath step of a descriptor has the same number of values.
  let length: number | undefined;
  for (const k of keys) {
    if (k.multipath === undefined) continue;
    const n = k.multipath.steps.length;
    if (length !== undefined && n !== length) fail('multipath', `multipath steps of different lengths (${length} and ${n}) in one descriptor (BIP-389)`);
    length = n;
  }
  const networks = new Set<'main' | 'test'>();
  for (const k of keys) {
    const n = versionNetworkOfKey(k);
    if (n !== undefined) networks.add(n);
  }
  if (script.type === 'addr') networks.add(script.network === 'main' ? 'main' : 'test');
  if (options.network !== undefined) {
    const want = options.network === 'main' ? 'main' : 'test';
    for (const n of networks) {
      if (n !== want) fail('wrong_network', `the descriptor has ${n === 'main' ? 'mainnet' : 'test-network'} keys, expected ${options.network}`, undefined, 'xpub/xprv are mainnet, tpub/tprv every test network');
    }
    if (script.type === 'addr') {
      try {
        addressToScript(script.address, options.network);
      } catch (err) {
        throw new InvalidDescriptorError('descriptor.wrong_network', `address ${script.address} is not a ${options.network} address`, { cause: err });
      }
    }
  } else if (networks.size > 1) {
    fail('mixed_networks', 'the descriptor mixes mainnet and test-network keys', undefined, 'all keys must be xpub (mainnet) or all tpub (test networks)');
  }
  if (options.requireDerivable) {
    for (const k of keys) {
      if (k.key.kind === 'xkey' && k.key.privateKey === undefined && hasHardenedDerivation(k)) {
        fail('hardened_after_xpub', `key ${abbreviate(k.key.text)} has a hardened step after the xpub: it cannot be derived without the private key`, undefined, 'export the xpub at the last hardened step and move those steps into the key origin');
      }
    }
  }
}

/** True if deriving `k` needs a hardened step after its extended key. Never throws. */
export function hasHardenedDerivation(k: KeyExpr): boolean {
  return (
    k.path.some((s) => s.index >= HARDENED) ||
    (k.multipath?.steps.some((s) => s.index >= HARDENED) ?? false) ||
    k.wildcard === 'hardened'
  );
}

/**
 * Parses an output descriptor (BIP-380 .. BIP-390) into its syntax tree.
 * @param text - `SCRIPT` or `SCRIPT#checksum`
 * @param options - checksum requirement, network pin, derivability requirement
 * @returns the frozen tree; {@link printDescriptor} gives back `text` exactly
 * @throws InvalidDescriptorError with code `descriptor.syntax`, `descriptor.bad_checksum`,
 *   `descriptor.missing_checksum`, `descriptor.bad_key`, `descriptor.bad_path`, `descriptor.bad_context`,
 *   `descriptor.bad_threshold`, `descriptor.too_many_keys`, `descriptor.duplicate_key`,
 *   `descriptor.uncompressed_in_segwit`, `descriptor.multipath`, `descriptor.musig`,
 *   `descriptor.mixed_networks`, `descriptor.wrong_network`, `descriptor.hardened_after_xpub`,
 *   `descriptor.bad_script`, `descriptor.bad_address`, `descriptor.tree_too_deep`, `descriptor.unsupported`
 * @example parseDescriptor("wsh(sortedmulti(2,[deadbeef/48h/1h/0h/2h]tpub.../<0;1>/*,...))")
 */
export function parseDescriptor(text: string, options: ParseDescriptorOptions = {}): Descriptor {
  if (typeof text !== 'string') fail('syntax', 'a descriptor must be a string');
  if (text.length > 1_000_000) fail('syntax', `descriptor of ${text.length} characters is too long`);
  const { body, checksum } = splitDescriptorChecksum(text, options);
  const script = parseScriptExpr({ text: body, at: 0 }, 'top');
  checkWhole(script, options);
  return Object.freeze({ script, checksum });
}

/**
 * Parses a single KEY expression (BIP-380), as found inside a descriptor.
 * @param text - e.g. `[deadbeef/48h/0h/0h/2h]xpub.../<0;1>/*`
 * @param context - `tr` to allow x-only keys and musig(); `segwit` to require compressed keys
 * @throws InvalidDescriptorError as {@link parseDescriptor}
 */
export function parseKeyExpression(text: string, context: 'legacy' | 'segwit' | 'tr' = 'legacy'): KeyExpr {
  const bad = findInvalidDescriptorChar(text);
  const at = bad >= 0 ? bad : text.indexOf('#');
  if (at >= 0) fail('syntax', `invalid character '${text[at] ?? ''}' in a key expression`, at);
  const body = text;
  const kctx: KeyCtx = { segwit: context !== 'legacy', taproot: context === 'tr', inMusig: false, where: 'a key expression' };
  const k = parseKeyExpr({ text: body, at: 0 }, kctx);
  if (k.key.kind === 'musig') checkWhole({ type: 'rawtr', key: k }, {});
  return k;
}
