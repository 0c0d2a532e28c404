export * from './client.ts';
export * from './devchain.ts';
export * from './safe/index.ts';
