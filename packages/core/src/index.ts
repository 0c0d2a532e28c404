export * from './errors.ts';
export * from './amount.ts';
export * from './bytes.ts';
