/**
 * mofn's multisig wallet policies: the four forms mofn builds, created from cosigner keys or read
 * from a descriptor, printed as a canonical descriptor and identified by its hash.
 *
 * Forms (branch 0 = receive, 1 = change; every key `xpub/<0;1>/*`):
 *   sh((sorted)multi(M, ...))          legacy P2SH, at most 15 keys (520-byte redeem script)
 *   wsh((sorted)multi(M, ...))         P2WSH, at most 20 keys (OP_CHECKMULTISIG)
 *   sh(wsh((sorted)multi(M, ...)))     P2SH-P2WSH, at most 20 keys
 *   tr(NUMS, (sorted)multi_a(M, ...))  taproot script path only (BIP-341 NUMS internal key), at most 999 keys
 */
import { InvalidDescriptorError, compareBytes, equalBytes } from '@mofn/core';
import { sha256 } from '../hash.ts';
import { encodeExtendedPublicKey, parseExtendedPublicKey, parseKeyOrigin } from '../keys/index.ts';
import { isNetwork } from '../network.ts';
import { HARDENED, type CosignerKey, type KeyOrigin, type MultisigPolicy, type Network, type ScriptType } from '../types.ts';
import type { KeyExpr, MultiScript, ScriptExpr } from '../descriptor/ast.ts';
import { parseDescriptor } from '../descriptor/parser.ts';
import { addDescriptorChecksum } from '../descriptor/checksum.ts';

/** Largest N per script type: P2SH's 520-byte redeem script fits 15 compressed keys
 * (3 + 15 * 34 = 513 bytes), OP_CHECKMULTISIG takes 20, BIP-387 multi_a 999. */
export const MAX_KEYS: Readonly<Record<ScriptType, number>> = Object.freeze({ sh: 15, wsh: 20, 'sh-wsh': 20, tr: 999 });

const SCRIPT_TYPES: readonly ScriptType[] = ['sh', 'wsh', 'sh-wsh', 'tr'];
const NUMS_HEX = '50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0';

interface RefuseOptions {
  readonly hint?: string | undefined;
  readonly details?: Record<string, unknown>;
}

function refuse(code: string, message: string, options: RefuseOptions = {}): never {
  throw new InvalidDescriptorError(code, message, {
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    ...(options.details === undefined ? {} : { details: options.details }),
  });
}

/** Parameters of {@link createPolicy}. */
export interface CreatePolicyParams {
  readonly type: ScriptType;
  readonly threshold: number;
  /** Cosigner keys: `[fingerprint/path]xpub` or a bare xpub (SLIP-132 Ypub/Zpub/Vpub... accepted). */
  readonly keys: readonly string[];
  readonly network: Network;
  /** BIP-67 sorted keys (sortedmulti / sortedmulti_a). Default true. */
  readonly sorted?: boolean;
}

function parseCosigner(text: string, network: Network, position: number): CosignerKey {
  if (typeof text !== 'string') refuse('policy.bad_key', `key ${position + 1} is not a string`);
  const t = text.trim();
  let origin: KeyOrigin | undefined;
  let rest = t;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) refuse('policy.bad_key', `key ${position + 1}: key origin is missing its closing ']'`);
    origin = parseKeyOrigin(t.slice(0, close + 1));
    rest = t.slice(close + 1);
  }
  if (rest.includes('/')) {
    refuse('policy.bad_key', `key ${position + 1}: give the account xpub without a derivation suffix ('${rest.slice(rest.indexOf('/'))}')`, {
      hint: 'mofn derives <0;1>/* below each account key itself',
    });
  }
  const xpub = parseExtendedPublicKey(rest, network);
  return Object.freeze({ origin: origin === undefined ? undefined : Object.freeze({ fingerprint: origin.fingerprint, path: Object.freeze([...origin.path]) }), xpub });
}

