/** Chain backends: the port, its Esplora, Electrum and Bitcoin Core implementations, and the previous-transaction check. */
export type { ChainBackend, ClaimedUtxo, ScriptChangeListener, ScriptHistoryEntry, TestAcceptResult, TxStatus } from './port.ts';
export { BackendError, describeBackend, isTransientBackendError, type BackendErrorCode, type BackendLabel } from './errors.ts';
export { electrumScriptHash, esploraScriptHash } from './scripthash.ts';
export { retryPolicyOf, type RetryOptions, type RetryPolicy } from './retry.ts';
export { fetchVerifiedPrevouts, parseCheckedTransaction, type ClaimedPrevout, type VerifiedPrevout } from './verify.ts';
export { createEsploraBackend, ESPLORA_DEFAULT_URLS, type EsploraOptions } from './esplora.ts';
export { createElectrumBackend, parseElectrumUrl, type ElectrumBackend, type ElectrumOptions } from './electrum/backend.ts';
export { ELECTRUM_PROTOCOL, type ElectrumClientStats, type ElectrumEndpoint } from './electrum/client.ts';
export { coreWalletName, createCoreRpcBackend, type CoreRpcAuth, type CoreRpcBackend, type CoreRpcOptions } from './core.ts';
