/**
 * Descriptor expansion: the output scripts (with redeem/witness scripts and taproot data) a
 * descriptor stands for at one child index, and the single-path descriptors of a BIP-389
 * multipath descriptor.
 */
import { InvalidDescriptorError, compareBytes, isMofnError } from '@mofn/core';
import { deriveChildPrivate, deriveChildPublic, type HDPrivateNode } from '../keys/index.ts';
import { HARDENED, type ExtendedPublicKey } from '../types.ts';
import type { Descriptor, KeyExpr, KeyMaterial, PathStep, ScriptExpr, TapTree } from './ast.ts';
import { descriptorChecksum } from './checksum.ts';
import { musigKeyAgg, musigKeySort, musigSyntheticXpub } from './musig.ts';
import { descriptorKeys, isRangedDescriptor, multipathCount } from './parser.ts';
import { printScript } from './printer.ts';
import {
  multiAScript,
  multisigScript,
  p2pkScript,
  p2pkhScript,
  p2shScript,
  p2trScript,
  p2wpkhScript,
  p2wshScript,
} from './script.ts';
import { TAPSCRIPT_LEAF_VERSION, tapBranchHash, tapLeafHash, taprootTweak } from './taproot.ts';

/** One taproot script leaf with its control block (BIP-341). */
export interface ExpandedTapLeaf {
  readonly script: Uint8Array;
  readonly leafVersion: number;
  readonly controlBlock: Uint8Array;
}

/** One output script of a descriptor, with what is needed to spend it. */
export interface ExpandedOutput {
  /** Which multipath alternative it belongs to (0 without multipath). */
  readonly pathIndex: number;
  readonly scriptPubKey: Uint8Array;
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly tapInternalKey?: Uint8Array;
  readonly tapMerkleRoot?: Uint8Array;
  readonly tapLeaves?: readonly ExpandedTapLeaf[];
}

function fail(code: string, message: string, hint?: string): never {
  throw new InvalidDescriptorError(`descriptor.${code}`, message, hint === undefined ? {} : { hint });
}

/** The full derivation after the extended key for multipath alternative `pathIndex` and child `index`. */
function stepsOf(k: KeyExpr, pathIndex: number, index: number): number[] {
  const steps = k.path.map((s) => s.index);
  if (k.multipath !== undefined) {
    const alt = k.multipath.steps[pathIndex] ?? k.multipath.steps[0]!;
    steps.splice(k.multipath.position, 0, alt.index);
  }
  if (k.wildcard === 'unhardened') steps.push(index);
  else if (k.wildcard === 'hardened') steps.push(index + HARDENED);
  return steps;
}

const nodeCache = new WeakMap<ExtendedPublicKey, Map<string, ExtendedPublicKey>>();

