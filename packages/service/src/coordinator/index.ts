export * from './access.ts';
export * from './audit.ts';
export * from './idempotency.ts';
export * from './outbox.ts';
export * from './proposals.ts';
export { appendRows, inTx, inWalletTx, newId, type TxContext } from './tx.ts';
export { createBackendGateway, createWalletBackendGateway } from './gateway.ts';
export * from './safes.ts';
