/**
 * @mofn/bitcoin: keys, descriptors, multisig wallets and addresses, PSBT roles, coin selection
 * and wallet file formats. Pure functions over bytes; no I/O.
 */
export * from './types.ts';
export * from './hash.ts';
export * from './network.ts';
export * from './address.ts';
export * from './keys/index.ts';
export * from './descriptor/index.ts';
export * from './wallet/index.ts';
export * from './psbt/index.ts';
export * from './tx/index.ts';
export * from './coinselect/index.ts';
export * from './formats/index.ts';
// keys/ and descriptor/ both name these; the keys/ meaning is the public one.
export type { HardenedMarker, WifKey } from './keys/index.ts';
export * from './proposal/index.ts';
