/**
 * Address derivation for a multisig policy: the hot path of wallets (receive addresses, change,
 * scanning). Branch nodes (`xpub/0`, `xpub/1`) are derived once per cosigner and cached; each
 * address then costs one BIP-32 child derivation per cosigner plus hashing, and the address
 * string is encoded only when read.
 */
import { InvalidInputError, compareBytes } from '@mofn/core';
import { addressToScript, scriptToAddress } from '../address.ts';
import { deriveChildPublic, fingerprintOf } from '../keys/index.ts';
import type { Branch, DerivedAddress, DerivedKey, ExtendedPublicKey, MultisigPolicy } from '../types.ts';
import { multiAScript, multisigScript, p2shScript, p2trScript, p2wshScript } from '../descriptor/script.ts';
import { TAPSCRIPT_LEAF_VERSION, numsInternalKey, tapLeafHash, taprootTweak } from '../descriptor/taproot.ts';
import { assertPolicy } from './policy.ts';

/** Options of {@link AddressDeriver.findScript}. */
export interface FindScriptOptions {
  /** Branches to search (default both: receive then change at each index). */
  readonly branches?: readonly Branch[];
  /** First index searched (default 0). */
  readonly from?: number;
  /** How many indexes to search on each branch, from `from` (default 1000). */
  readonly gap?: number;
}

/** Derives the addresses of one policy; create it once per wallet and reuse it. */
export interface AddressDeriver {
  readonly policy: MultisigPolicy;
  /**
   * The address at `branch`/`index` with its scripts and the cosigner keys in script order.
   * @throws InvalidInputError `address.bad_branch`, `address.bad_index`
   */
  derive(branch: Branch, index: number): DerivedAddress;
  /** Only the output script at `branch`/`index` (cheaper than {@link derive}). */
  scriptPubKeyAt(branch: Branch, index: number): Uint8Array;
  /** Finds which address of the wallet pays to `scriptPubKey`, or undefined. */
  findScript(scriptPubKey: Uint8Array, options?: FindScriptOptions): DerivedAddress | undefined;
  /**
   * Finds which address of the wallet `address` is, or undefined.
   * @throws InvalidAddressError when the address does not decode or belongs to another network
   */
  findAddress(address: string, options?: FindScriptOptions): DerivedAddress | undefined;
}

const MAX_INDEX = 0x7fffffff;
const MAX_CACHED_SCRIPTS = 200_000; // per branch; ~30 MB at most
const MAX_GAP = 10_000_000;

function assertBranch(branch: number): asserts branch is Branch {
  if (branch !== 0 && branch !== 1) {
    throw new InvalidInputError('address.bad_branch', `branch ${String(branch)} must be 0 (receive) or 1 (change)`);
  }
}

function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new InvalidInputError('address.bad_index', `index ${String(index)} must be an integer in 0..${MAX_INDEX}`);
  }
}

