export { createBitcoinAdapter, type BitcoinAdapter, type BitcoinAdapterOptions, type BroadcastFn } from './adapter.ts';
