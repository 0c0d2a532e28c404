/**
 * Wallet import/export formats: Caravan wallet JSON, Coldcard multisig setup files and xpub
 * exports, Electrum multisig wallets (import), descriptor files, and format detection.
 */
export { parseCaravanConfig, exportCaravanConfig } from './caravan.ts';
export type { CaravanWallet, ParseCaravanOptions, ExportCaravanOptions } from './caravan.ts';
export { parseColdcardConfig, exportColdcardConfig, parseColdcardXpubExport } from './coldcard.ts';
export type { ColdcardWallet } from './coldcard.ts';
export { parseElectrumWallet } from './electrum.ts';
export type { ElectrumWallet } from './electrum.ts';
export { detectWalletFile, importWalletFile } from './detect.ts';
export type { WalletFileKind, ImportWalletFileOptions, ImportedWalletFile } from './detect.ts';
export { MAX_WALLET_FILE_CHARS } from './common.ts';
export * from './bip329.ts';
