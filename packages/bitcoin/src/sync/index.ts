/** Wallet sync over the chain-backend port: gap-limit scan, UTXOs, history. */
export { syncWallet, type SyncOptions, type SyncProgress, type SyncResult, type SyncedUtxo, type UsedAddress, type WalletTransaction } from './scan.ts';
