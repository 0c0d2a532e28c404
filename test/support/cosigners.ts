/**
 * Test cosigners: deterministic HD keys from seeds, computed with @scure/bip32 (an implementation
 * independent of mofn's own key code), exported as origin-annotated account xpubs.
 */
import { HDKey } from '@scure/bip32';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const TESTNET_VERSIONS = { private: 0x04358394, public: 0x043587cf };
export const MAINNET_VERSIONS = { private: 0x0488ade4, public: 0x0488b21e };

export interface TestCosigner {
  readonly seed: Uint8Array;
  readonly root: HDKey;
  readonly fingerprint: string;
  readonly path: string;
  readonly account: HDKey;
  /** `[fingerprint/48h/1h/0h/2h]tpub...` */
  readonly key: string;
}

/** A cosigner from a label; the same label always gives the same keys. */
export function testCosigner(label: string, options: { network?: 'main' | 'test'; path?: string } = {}): TestCosigner {
  const versions = options.network === 'main' ? MAINNET_VERSIONS : TESTNET_VERSIONS;
  const path = options.path ?? (options.network === 'main' ? "m/48'/0'/0'/2'" : "m/48'/1'/0'/2'");
  const seed = sha256(new TextEncoder().encode(`mofn-test-cosigner-${label}`));
  const root = HDKey.fromMasterSeed(seed, versions);
  const account = root.derive(path);
  const fingerprint = root.fingerprint.toString(16).padStart(8, '0');
  const originPath = path.replace(/^m\//, '').replace(/'/g, 'h');
  return { seed, root, fingerprint, path, account, key: `[${fingerprint}/${originPath}]${account.publicExtendedKey}` };
}

/** Hex of bytes (re-exported for tests). */
export const hex = bytesToHex;