/** Validates and freezes a policy; shared by {@link createPolicy} and {@link policyFromDescriptor}. */
function buildPolicy(type: ScriptType, threshold: number, keys: readonly CosignerKey[], network: Network, sorted: boolean): MultisigPolicy {
  if (!SCRIPT_TYPES.includes(type)) refuse('policy.bad_type', `unknown script type '${type}'`, { hint: `use one of ${SCRIPT_TYPES.join(', ')}` });
  if (!isNetwork(network)) refuse('policy.bad_network', `unknown network '${String(network)}'`, { hint: 'use main, test, signet or regtest' });
  const n = keys.length;
  if (n === 0) refuse('policy.no_keys', 'a wallet needs at least one cosigner key');
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > n) {
    refuse('policy.bad_threshold', `threshold ${String(threshold)} is outside 1..${n} for ${n} key${n === 1 ? '' : 's'}`, {
      details: { threshold, keys: n },
      hint: 'M-of-N needs 1 <= M <= N',
    });
  }
  const max = MAX_KEYS[type];
  if (n > max) {
    const why = type === 'sh' ? 'P2SH redeem scripts are limited to 520 bytes' : type === 'tr' ? 'BIP-387 allows 999 keys' : 'OP_CHECKMULTISIG takes at most 20 keys';
    refuse('policy.too_many_keys', `${n} keys is too many for ${type}: at most ${max} (${why})`, {
      details: { keys: n, max, type },
      hint: type === 'sh' ? 'use wsh or sh-wsh for 16 to 20 keys, tr beyond' : type === 'tr' ? undefined : 'use tr (multi_a) for more than 20 keys',
    });
  }
  // Cosigners are told apart by public key only: a fingerprint is a label the user may get wrong,
  // while the same xpub twice would let one person count as two signers.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (equalBytes(keys[i]!.xpub.publicKey, keys[j]!.xpub.publicKey)) {
        refuse('policy.duplicate_key', `cosigners ${j + 1} and ${i + 1} have the same public key`, {
          details: { first: j, second: i },
          hint: 'each cosigner must contribute a distinct account key',
        });
      }
    }
  }
  for (const k of keys) {
    if (k.xpub.versionNetwork !== (network === 'main' ? 'main' : 'test')) {
      refuse('policy.wrong_network', `a ${k.xpub.versionNetwork === 'main' ? 'mainnet' : 'test-network'} key in a ${network} wallet`);
    }
  }
  return Object.freeze({ type, threshold, sorted, network, keys: Object.freeze([...keys]) });
}

/**
 * Checks a policy object (possibly built by hand) against the rules of {@link createPolicy}.
 * @throws InvalidDescriptorError `policy.*` as {@link createPolicy}
 */
export function assertPolicy(policy: MultisigPolicy): void {
  if (typeof policy !== 'object' || policy === null || !Array.isArray(policy.keys)) refuse('policy.invalid', 'not a multisig policy');
  buildPolicy(policy.type, policy.threshold, policy.keys, policy.network, policy.sorted);
}

/**
 * Creates a multisig policy from cosigner account keys.
 * @param params - script type, threshold M, cosigner keys, network and BIP-67 sorting (default on)
 * @returns the frozen policy
 * @throws InvalidDescriptorError `policy.bad_threshold` (M = 0 or M > N), `policy.too_many_keys`
 *   (N > 15 for sh, > 20 for wsh/sh-wsh, > 999 for tr), `policy.duplicate_key`, `policy.bad_key`,
 *   `policy.bad_type`, `policy.bad_network`, `policy.no_keys`;
 *   InvalidKeyError `key.wrong_network`, `key.private_key`, `key.bad_checksum`, `key.invalid`,
 *   `key.invalid_origin` from the key parsers
 * @example createPolicy({ type: 'wsh', threshold: 2, keys: ['[f00dbabe/48h/1h/0h/2h]tpub...', ...], network: 'test' })
 */
export function createPolicy(params: CreatePolicyParams): MultisigPolicy {
  const { type, threshold, network } = params;
  if (!isNetwork(network)) refuse('policy.bad_network', `unknown network '${String(network)}'`, { hint: 'use main, test, signet or regtest' });
  if (!Array.isArray(params.keys)) refuse('policy.no_keys', 'keys must be a list of extended public keys');
  const keys = (params.keys as readonly unknown[]).map((k, i) => parseCosigner(k as string, network, i));
  return buildPolicy(type, threshold, keys, network, params.sorted ?? true);
}

