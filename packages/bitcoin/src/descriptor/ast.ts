/**
 * The output descriptor syntax tree (BIP-380 .. BIP-390).
 *
 * A parsed descriptor keeps enough of its source text (hardened-marker style of every step, the
 * exact spelling of every key) that {@link printDescriptor} reproduces the input byte for byte.
 * Nodes are plain frozen data: build them with the parser, or by hand for canonical output.
 */
import type { ExtendedPublicKey } from '../types.ts';

/** How a hardened step was written: `'` or `h` (BIP-380). Unhardened steps use `''`. */
export type HardenedMarker = "'" | 'h' | '';

/** One BIP-32 derivation step as written. */
export interface PathStep {
  /** Child number, hardened bit (0x80000000) included. */
  readonly index: number;
  /** The marker it was written with (`''` when unhardened). */
  readonly marker: HardenedMarker;
}

/** Key origin `[fingerprint/path]` (BIP-380). */
export interface KeyOriginExpr {
  /** 8 hex characters as written (normally lower case). */
  readonly fingerprint: string;
  readonly path: readonly PathStep[];
}

/** A hex public key: 33-byte compressed, 65-byte uncompressed, or 32-byte x-only (only inside `tr()`). */
export interface HexKey {
  readonly kind: 'hex';
  /** The key bytes as written. */
  readonly bytes: Uint8Array;
  readonly format: 'compressed' | 'uncompressed' | 'xonly';
  /** Source text (hex, case as written). */
  readonly text: string;
}

/** A WIF private key. */
export interface WifKey {
  readonly kind: 'wif';
  readonly privateKey: Uint8Array;
  readonly compressed: boolean;
  /** Public key: 33 bytes when compressed, 65 when not. */
  readonly publicKey: Uint8Array;
  readonly versionNetwork: 'main' | 'test';
  readonly text: string;
}

/** A BIP-32 extended key (xpub/tpub, or xprv/tprv whose private part is kept for hardened steps). */
export interface ExtendedKeyExpr {
  readonly kind: 'xkey';
  readonly xpub: ExtendedPublicKey;
  /** 32-byte private key when the source was an xprv/tprv. */
  readonly privateKey: Uint8Array | undefined;
  readonly versionNetwork: 'main' | 'test';
  readonly text: string;
}

/** BIP-390 `musig(KEY, ..., KEY)` aggregate key. */
export interface MusigKey {
  readonly kind: 'musig';
  readonly participants: readonly KeyExpr[];
}

/** Key material of a key expression. */
export type KeyMaterial = HexKey | WifKey | ExtendedKeyExpr | MusigKey;

/** BIP-389 multipath step `<a;b;...>` at position `position` of {@link KeyExpr.path}. */
export interface MultipathExpr {
  /** Index into `path` where the multipath step stands (0 = right after the key). */
  readonly position: number;
  readonly steps: readonly PathStep[];
}

/** A KEY expression (BIP-380, with BIP-389 multipath and BIP-390 musig). */
export interface KeyExpr {
  readonly origin: KeyOriginExpr | undefined;
  readonly key: KeyMaterial;
  /** Fixed derivation steps after the extended key (the multipath step is not in this list). */
  readonly path: readonly PathStep[];
  readonly multipath: MultipathExpr | undefined;
  /** Final `/*` (`unhardened`) or `/*'`, `/*h` (`hardened`). */
  readonly wildcard: 'none' | 'unhardened' | 'hardened';
  /** Marker of a hardened wildcard as written. */
  readonly wildcardMarker: HardenedMarker;
}

/** Script expressions that take one key. */
export interface KeyScript {
  readonly type: 'pk' | 'pkh' | 'wpkh' | 'combo' | 'rawtr';
  readonly key: KeyExpr;
}

/** `sh(SCRIPT)` / `wsh(SCRIPT)`. */
export interface WrapperScript {
  readonly type: 'sh' | 'wsh';
  readonly inner: ScriptExpr;
}

/** `multi`, `sortedmulti` (BIP-383), `multi_a`, `sortedmulti_a` (BIP-387). */
export interface MultiScript {
  readonly type: 'multi' | 'sortedmulti' | 'multi_a' | 'sortedmulti_a';
  readonly threshold: number;
  readonly keys: readonly KeyExpr[];
}

/** A BIP-386 script tree: a leaf script or a `{left,right}` branch. */
export type TapTree =
  | { readonly type: 'leaf'; readonly script: ScriptExpr }
  | { readonly type: 'branch'; readonly left: TapTree; readonly right: TapTree };

/** `tr(KEY)` / `tr(KEY,TREE)` (BIP-386). */
export interface TrScript {
  readonly type: 'tr';
  readonly internalKey: KeyExpr;
  readonly tree: TapTree | undefined;
}

/** `raw(HEX)` (BIP-385). */
export interface RawScript {
  readonly type: 'raw';
  readonly script: Uint8Array;
  /** Hex as written. */
  readonly text: string;
}

/** `addr(ADDR)` (BIP-385). */
export interface AddrScript {
  readonly type: 'addr';
  readonly address: string;
  readonly scriptPubKey: Uint8Array;
  readonly network: 'main' | 'test' | 'regtest';
}

/** Any script expression. */
export type ScriptExpr = KeyScript | WrapperScript | MultiScript | TrScript | RawScript | AddrScript;

/** A whole descriptor. */
export interface Descriptor {
  readonly script: ScriptExpr;
  /** The checksum as written, when there was one. */
  readonly checksum: string | undefined;
}
