/**
 * Optional native CKDpub (packages/bitcoin/native/ckdpub.c, built by scripts/build-native.mjs on
 * install): BIP-32 public children for a run of consecutive indexes in one call, HMAC-SHA512 and
 * a fixed-base comb in C over libsecp256k1's field and group code.
 *
 * Measured on the 2-core Node 20 box (µs per child, HMAC included): ~9 in runs of 64, ~14 one at a
 * time, against ~28-46 for libsecp256k1's `ec_pubkey_tweak_add` plus HMAC in JS (extendedKey.ts).
 *
 * It is an optimisation only. When the addon was not built (no compiler, no Node headers, Windows,
 * a browser bundle), fails to load, is a stale build, fails its known-answer self-test, or
 * `MOFN_NATIVE_DERIVE=0` is set, {@link loadNativeDerive} returns undefined and extendedKey.ts keeps
 * its JS/secp256k1 path; {@link nativeDeriveStatus} says which and why.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { secp } from '../secp.ts';

/** The addon's exports (see ckdpub.c). */
interface CkdpubAddon {
  readonly abi: number;
  readonly stateBytes: number;
  prepare(pub33: Uint8Array, chain32: Uint8Array, state: Uint8Array): boolean;
  derive(state: Uint8Array, start: number, count: number, keysOut: Uint8Array, chainCodesOut: Uint8Array): void;
  tweakAdd(pub33: Uint8Array, tweak32: Uint8Array, out33: Uint8Array): void;
}

/** Native CKDpub for one parent at a time; all data is public (xpub children). */
export interface NativeDerive {
  /**
   * The per-parent state `derive` needs (parsed point, HMAC midstates, serP(K_par)), or undefined
   * if `pub33` is not a compressed secp256k1 point.
   */
  prepare(pub33: Uint8Array, chain32: Uint8Array): Uint8Array | undefined;
  /**
   * Children `start .. start+count-1` (count 1..4096, all < 2^31): compressed key `k` at
   * `keysOut[33k..]`, chain code at `chainCodesOut[32k..]`. A key starting with 0x00 is a child
   * BIP-32 calls invalid (I_L >= n or infinity); 0x01 means the addon's on-curve self-check failed
   * and the caller must recompute that child with its reference backend.
   */
  derive(state: Uint8Array, start: number, count: number, keysOut: Uint8Array, chainCodesOut: Uint8Array): void;
  /**
   * `P + t*G` by the same comb, for one point and tweak (edge-case tests): the compressed sum, or
   * the 33 bytes of `derive`'s encoding (0x00... when t >= n or the sum is infinity).
   * @throws RangeError if `pub33` is not a compressed point
   */
  tweakAdd(pub33: Uint8Array, tweak32: Uint8Array): Uint8Array;
}

/** Marks a child the addon could not vouch for (see {@link NativeDerive.derive}). */
export const NATIVE_RECOMPUTE = 0x01;

/** The ABI this loader speaks (CKDPUB_ABI in ckdpub.c); a stale build with another one is refused. */
const ABI = 2;
const STATE_BYTES = 225;

type NodeModuleApi = typeof import('node:module');

let loaded: { native: NativeDerive | undefined; reason: string } | undefined;

/** Reference CKDpub for the self-test: HMAC in @noble/hashes, `P + t*G` by the chosen secp backend. */
function referenceChild(pub33: Uint8Array, chain32: Uint8Array, index: number): { key: Uint8Array | null; chainCode: Uint8Array } {
  const data = new Uint8Array(37);
  data.set(pub33, 0);
  new DataView(data.buffer).setUint32(33, index);
  const I = hmac(sha512, chain32, data);
  return { key: secp.pointAddScalar(pub33, I.subarray(0, 32)), chainCode: I.slice(32) };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Known-answer test against the reference path, on both parities and both ends of the index range. */
function selfTest(native: NativeDerive): string | undefined {
  const chain = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const parents = [secp.publicKey(Uint8Array.of(...new Uint8Array(31), 7)), secp.publicKey(Uint8Array.of(...new Uint8Array(31), 9))];
  if (native.prepare(Uint8Array.of(0x02, ...new Uint8Array(32)), chain) !== undefined) return 'accepted a public key that is not a point';
  for (const pub of parents) {
    const state = native.prepare(pub, chain);
    if (state === undefined) return 'rejected a valid public key';
    for (const start of [0, 0x7fffffff - 2]) {
      const keys = new Uint8Array(3 * 33);
      const codes = new Uint8Array(3 * 32);
      native.derive(state, start, 3, keys, codes);
      for (let k = 0; k < 3; k++) {
        const ref = referenceChild(pub, chain, start + k);
        if (ref.key === null || !equalBytes(keys.subarray(33 * k, 33 * k + 33), ref.key) || !equalBytes(codes.subarray(32 * k, 32 * k + 32), ref.chainCode)) {
          return `child ${String(start + k)} differs from the reference`;
        }
      }
    }
  }
  return undefined;
}

type NodeProcess = { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } | undefined;

function load(): { native: NativeDerive | undefined; reason: string } {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.env?.['MOFN_NATIVE_DERIVE'] === '0') return { native: undefined, reason: 'disabled by MOFN_NATIVE_DERIVE=0' };
  return openNativeDerive();
}

/**
 * Loads and self-tests the addon regardless of `MOFN_NATIVE_DERIVE` (tests use it to check the
 * addon itself while mofn runs on its fallback). Not cached; mofn code calls {@link loadNativeDerive}.
 */
export function openNativeDerive(): { readonly native: NativeDerive | undefined; readonly reason: string } {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return { native: undefined, reason: 'not running on Node >= 20.16 (no process.getBuiltinModule)' };
  let addon: CkdpubAddon;
  try {
    const { createRequire } = proc.getBuiltinModule('node:module') as NodeModuleApi;
    addon = createRequire(import.meta.url)('../../native/build/ckdpub.node') as CkdpubAddon;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    return { native: undefined, reason: `addon not loaded (run \`node scripts/build-native.mjs\`): ${message}` };
  }
  if (addon.abi !== ABI || addon.stateBytes !== STATE_BYTES) {
    return { native: undefined, reason: `stale addon build (abi ${String(addon.abi)}, expected ${String(ABI)}): rebuild with \`node scripts/build-native.mjs\`` };
  }
  const native: NativeDerive = {
    prepare(pub33, chain32) {
      const state = new Uint8Array(STATE_BYTES);
      return addon.prepare(pub33, chain32, state) ? state : undefined;
    },
    derive: (state, start, count, keysOut, chainCodesOut) => {
      addon.derive(state, start, count, keysOut, chainCodesOut);
    },
    tweakAdd(pub33, tweak32) {
      const out = new Uint8Array(33);
      addon.tweakAdd(pub33, tweak32, out);
      return out;
    },
  };
  try {
    const failure = selfTest(native);
    if (failure !== undefined) return { native: undefined, reason: `addon failed its self-test: ${failure}` };
  } catch (err) {
    return { native: undefined, reason: `addon failed its self-test: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { native, reason: 'loaded packages/bitcoin/native/build/ckdpub.node' };
}

/** The native CKDpub when it is built, loads and passes its self-test (loaded once, on first call); else undefined. */
export function loadNativeDerive(): NativeDerive | undefined {
  loaded ??= load();
  return loaded.native;
}

/** Whether the native CKDpub is in use and why (for reports and benchmarks). Loads it if not yet tried. */
export function nativeDeriveStatus(): { readonly loaded: boolean; readonly reason: string } {
  loaded ??= load();
  return { loaded: loaded.native !== undefined, reason: loaded.reason };
}