function deriveXkey(m: Extract<KeyMaterial, { kind: 'xkey' }>, steps: readonly number[]): Uint8Array {
  try {
    if (m.privateKey !== undefined && steps.some((s) => s >= HARDENED)) {
      const x = m.xpub;
      let node: HDPrivateNode = {
        depth: x.depth,
        parentFingerprint: x.parentFingerprint,
        childNumber: x.childNumber,
        chainCode: x.chainCode,
        publicKey: x.publicKey,
        privateKey: m.privateKey,
      };
      for (const s of steps) node = deriveChildPrivate(node, s);
      return node.publicKey;
    }
    for (const s of steps) {
      if (s >= HARDENED) {
        fail(
          'hardened_after_xpub',
          `cannot derive hardened step ${s - HARDENED}h after an xpub without its private key`,
          'export the xpub at the last hardened step and put those steps in the key origin',
        );
      }
    }
    if (steps.length === 0) return m.xpub.publicKey;
    // Expanding index after index re-derives the same parent (e.g. xpub/0 of xpub/0/*); keep it,
    // only the last step changes.
    let cache = nodeCache.get(m.xpub);
    if (cache === undefined) {
      cache = new Map();
      nodeCache.set(m.xpub, cache);
    }
    const parentPath = steps.slice(0, -1).join('/');
    let parent = cache.get(parentPath);
    if (parent === undefined) {
      parent = m.xpub;
      for (const s of steps.slice(0, -1)) parent = deriveChildPublic(parent, s);
      if (cache.size < 64) cache.set(parentPath, parent);
    }
    const key = deriveChildPublic(parent, steps[steps.length - 1]!);
    return key.publicKey;
  } catch (err) {
    if (isMofnError(err) && err.code.startsWith('descriptor.')) throw err;
    throw new InvalidDescriptorError('descriptor.bad_key', `key derivation failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * The public key of a key expression at (multipath alternative, child index): 33 bytes
 * compressed, 65 uncompressed, or 32 for an x-only hex key.
 */
function resolveKey(k: KeyExpr, pathIndex: number, index: number): Uint8Array {
  const m = k.key;
  switch (m.kind) {
    case 'hex':
      return m.bytes;
    case 'wif':
      return m.publicKey;
    case 'xkey':
      return deriveXkey(m, stepsOf(k, pathIndex, index));
    case 'musig': {
      const keys = m.participants.map((q) => resolveKey(q, pathIndex, index));
      let agg: Uint8Array;
      try {
        agg = musigKeyAgg(musigKeySort(keys));
      } catch (err) {
        throw new InvalidDescriptorError('descriptor.bad_key', 'musig() key aggregation failed', { cause: err });
      }
      const steps = stepsOf(k, pathIndex, index);
      if (steps.length === 0) return agg;
      return deriveXkey({ kind: 'xkey', xpub: musigSyntheticXpub(agg), privateKey: undefined, versionNetwork: 'main', text: '' }, steps);
    }
  }
}

function xonly(key: Uint8Array): Uint8Array {
  return key.length === 32 ? key : key.subarray(1, 33);
}

interface Ctx {
  readonly pathIndex: number;
  readonly index: number;
}

/** The script a (non-top) expression produces inside sh()/wsh()/a tap leaf. */
function innerScript(s: ScriptExpr, c: Ctx, tapscript: boolean): Uint8Array {
  const key = (k: KeyExpr): Uint8Array => {
    const b = resolveKey(k, c.pathIndex, c.index);
    return tapscript ? xonly(b) : b;
  };
  switch (s.type) {
    case 'pk':
      return p2pkScript(key(s.key));
    case 'pkh':
      return p2pkhScript(key(s.key));
    case 'wpkh':
      return p2wpkhScript(key(s.key));
    case 'wsh':
      return p2wshScript(innerScript(s.inner, c, false));
    case 'multi':
    case 'sortedmulti': {
      const keys = s.keys.map(key);
      if (s.type === 'sortedmulti') keys.sort(compareBytes);
      return multisigScript(s.threshold, keys);
    }
    case 'multi_a':
    case 'sortedmulti_a': {
      const keys = s.keys.map((k) => xonly(resolveKey(k, c.pathIndex, c.index)));
      if (s.type === 'sortedmulti_a') keys.sort(compareBytes);
      return multiAScript(s.threshold, keys);
    }
    default:
      return fail('bad_context', `${s.type}() cannot be used inside another script`);
  }
}

interface TreeInfo {
  readonly hash: Uint8Array;
  readonly leaves: { script: Uint8Array; path: Uint8Array[] }[];
}

function treeInfo(t: TapTree, c: Ctx): TreeInfo {
  if (t.type === 'leaf') {
    const script = innerScript(t.script, c, true);
    return { hash: tapLeafHash(script, TAPSCRIPT_LEAF_VERSION), leaves: [{ script, path: [] }] };
  }
  const l = treeInfo(t.left, c);
  const r = treeInfo(t.right, c);
  for (const leaf of l.leaves) leaf.path.push(r.hash);
  for (const leaf of r.leaves) leaf.path.push(l.hash);
  return { hash: tapBranchHash(l.hash, r.hash), leaves: [...l.leaves, ...r.leaves] };
}

function expandTop(s: ScriptExpr, c: Ctx): ExpandedOutput[] {
  const base = { pathIndex: c.pathIndex };
  switch (s.type) {
    case 'pk':
    case 'pkh':
    case 'multi':
    case 'sortedmulti':
      return [{ ...base, scriptPubKey: innerScript(s, c, false) }];
    case 'wpkh':
      return [{ ...base, scriptPubKey: innerScript(s, c, false) }];
    case 'combo': {
      const k = resolveKey(s.key, c.pathIndex, c.index);
      const out: ExpandedOutput[] = [
        { ...base, scriptPubKey: p2pkScript(k) },
        { ...base, scriptPubKey: p2pkhScript(k) },
      ];
      // BIP-384: P2WPKH and P2SH-P2WPKH only for compressed keys.
      if (k.length === 33) {
        const w = p2wpkhScript(k);
        out.push({ ...base, scriptPubKey: w }, { ...base, scriptPubKey: p2shScript(w), redeemScript: w });
      }
      return out;
    }
    case 'sh': {
      if (s.inner.type === 'wsh') {
        const witnessScript = innerScript(s.inner.inner, c, false);
        const redeemScript = p2wshScript(witnessScript);
        return [{ ...base, scriptPubKey: p2shScript(redeemScript), redeemScript, witnessScript }];
      }
      const redeemScript = innerScript(s.inner, c, false);
      return [{ ...base, scriptPubKey: p2shScript(redeemScript), redeemScript }];
    }
    case 'wsh': {
      const witnessScript = innerScript(s.inner, c, false);
      return [{ ...base, scriptPubKey: p2wshScript(witnessScript), witnessScript }];
    }
    case 'tr': {
      const internal = xonly(resolveKey(s.internalKey, c.pathIndex, c.index));
      if (s.tree === undefined) {
        const { outputKey } = taprootTweak(internal);
        return [{ ...base, scriptPubKey: p2trScript(outputKey), tapInternalKey: internal }];
      }
      const info = treeInfo(s.tree, c);
      const { outputKey, parity } = taprootTweak(internal, info.hash);
      const tapLeaves = info.leaves.map((leaf) => {
        const controlBlock = new Uint8Array(33 + 32 * leaf.path.length);
        controlBlock[0] = TAPSCRIPT_LEAF_VERSION | parity;
        controlBlock.set(internal, 1);
        leaf.path.forEach((h, i) => controlBlock.set(h, 33 + 32 * i));
        return { script: leaf.script, leafVersion: TAPSCRIPT_LEAF_VERSION, controlBlock };
      });
      return [{ ...base, scriptPubKey: p2trScript(outputKey), tapInternalKey: internal, tapMerkleRoot: info.hash, tapLeaves }];
    }
    case 'rawtr':
      return [{ ...base, scriptPubKey: p2trScript(xonly(resolveKey(s.key, c.pathIndex, c.index))) }];
    case 'raw':
      return [{ ...base, scriptPubKey: s.script.slice() }];
    case 'addr':
      return [{ ...base, scriptPubKey: s.scriptPubKey.slice() }];
    case 'multi_a':
    case 'sortedmulti_a':
      return fail('bad_context', `${s.type}() is only allowed in tr() script leaves`);
  }
}

/**
 * The output scripts a descriptor stands for at child `index`: one per script (two or four for
 * `combo()`), repeated for each multipath alternative in order.
 * @param d - a parsed descriptor
 * @param index - child index for `/*` keys (required when the descriptor is ranged), 0..2^31-1
 * @returns outputs in order (multipath alternative 0 first)
 * @throws InvalidDescriptorError `descriptor.needs_index` (ranged without an index),
 *   `descriptor.bad_index`, `descriptor.hardened_after_xpub` (a hardened step after an xpub),
 *   `descriptor.bad_key` (the ~2^-127 invalid-child case)
 */
export function expandDescriptor(d: Descriptor, index?: number): ExpandedOutput[] {
  if (index === undefined) {
    if (isRangedDescriptor(d)) fail('needs_index', 'the descriptor is ranged (/*): give a child index');
  } else if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
    fail('bad_index', `child index ${String(index)} must be an integer in 0..2147483647`);
  }
  const paths = multipathCount(d.script);
  const out: ExpandedOutput[] = [];
  for (let p = 0; p < paths; p++) out.push(...expandTop(d.script, { pathIndex: p, index: index ?? 0 }));
  return out;
}

function pickPath(k: KeyExpr, p: number): KeyExpr {
  const key: KeyMaterial =
    k.key.kind === 'musig' ? Object.freeze({ kind: 'musig', participants: Object.freeze(k.key.participants.map((q) => pickPath(q, p))) }) : k.key;
  if (k.multipath === undefined) return key === k.key ? k : Object.freeze({ ...k, key });
  const path: PathStep[] = [...k.path];
  path.splice(k.multipath.position, 0, k.multipath.steps[p]!);
  return Object.freeze({ ...k, key, path, multipath: undefined });
}

function mapKeys(s: ScriptExpr, f: (k: KeyExpr) => KeyExpr): ScriptExpr {
  switch (s.type) {
    case 'pk':
    case 'pkh':
    case 'wpkh':
    case 'combo':
    case 'rawtr':
      return Object.freeze({ ...s, key: f(s.key) });
    case 'sh':
    case 'wsh':
      return Object.freeze({ ...s, inner: mapKeys(s.inner, f) });
    case 'multi':
    case 'sortedmulti':
    case 'multi_a':
    case 'sortedmulti_a':
      return Object.freeze({ ...s, keys: Object.freeze(s.keys.map(f)) });
    case 'tr': {
      const mapTree = (t: TapTree): TapTree =>
        t.type === 'leaf'
          ? Object.freeze({ type: 'leaf', script: mapKeys(t.script, f) })
          : Object.freeze({ type: 'branch', left: mapTree(t.left), right: mapTree(t.right) });
      return Object.freeze({ ...s, internalKey: f(s.internalKey), tree: s.tree === undefined ? undefined : mapTree(s.tree) });
    }
    case 'raw':
    case 'addr':
      return s;
  }
}

/**
 * BIP-389: the single-path descriptors a multipath descriptor stands for, in order (the
 * descriptor itself when it has no `<..;..>` step). Each keeps a checksum when the input had one.
 */
export function splitMultipath(d: Descriptor): Descriptor[] {
  const n = multipathCount(d.script);
  if (n === 1 && !descriptorKeys(d.script).some((k) => k.multipath !== undefined)) return [d];
  const out: Descriptor[] = [];
  for (let p = 0; p < n; p++) {
    const script = mapKeys(d.script, (k) => pickPath(k, p));
    out.push(Object.freeze({ script, checksum: d.checksum === undefined ? undefined : descriptorChecksum(printScript(script)) }));
  }
  return out;
}
