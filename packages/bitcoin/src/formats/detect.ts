/**
 * Recognising a wallet file and importing it with the right parser.
 */
import { isMofnError } from '@mofn/core';
import type { MultisigPolicy, Network } from '../types.ts';
import { policyFromDescriptor, walletIdOf } from '../wallet/index.ts';
import { parseCaravanConfig } from './caravan.ts';
import { parseColdcardConfig } from './coldcard.ts';
import { assertFileText, field, fileError, isJsonObject, MAX_WALLET_FILE_CHARS } from './common.ts';
import type { JsonObject } from './common.ts';
import { parseElectrumWallet } from './electrum.ts';

/** The wallet-file kinds mofn reads. `coldcard-xpub` is one cosigner's key, not a wallet. */
export type WalletFileKind = 'descriptor' | 'caravan' | 'coldcard' | 'coldcard-xpub' | 'electrum';

const DESCRIPTOR_START = /^(?:sh|wsh|tr)\(/u;

function tryJson(text: string): JsonObject | undefined {
  const trimmed = text.replace(/^\uFEFF/u, '').trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Non-blank lines that are not `#` comments. */
function meaningfulLines(text: string): string[] {
  return text
    .replace(/^\uFEFF/u, '')
    .split(/\r?\n|\r/u)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

function jsonKind(json: JsonObject): WalletFileKind | undefined {
  if (Array.isArray(field(json, 'extendedPublicKeys')) && isJsonObject(field(json, 'quorum'))) return 'caravan';
  const walletType = field(json, 'wallet_type');
  if (typeof walletType === 'string' && isJsonObject(field(json, 'x1/'))) return 'electrum';
  if (typeof field(json, 'xfp') === 'string' && ['p2sh', 'p2wsh', 'p2sh_p2wsh', 'p2tr'].some((k) => typeof field(json, k) === 'string')) {
    return 'coldcard-xpub';
  }
  // Specter / Sparrow style JSON carrying an output descriptor.
  if (typeof field(json, 'descriptor') === 'string') return 'descriptor';
  return undefined;
}

/**
 * Guesses what kind of wallet file `text` is, from its structure only (nothing is validated).
 * Never throws.
 * @returns the kind, or undefined if it is none mofn reads
 */
export function detectWalletFile(text: string): WalletFileKind | undefined {
  if (typeof text !== 'string' || text.length > MAX_WALLET_FILE_CHARS) return undefined;
  const json = tryJson(text);
  if (json !== undefined) return jsonKind(json);
  const lines = meaningfulLines(text);
  if (lines.length === 0) return undefined;
  if (lines.every((l) => DESCRIPTOR_START.test(l))) return 'descriptor';
  const coldcard = lines.some((l) => /^policy\s*:/iu.test(l)) || lines.some((l) => /^[0-9a-f]{8}\s*:\s*[a-z]pub/iu.test(l));
  return coldcard ? 'coldcard' : undefined;
}

/** Options of {@link importWalletFile}. */
export interface ImportWalletFileOptions {
  /** Network the caller expects; the file must agree. */
  readonly network?: Network;
  /** Name to use when the file has none (descriptor and Electrum files). */
  readonly name?: string;
}

/** A wallet read from a file. */
export interface ImportedWalletFile {
  readonly kind: WalletFileKind;
  readonly name?: string;
  readonly policy: MultisigPolicy;
}

function descriptorPolicy(descriptor: string, index: number, network: Network | undefined): MultisigPolicy {
  try {
    return policyFromDescriptor(descriptor, network);
  } catch (cause) {
    if (!isMofnError(cause)) throw cause;
    throw fileError('walletfile.bad_descriptor', `descriptor ${index + 1} of the file: ${cause.message}`, {
      cause,
      details: { reason: cause.code, index: index + 1 },
      ...(cause.hint ? { hint: cause.hint } : {}),
    });
  }
}

/**
 * Imports a descriptor file: one descriptor per line (`#` comments allowed), e.g. a multipath
 * descriptor, or the receive and change descriptors of one wallet, which must then agree.
 */
function importDescriptorText(descriptors: readonly string[], network: Network | undefined): MultisigPolicy {
  if (descriptors.length === 0) throw fileError('walletfile.empty', 'descriptor file holds no descriptor');
  if (descriptors.length > 2) throw fileError('walletfile.too_many_descriptors', `descriptor file holds ${descriptors.length} descriptors; expected one wallet (receive and change at most)`);
  const policies = descriptors.map((d, i) => descriptorPolicy(d, i, network));
  const first = policies[0]!;
  if (policies.some((p) => walletIdOf(p) !== walletIdOf(first))) {
    throw fileError('walletfile.inconsistent', 'the descriptors in the file describe different wallets');
  }
  return first;
}

/**
 * Imports any wallet file mofn reads (see {@link detectWalletFile}) into a policy.
 * @throws InvalidWalletFileError `walletfile.unknown_format`, `walletfile.not_a_wallet` (a single
 *   cosigner's xpub export: use parseColdcardXpubExport), and each parser's `walletfile.*` codes
 *   (descriptor errors are wrapped as `walletfile.bad_descriptor` with the descriptor code in details).
 */
export function importWalletFile(text: string, options: ImportWalletFileOptions = {}): ImportedWalletFile {
  assertFileText(text, 'wallet');
  const kind = detectWalletFile(text);
  const withName = (name: string | undefined) => {
    const n = name ?? options.name;
    return n !== undefined && n.length > 0 ? { name: n } : {};
  };
  switch (kind) {
    case 'caravan': {
      const w = parseCaravanConfig(text, options.network ? { network: options.network } : {});
      return { kind, name: w.name, policy: w.policy };
    }
    case 'coldcard': {
      const w = parseColdcardConfig(text, options.network);
      return { kind, name: w.name, policy: w.policy };
    }
    case 'electrum':
      return { kind, ...withName(undefined), policy: parseElectrumWallet(text, options.network).policy };
    case 'descriptor': {
      const json = tryJson(text);
      if (json !== undefined) {
        const label = field(json, 'label') ?? field(json, 'name');
        const policy = importDescriptorText([field(json, 'descriptor') as string], options.network);
        return { kind, ...withName(typeof label === 'string' ? label : undefined), policy };
      }
      return { kind, ...withName(undefined), policy: importDescriptorText(meaningfulLines(text), options.network) };
    }
    case 'coldcard-xpub':
      throw fileError('walletfile.not_a_wallet', "this is one Coldcard's xpub export, not a wallet", {
        hint: 'read the cosigner key with parseColdcardXpubExport and create the wallet from all cosigners',
      });
    case undefined:
      throw fileError('walletfile.unknown_format', 'not a wallet file mofn reads (descriptor, Caravan JSON, Coldcard setup file, Electrum multisig)');
  }
}
