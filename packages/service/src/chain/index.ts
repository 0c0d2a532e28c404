/** Chain use cases: backend settings, wallet sync, spending from synced coins, broadcast, labels. */
export * from './backends.ts';
export * from './sync.ts';
export * from './spend.ts';
export * from './broadcast.ts';
export * from './labels.ts';
export * from './bump.ts';
