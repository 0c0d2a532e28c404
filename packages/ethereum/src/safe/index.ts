export * from './abi.ts';
export * from './safeTx.ts';
export * from './singletons.ts';
export * from './read.ts';
export * from './create.ts';
export * from './signatures.ts';
export * from './execute.ts';
export * from './adapter.ts';
