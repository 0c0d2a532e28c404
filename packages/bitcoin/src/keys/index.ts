/** Keys: BIP-32 extended keys (SLIP-132 aware), paths and origins, HD private nodes, WIF, DER signatures. */
export * from './base58check.ts';
export * from './extendedKey.ts';
export * from './hd.ts';
export * from './path.ts';
export * from './signature.ts';
export * from './wif.ts';