// ---------------------------------------------------------------------------------------------
// Descriptor -> policy

/** Which derivation suffix the keys of a descriptor use. */
type Suffix = 'multipath' | 'receive' | 'change';

function suffixOf(k: KeyExpr, position: number): Suffix {
  const bad = (why: string): never =>
    refuse('policy.bad_path', `key ${position + 1}: ${why}`, { hint: "every key must end in /<0;1>/* (or /0/* or /1/* for one branch)" });
  if (k.wildcard !== 'unhardened') return bad(k.wildcard === 'none' ? 'the key has no /* (the wallet must be ranged)' : 'hardened /*h derivation');
  if (k.multipath !== undefined) {
    const steps = k.multipath.steps;
    if (k.path.length !== 0 || steps.length !== 2 || steps[0]!.index !== 0 || steps[1]!.index !== 1) {
      return bad('the derivation after the xpub must be exactly /<0;1>/*');
    }
    return 'multipath';
  }
  if (k.path.length === 1 && k.path[0]!.index === 0) return 'receive';
  if (k.path.length === 1 && k.path[0]!.index === 1) return 'change';
  return bad('the derivation after the xpub must be /<0;1>/*, /0/* or /1/*');
}

function cosignerFromKeyExpr(k: KeyExpr, position: number): CosignerKey {
  if (k.key.kind === 'musig') refuse('policy.unsupported_form', 'musig() keys are not supported in mofn multisig wallets');
  if (k.key.kind !== 'xkey') {
    refuse('policy.not_xpub', `key ${position + 1} is a single key, not an extended public key`, { hint: 'every cosigner must be an account xpub' });
  }
  if (k.key.privateKey !== undefined) {
    refuse('policy.private_key', `key ${position + 1} is an extended PRIVATE key`, {
      hint: 'never paste private keys into a coordinator: export the xpub (watch-only descriptor) instead',
    });
  }
  const all = [...k.path, ...(k.multipath?.steps ?? [])];
  if (all.some((s) => s.index >= HARDENED) || k.wildcard === 'hardened') {
    refuse('descriptor.hardened_after_xpub', `key ${position + 1} has a hardened step after the xpub: it cannot be derived from public data`, {
      hint: 'export the xpub at the last hardened step and move those steps into the key origin',
    });
  }
  const origin = k.origin === undefined ? undefined : Object.freeze({ fingerprint: k.origin.fingerprint.toLowerCase(), path: Object.freeze(k.origin.path.map((s) => s.index)) });
  return Object.freeze({ origin, xpub: k.key.xpub });
}

function unsupportedForm(): never {
  return refuse('policy.unsupported_form', 'not a mofn multisig wallet descriptor', {
    hint: 'mofn wallets are sh(...), wsh(...) or sh(wsh(...)) of (sorted)multi, or tr(NUMS,(sorted)multi_a(...)) with the BIP-341 NUMS internal key',
  });
}

function matchForm(s: ScriptExpr): { type: ScriptType; multi: MultiScript } {
  if (s.type === 'sh') {
    if (s.inner.type === 'multi' || s.inner.type === 'sortedmulti') return { type: 'sh', multi: s.inner };
    if (s.inner.type === 'wsh' && (s.inner.inner.type === 'multi' || s.inner.inner.type === 'sortedmulti')) return { type: 'sh-wsh', multi: s.inner.inner };
  }
  if (s.type === 'wsh' && (s.inner.type === 'multi' || s.inner.type === 'sortedmulti')) return { type: 'wsh', multi: s.inner };
  if (s.type === 'tr' && s.tree?.type === 'leaf' && (s.tree.script.type === 'multi_a' || s.tree.script.type === 'sortedmulti_a')) {
    const ik = s.internalKey;
    const nums =
      ik.key.kind === 'hex' &&
      ik.origin === undefined &&
      ((ik.key.format === 'xonly' && ik.key.text.toLowerCase() === NUMS_HEX) ||
        (ik.key.format === 'compressed' && ik.key.text.slice(2).toLowerCase() === NUMS_HEX));
    if (!nums) {
      refuse('policy.unsupported_form', 'the taproot internal key is not the BIP-341 NUMS point', {
        hint: `mofn taproot wallets are script-path only: tr(${NUMS_HEX},sortedmulti_a(...))`,
      });
    }
    return { type: 'tr', multi: s.tree.script };
  }
  return unsupportedForm();
}

