/**
 * @mofn/signers: the encrypted software keystore and the signer port that hardware and
 * air-gapped signers implement.
 */
export * from './mnemonic.ts';
export {
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  DEFAULT_SCRYPT,
  parseKeystoreFile,
  isKeystoreFile,
  createKeystore,
  unlockKeystore,
  lockKeystore,
  keystoreXpub,
} from './keystore.ts';
export type { ScryptParams, KeystoreFile, UnlockedKeystore, CreateKeystoreOptions, UnlockKeystoreOptions } from './keystore.ts';
export { writeKeystore, readKeystore } from './keystoreFile.ts';
export type { WriteKeystoreOptions } from './keystoreFile.ts';
export type { BitcoinSigner, SignerKind, SignPsbtContext } from './port.ts';
export { createKeystoreSigner } from './keystoreSigner.ts';
export type { KeystoreSignerOptions } from './keystoreSigner.ts';
export { ethereumKeyPath, formatEthereumKeyPath, publicKeyToEthereumAddress, deriveEthereumAddress, deriveEthereumPrivateKey, deriveEthereumAccount, createEthereumKeySigner } from './ethereumKey.ts';
export type { SafeTxSigner } from './ethereumKey.ts';
