/**
 * The software keystore as a {@link BitcoinSigner}: PSBT bytes in, PSBT bytes with this
 * cosigner's partial signatures out. All the checks (inputs really belong to the wallet, change
 * really is the wallet's, fee caps, sighash types) are those of `signPsbt` in @mofn/bitcoin.
 */
import { KeystoreError, SigningRefusedError } from '@mofn/core';
import { createAddressDeriver, parsePsbt, serializePsbt, signPsbt, versionNetworkOf } from '@mofn/bitcoin';
import type { FeeCap } from '@mofn/bitcoin';
import type { UnlockedKeystore } from './keystore.ts';
import type { BitcoinSigner, SignPsbtContext } from './port.ts';

/** Options of {@link createKeystoreSigner}. */
export interface KeystoreSignerOptions {
  /** Fee limits the signer enforces (defaults: signPsbt's DEFAULT_FEE_CAP). */
  readonly feeCap?: FeeCap;
  readonly label?: string;
}

/**
 * A signer backed by an unlocked keystore. It keeps a reference to the keystore's root key:
 * after {@link lockKeystore} it refuses to sign.
 * @example const signer = createKeystoreSigner(await unlockKeystore(file, password));
 *          const signed = await signer.signPsbt(psbtBytes, { policy });
 */
export function createKeystoreSigner(unlocked: UnlockedKeystore, options: KeystoreSignerOptions = {}): BitcoinSigner {
  const { root, fingerprint, network } = unlocked;
  return Object.freeze({
    kind: 'software' as const,
    fingerprint,
    label: options.label ?? `Keystore ${fingerprint}`,
    signPsbt(psbt: Uint8Array, context: SignPsbtContext): Promise<Uint8Array> {
      // Promise.try semantics: every failure becomes a rejection, never a synchronous throw.
      return new Promise<Uint8Array>((resolve) => {
        context.signal?.throwIfAborted();
        if (root.privateKey.every((b) => b === 0)) {
          throw new KeystoreError('keystore.locked', `keystore ${fingerprint} was locked; unlock it again to sign`);
        }
        const { policy } = context;
        if (versionNetworkOf(policy.network) !== versionNetworkOf(network)) {
          throw new SigningRefusedError('signing.wrong_network', `keystore ${fingerprint} is a ${network} keystore; the wallet is on ${policy.network}`, {
            details: { keystore: network, wallet: policy.network },
          });
        }
        const result = signPsbt(parsePsbt(psbt), createAddressDeriver(policy), { root }, options.feeCap ? { feeCap: options.feeCap } : {});
        resolve(serializePsbt(result.psbt));
      });
    },
  });
}