/**
 * Reads a mofn wallet descriptor (with or without checksum): one of the four forms, every key an
 * account xpub followed by `/<0;1>/*`, or by `/0/*` or `/1/*` for a single-branch descriptor
 * (which describes the same wallet).
 * @param text - the descriptor
 * @param network - the wallet's network; without it the network is `main` for xpub keys, `test` for tpub
 * @throws InvalidDescriptorError from {@link parseDescriptor} (`descriptor.*`), and
 *   `policy.unsupported_form`, `policy.not_xpub`, `policy.private_key`, `policy.bad_path`,
 *   `descriptor.hardened_after_xpub`, plus the checks of {@link createPolicy} (`policy.*`)
 */
export function policyFromDescriptor(text: string, network?: Network): MultisigPolicy {
  if (network !== undefined && !isNetwork(network)) refuse('policy.bad_network', `unknown network '${String(network)}'`);
  const d = parseDescriptor(typeof text === 'string' ? text.trim() : text, network === undefined ? {} : { network });
  const { type, multi } = matchForm(d.script);
  const keys = multi.keys.map((k, i) => cosignerFromKeyExpr(k, i));
  const suffixes = new Set(multi.keys.map((k, i) => suffixOf(k, i)));
  if (suffixes.size > 1) {
    refuse('policy.bad_path', 'all keys must use the same branch derivation (all /<0;1>/*, all /0/* or all /1/*)');
  }
  const versionNetwork = keys[0]!.xpub.versionNetwork;
  const net: Network = network ?? (versionNetwork === 'main' ? 'main' : 'test');
  const sorted = multi.type === 'sortedmulti' || multi.type === 'sortedmulti_a';
  return buildPolicy(type, multi.threshold, keys, net, sorted);
}

// ---------------------------------------------------------------------------------------------
// Policy -> descriptor

/** Options of {@link policyToDescriptor}. */
export interface PolicyToDescriptorOptions {
  /** Only the receive (0) or change (1) branch: `/0/*` instead of `/<0;1>/*`. */
  readonly branch?: 0 | 1;
  /** Append the BIP-380 checksum. Default true. */
  readonly checksum?: boolean;
}

function formatOrigin(origin: KeyOrigin | undefined): string {
  if (origin === undefined) return '';
  let s = `[${origin.fingerprint}`;
  for (const i of origin.path) s += i >= HARDENED ? `/${i - HARDENED}h` : `/${i}`;
  return `${s}]`;
}

function keyText(k: CosignerKey, network: Network, suffix: string): string {
  return `${formatOrigin(k.origin)}${encodeExtendedPublicKey(k.xpub, network)}${suffix}`;
}

function descriptorBody(policy: MultisigPolicy, keys: readonly CosignerKey[], branch: 0 | 1 | undefined): string {
  const suffix = branch === undefined ? '/<0;1>/*' : `/${branch}/*`;
  const list = keys.map((k) => keyText(k, policy.network, suffix)).join(',');
  const sortedPrefix = policy.sorted ? 'sorted' : '';
  switch (policy.type) {
    case 'sh':
      return `sh(${sortedPrefix}multi(${policy.threshold},${list}))`;
    case 'wsh':
      return `wsh(${sortedPrefix}multi(${policy.threshold},${list}))`;
    case 'sh-wsh':
      return `sh(wsh(${sortedPrefix}multi(${policy.threshold},${list})))`;
    case 'tr':
      return `tr(${NUMS_HEX},${sortedPrefix}multi_a(${policy.threshold},${list}))`;
  }
}

