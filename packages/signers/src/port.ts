/**
 * The signer port: the one small interface every Bitcoin signer implements (software keystore,
 * hardware wallet, air-gapped file or QR exchange), so the coordinator's signing flow is written
 * once. Like bitcoinjs-lib's `SignerAsync` it is asynchronous (a device or a person may take
 * minutes), and like caravan's keystore interface it speaks whole PSBTs (BIP-174), which every
 * signer understands.
 */
import type { MultisigPolicy } from '@mofn/bitcoin';

/** How a signer holds its key. */
export type SignerKind = 'software' | 'hardware' | 'airgap';

/** What a signer is told about the PSBT it signs. */
export interface SignPsbtContext {
  /**
   * The wallet the PSBT spends from. Signers sign only inputs of this wallet and may check change
   * outputs against it (hardware signers register it before signing).
   */
  readonly policy: MultisigPolicy;
  /** The wallet's name as registered on devices (Coldcard, Ledger wallet policies). */
  readonly walletName?: string;
  /** Lets a long operation (waiting for a device or a person) be cancelled. */
  readonly signal?: AbortSignal;
}

/** A cosigner able to add its partial signatures to a PSBT. */
export interface BitcoinSigner {
  readonly kind: SignerKind;
  /** Master key fingerprint, 8 lower-case hex characters (BIP-32): which cosigner this is. */
  readonly fingerprint: string;
  /** Human label for prompts and logs ("Keystore 0f056943", "Coldcard Mk4"...). */
  readonly label: string;
  /**
   * Signs every input of `context.policy` this signer holds a key for.
   * @param psbt - serialized PSBT (BIP-174; BIP-370 version 2 accepted where the signer supports it)
   * @returns the serialized PSBT with this signer's partial signatures added
   * @throws SigningRefusedError when a safety rule forbids signing (not a cosigner, wrong network...)
   */
  signPsbt(psbt: Uint8Array, context: SignPsbtContext): Promise<Uint8Array>;
}