/** compareBytes(a.subarray(from), b.subarray(from)) without the subarrays. */
function compareFrom(a: Uint8Array, b: Uint8Array, from: number): number {
  const end = Math.min(a.length, b.length);
  for (let i = from; i < end; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/** The scripts of one derivation, before the DerivedAddress wrapper. */
interface Scripts {
  readonly order: readonly number[];
  readonly pubkeys: readonly Uint8Array[];
  readonly scriptPubKey: Uint8Array;
  readonly redeemScript?: Uint8Array;
  readonly witnessScript?: Uint8Array;
  readonly tapLeafScript?: Uint8Array;
  readonly tapControlBlock?: Uint8Array;
}

// Branch nodes (xpub/0, xpub/1) shared by every deriver: a cosigner key often belongs to several
// wallets, and the first derivation below a new node is the expensive one (the node's point is
// decompressed and its HMAC key schedule computed). Keyed by the key material; LRU-bounded.
const SHARED_BRANCH_NODES = 512;
const sharedBranchNodes = new Map<string, ExtendedPublicKey>();

function sharedBranchNode(xpub: ExtendedPublicKey, branch: Branch): ExtendedPublicKey {
  const id = `${hex(xpub.chainCode)}${hex(xpub.publicKey)}${xpub.depth}/${branch}`;
  let node = sharedBranchNodes.get(id);
  if (node !== undefined) {
    sharedBranchNodes.delete(id);
  } else {
    node = deriveChildPublic(xpub, branch);
    if (sharedBranchNodes.size >= SHARED_BRANCH_NODES) sharedBranchNodes.delete(sharedBranchNodes.keys().next().value!);
  }
  sharedBranchNodes.set(id, node);
  return node;
}

/**
 * Creates the address deriver of a policy (validated once here, not per address).
 * @throws InvalidDescriptorError `policy.*` if the policy is not valid (see createPolicy)
 * @example createAddressDeriver(policy).derive(0, 0).address
 */
export function createAddressDeriver(policy: MultisigPolicy): AddressDeriver {
  assertPolicy(policy);
  const { type, threshold, sorted, network } = policy;
  const keys = policy.keys;
  const n = keys.length;
  const fingerprints = keys.map((k) => k.origin?.fingerprint ?? fingerprintOf(k.xpub.publicKey));
  const originPaths = keys.map((k) => k.origin?.path ?? []);
  const branchNodes: [(ExtendedPublicKey | undefined)[], (ExtendedPublicKey | undefined)[]] = [new Array<undefined>(n), new Array<undefined>(n)];
  const identity = Array.from({ length: n }, (_, i) => i);
  const nums = numsInternalKey();

  /**
   * Cosigner indexes in script order: BIP-67 sorts the 33-byte keys; sortedmulti_a sorts the
   * x-only keys that go in the script (BIP-387), which can differ when prefixes differ. Up to 20
   * keys (every sh/wsh policy) an insertion sort without per-address closures; tr allows 999.
   * Both are stable, so equal keys (impossible: policies reject duplicates) would keep their order.
   */
  function sortedOrder(pubs: readonly Uint8Array[], xonly: boolean): number[] {
    const order = identity.slice();
    const from = xonly ? 1 : 0;
    if (n > 20) return order.sort((a, b) => compareFrom(pubs[a]!, pubs[b]!, from));
    for (let i = 1; i < n; i++) {
      const cur = order[i]!;
      const key = pubs[cur]!;
      let j = i - 1;
      while (j >= 0 && compareFrom(pubs[order[j]!]!, key, from) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = cur;
    }
    return order;
  }

  function branchNode(i: number, branch: Branch): ExtendedPublicKey {
    const nodes = branchNodes[branch];
    let node = nodes[i];
    if (node === undefined) {
      node = sharedBranchNode(keys[i]!.xpub, branch);
      nodes[i] = node;
    }
    return node;
  }

  function scripts(branch: Branch, index: number): Scripts {
    const pubkeys = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) pubkeys[i] = deriveChildPublic(branchNode(i, branch), index).publicKey;
    const order = sorted ? sortedOrder(pubkeys, type === 'tr') : identity;
    if (type === 'tr') {
      const xonly = order.map((i) => pubkeys[i]!.subarray(1));
      const leaf = multiAScript(threshold, xonly);
      const { outputKey, parity } = taprootTweak(nums, tapLeafHash(leaf, TAPSCRIPT_LEAF_VERSION));
      const control = new Uint8Array(33);
      control[0] = TAPSCRIPT_LEAF_VERSION | parity;
      control.set(nums, 1);
      return { order, pubkeys, scriptPubKey: p2trScript(outputKey), tapLeafScript: leaf, tapControlBlock: control };
    }
    const multisig = multisigScript(threshold, order.map((i) => pubkeys[i]!));
    switch (type) {
      case 'sh':
        return { order, pubkeys, scriptPubKey: p2shScript(multisig), redeemScript: multisig };
      case 'wsh':
        return { order, pubkeys, scriptPubKey: p2wshScript(multisig), witnessScript: multisig };
      case 'sh-wsh': {
        const redeemScript = p2wshScript(multisig);
        return { order, pubkeys, scriptPubKey: p2shScript(redeemScript), redeemScript, witnessScript: multisig };
      }
    }
  }

  function derive(branch: Branch, index: number): DerivedAddress {
    assertBranch(branch);
    assertIndex(index);
    const s = scripts(branch, index);
    const derivedKeys: DerivedKey[] = s.order.map((i) =>
      Object.freeze({ cosigner: i, publicKey: s.pubkeys[i]!, fingerprint: fingerprints[i]!, path: Object.freeze([...originPaths[i]!, branch, index]) }),
    );
    const out: Record<string, unknown> = { branch, index };
    let address: string | undefined;
    // Encoded on first read (bech32/base58 is a noticeable share of the per-address cost when
    // only scripts are needed); an own enumerable getter so spreads and JSON still see it.
    Object.defineProperty(out, 'address', {
      enumerable: true,
      get: () => (address ??= scriptToAddress(s.scriptPubKey, network)),
    });
    out['scriptPubKey'] = s.scriptPubKey;
    if (s.redeemScript !== undefined) out['redeemScript'] = s.redeemScript;
    if (s.witnessScript !== undefined) out['witnessScript'] = s.witnessScript;
    if (s.tapLeafScript !== undefined) {
      out['tapLeafScript'] = s.tapLeafScript;
      out['tapControlBlock'] = s.tapControlBlock;
      out['tapInternalKey'] = nums.slice();
    }
    out['keys'] = Object.freeze(derivedKeys);
    return Object.freeze(out) as unknown as DerivedAddress;
  }

  function scriptPubKeyAt(branch: Branch, index: number): Uint8Array {
    assertBranch(branch);
    assertIndex(index);
    return scripts(branch, index).scriptPubKey;
  }

  // Scripts already derived, per branch, for indexes 0..knownUpTo-1 (scans usually restart at 0).
  const known: [Map<string, number>, Map<string, number>] = [new Map<string, number>(), new Map<string, number>()];
  const knownUpTo: [number, number] = [0, 0];

  function findScript(scriptPubKey: Uint8Array, options: FindScriptOptions = {}): DerivedAddress | undefined {
    const branches = options.branches ?? [0, 1];
    const from = options.from ?? 0;
    const gap = options.gap ?? 1000;
    branches.forEach(assertBranch);
    assertIndex(from);
    if (!Number.isInteger(gap) || gap < 0 || gap > MAX_GAP) {
      throw new InvalidInputError('address.bad_gap', `gap ${String(gap)} must be an integer in 0..${MAX_GAP}`);
    }
    if (!(scriptPubKey instanceof Uint8Array)) throw new InvalidInputError('address.bad_script', 'scriptPubKey must be bytes');
    const end = Math.min(from + gap, MAX_INDEX + 1);
    const target = hex(scriptPubKey);
    for (const b of branches) {
      const hit = known[b].get(target);
      if (hit !== undefined && hit >= from && hit < end) return derive(b, hit);
    }
    for (let index = from; index < end; index++) {
      for (const b of branches) {
        if (index < knownUpTo[b]) continue; // already compared through the cache
        const spk = scripts(b, index).scriptPubKey;
        if (index === knownUpTo[b] && known[b].size < MAX_CACHED_SCRIPTS) {
          known[b].set(hex(spk), index);
          knownUpTo[b] = index + 1;
        }
        if (spk.length === scriptPubKey.length && compareBytes(spk, scriptPubKey) === 0) return derive(b, index);
      }
    }
    return undefined;
  }

  function findAddress(address: string, options?: FindScriptOptions): DerivedAddress | undefined {
    return findScript(addressToScript(address, network), options);
  }

  return Object.freeze({ policy, derive, scriptPubKeyAt, findScript, findAddress });
}