/**
 * The canonical descriptor of a policy: multipath `/<0;1>/*` (or one branch), `h` hardened
 * markers, keys in policy order, xpub/tpub encoding of the policy's network.
 * @param policy - the wallet
 * @param options - `branch` for a single-branch descriptor, `checksum` (default true)
 * @example policyToDescriptor(policy) // 'wsh(sortedmulti(2,[f00dbabe/48h/1h/0h/2h]tpub.../<0;1>/*,...))#abcd1234'
 */
export function policyToDescriptor(policy: MultisigPolicy, options: PolicyToDescriptorOptions = {}): string {
  const body = descriptorBody(policy, policy.keys, options.branch);
  return options.checksum ?? true ? addDescriptorChecksum(body) : body;
}

/**
 * Stable wallet identifier: hex SHA-256 of `network`, a newline, and the canonical multipath descriptor without checksum,
 * with the keys sorted by public key when the wallet sorts them (so cosigner order does not matter
 * for sortedmulti wallets; it does for multi, where order changes the script).
 */
export function walletIdOf(policy: MultisigPolicy): string {
  const keys = policy.sorted ? [...policy.keys].sort((a, b) => compareBytes(a.xpub.publicKey, b.xpub.publicKey)) : policy.keys;
  // tpubs serve test, signet and regtest alike, so the descriptor alone does not pin the network;
  // the wallet does (DESIGN: the network is pinned per wallet), so the id commits to it too.
  const digest = sha256(new TextEncoder().encode(`${policy.network}\n${descriptorBody(policy, keys, undefined)}`));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** A human summary of a policy (see {@link describePolicy}). */
export interface PolicySummary {
  readonly type: ScriptType;
  readonly threshold: number;
  readonly total: number;
  readonly sorted: boolean;
  readonly network: Network;
  /** e.g. `2-of-3 P2WSH multisig (sortedmulti, BIP-67), testnet` */
  readonly title: string;
  readonly keys: readonly { readonly position: number; readonly fingerprint: string | undefined; readonly path: string | undefined; readonly xpub: string }[];
}

const TYPE_LABEL: Readonly<Record<ScriptType, string>> = Object.freeze({
  sh: 'P2SH (legacy)',
  wsh: 'P2WSH (native segwit)',
  'sh-wsh': 'P2SH-P2WSH (nested segwit)',
  tr: 'P2TR script path (taproot multi_a)',
});
const NETWORK_LABEL: Readonly<Record<Network, string>> = Object.freeze({ main: 'mainnet', test: 'testnet', signet: 'signet', regtest: 'regtest' });

/** Human summary of a policy: type, M-of-N, sorting, network, and each key with its fingerprint and path. */
export function describePolicy(policy: MultisigPolicy): PolicySummary {
  const n = policy.keys.length;
  const sortLabel = policy.type === 'tr' ? (policy.sorted ? 'sortedmulti_a' : 'multi_a') : policy.sorted ? 'sortedmulti, BIP-67' : 'multi, keys in order';
  return Object.freeze({
    type: policy.type,
    threshold: policy.threshold,
    total: n,
    sorted: policy.sorted,
    network: policy.network,
    title: `${policy.threshold}-of-${n} ${TYPE_LABEL[policy.type]} multisig (${sortLabel}), ${NETWORK_LABEL[policy.network]}`,
    keys: Object.freeze(
      policy.keys.map((k, position) =>
        Object.freeze({
          position,
          fingerprint: k.origin?.fingerprint,
          path: k.origin === undefined ? undefined : `m${formatOrigin(k.origin).slice(9, -1)}`,
          xpub: encodeExtendedPublicKey(k.xpub, policy.network),
        }),
      ),
    ),
  });
}

/** True if two policies describe the same wallet (same {@link walletIdOf} and network). Never throws. */
export function isSamePolicy(a: MultisigPolicy, b: MultisigPolicy): boolean {
  try {
    return a.network === b.network && walletIdOf(a) === walletIdOf(b);
  } catch {
    return false;
  }
}
