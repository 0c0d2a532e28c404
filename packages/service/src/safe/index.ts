export * from './records.ts';
export * from './safes.ts';
export * from './propose.ts';
export * from './review.ts';
export * from './signatures.ts';
export * from './execute.ts';
export * from './queue.ts';
