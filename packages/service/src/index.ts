export * from './context.ts';
export * from './store/open.ts';
export type { Database } from './store/schema.ts';
export * from './wallets.ts';
export * from './addresses.ts';
export * from './outpoints.ts';
export * from './spend.ts';
export * from './coordinator/index.ts';
export * from './chain/index.ts';
