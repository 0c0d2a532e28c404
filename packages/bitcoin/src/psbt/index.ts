/**
 * PSBT roles for mofn wallets (BIP-174 version 0 model; BIP-370 version 2 read and converted;
 * BIP-371 taproot fields): create, parse/serialize, inspect, sign, combine, finalize, extract.
 */
export { decodePsbtBytes, determineLocktime, parsePsbt, psbtToBase64, psbtToHex, serializePsbt, serializeUnsignedTx } from './codec.ts';
export {
  createPsbt,
  createPsbtFromOutputs,
  globalXpubsOf,
  psbtFromUnsignedTx,
  type CreatePsbtFromOutputsOptions,
  type CreatePsbtFromOutputsResult,
  type CreatePsbtOptions,
  type CreatePsbtResult,
  type OutputSpec,
} from './create.ts';
export { assertInputSignable, inputSighash, type InputSighashOptions } from './checks.ts';
export { inspectPsbt, type CosignerProgress, type InspectedInput, type InspectedOutput, type InspectPsbtOptions, type OutputKind, type PsbtSummary } from './inspect.ts';
export { DEFAULT_FEE_CAP, signPsbt, type AccountPrivateKey, type FeeCap, type PsbtSigner, type SignPsbtOptions, type SignPsbtResult } from './sign.ts';
export { combinePsbts } from './combine.ts';
export { extractTransaction, finalizePsbt, type ExtractedTransaction, type MissingSignatures, type MissingSigner } from './finalize.ts';
export { EMPTY_INPUT, EMPTY_OUTPUT } from './types.ts';
export type {
  Bip32Derivation,
  GlobalXpub,
  HashPreimage,
  PartialSig,
  Psbt,
  PsbtGlobal,
  PsbtInput,
  PsbtKeyValue,
  PsbtOutput,
  TapBip32Derivation,
  TapLeafScript,
  TapScriptSig,
  TapTreeLeaf,
  TxOutput,
  UnsignedTx,
  UnsignedTxInput,
  WalletDeriver,
} from './types.ts';
export * from './bump.ts';
