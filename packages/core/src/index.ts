export * from './errors.ts';
export * from './amount.ts';
export * from './bytes.ts';
export * from './proposal/states.ts';
export * from './proposal/signatures.ts';
export * from './proposal/proposal.ts';
export type * from './proposal/port.ts';
export * from './audit/chain.ts';
