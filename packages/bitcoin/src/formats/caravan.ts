/**
 * Caravan wallet configuration JSON (Unchained / caravan-bitcoin coordinator):
 * `{ name, addressType, network, quorum: { requiredSigners, totalSigners },
 *    extendedPublicKeys: [{ name, bip32Path, xpub, xfp, method }], startingAddressIndex, client }`.
 * Caravan always builds BIP-67 sorted multisig, so every imported policy is sortedmulti.
 */
import type { MultisigPolicy, Network, ScriptType } from '../types.ts';
import { encodeExtendedPublicKey } from '../keys/index.ts';
import { buildPolicy, field, lookup, fileError, formatFilePath, isJsonObject, parseFilePath, parseFingerprint, parseJsonObject, requireSortedMulti } from './common.ts';
import type { FileKey } from './common.ts';

const FORMAT = 'Caravan';

/** Caravan `addressType` values and the script types they mean. */
const ADDRESS_TYPES: Readonly<Record<string, ScriptType>> = Object.freeze({ P2SH: 'sh', P2WSH: 'wsh', 'P2SH-P2WSH': 'sh-wsh' });
const ADDRESS_TYPE_NAMES: Readonly<Partial<Record<ScriptType, string>>> = Object.freeze({ sh: 'P2SH', wsh: 'P2WSH', 'sh-wsh': 'P2SH-P2WSH' });
/** Caravan `network` values (caravan-bitcoin's Network enum). */
const NETWORKS: Readonly<Record<string, Network>> = Object.freeze({ mainnet: 'main', testnet: 'test', signet: 'signet', regtest: 'regtest' });
const NETWORK_NAMES: Readonly<Record<Network, string>> = Object.freeze({ main: 'mainnet', test: 'testnet', signet: 'signet', regtest: 'regtest' });

/** A parsed Caravan configuration. */
export interface CaravanWallet {
  readonly name: string;
  readonly policy: MultisigPolicy;
  /** First address index Caravan shows (informational; derivation always starts at 0). */
  readonly startingAddressIndex: number;
  /** Caravan's per-key names, in the file's order (policy keys keep that order). */
  readonly keyNames: readonly string[];
}

/** Options of {@link parseCaravanConfig}. */
export interface ParseCaravanOptions {
  /** Network the caller expects; the file's `network` must agree. */
  readonly network?: Network;
}

/**
 * Parses a Caravan wallet configuration. `bip32Path: "Unknown"` is accepted and gives a key
 * without origin (Caravan's own convention for keys of unknown provenance).
 * @throws InvalidWalletFileError `walletfile.*`: `bad_json`, `not_object`, `missing_field`,
 *   `bad_field`, `unsupported_type`, `bad_network`, `key_count`, `bad_quorum`, `bad_key`,
 *   `bad_path`, `bad_fingerprint`, `wrong_network`, `path_depth_mismatch`, `bad_policy`...
 * @example parseCaravanConfig(readFileSync('caravan.json', 'utf8')).policy
 */
export function parseCaravanConfig(text: string, options: ParseCaravanOptions = {}): CaravanWallet {
  const json = parseJsonObject(text, FORMAT);
  const name = field(json, 'name');
  if (typeof name !== 'string' || name.trim().length === 0) throw missing('name', 'a non-empty string');
  const addressType = field(json, 'addressType');
  if (typeof addressType !== 'string') throw missing('addressType', 'P2SH, P2WSH or P2SH-P2WSH');
  const type = lookup(ADDRESS_TYPES, addressType.trim().toUpperCase());
  if (type === undefined) {
    throw fileError('walletfile.unsupported_type', `Caravan addressType '${addressType.slice(0, 20)}' is not supported (P2SH, P2WSH, P2SH-P2WSH)`, {
      details: { addressType: addressType.slice(0, 20) },
    });
  }
  const networkName = field(json, 'network');
  if (typeof networkName !== 'string') throw missing('network', 'mainnet, testnet, signet or regtest');
  const declaredNetwork = lookup(NETWORKS, networkName.trim().toLowerCase());
  if (declaredNetwork === undefined) {
    throw fileError('walletfile.bad_network', `Caravan network '${networkName.slice(0, 20)}' is not mainnet, testnet, signet or regtest`);
  }
  const quorum = field(json, 'quorum');
  if (!isJsonObject(quorum)) throw missing('quorum', 'an object { requiredSigners, totalSigners }');
  const required = field(quorum, 'requiredSigners');
  const total = field(quorum, 'totalSigners');
  if (typeof required !== 'number' || !Number.isSafeInteger(required)) throw badField('quorum.requiredSigners', 'an integer');
  if (typeof total !== 'number' || !Number.isSafeInteger(total)) throw badField('quorum.totalSigners', 'an integer');
  const list = field(json, 'extendedPublicKeys');
  if (!Array.isArray(list)) throw missing('extendedPublicKeys', 'an array');
  if (list.length > 100) throw badField('extendedPublicKeys', 'at most 100 entries');

  const keyNames: string[] = [];
  const keys: FileKey[] = list.map((entry: unknown, i) => {
    const where = `extendedPublicKeys[${i}]`;
    if (!isJsonObject(entry)) throw badField(where, 'an object');
    const xpub = field(entry, 'xpub');
    if (typeof xpub !== 'string') throw badField(`${where}.xpub`, 'a string');
    const keyName = field(entry, 'name');
    keyNames.push(typeof keyName === 'string' ? keyName : '');
    const pathText = field(entry, 'bip32Path');
    if (pathText !== undefined && typeof pathText !== 'string') throw badField(`${where}.bip32Path`, "a path string or 'Unknown'");
    const xfp = field(entry, 'xfp');
    const unknownPath = pathText === undefined || pathText.trim().toLowerCase() === 'unknown';
    // Without a path the fingerprint alone cannot form a key origin (BIP-380 origins need both).
    const fingerprint = xfp === undefined || xfp === null || xfp === '' ? undefined : parseFingerprint(xfp, where);
    const path = unknownPath ? undefined : parseFilePath(pathText, where);
    return { where, xpub, fingerprint: path === undefined ? undefined : fingerprint, path: fingerprint === undefined ? undefined : path };
  });

  const startRaw = field(json, 'startingAddressIndex');
  let startingAddressIndex = 0;
  if (startRaw !== undefined) {
    if (typeof startRaw !== 'number' || !Number.isSafeInteger(startRaw) || startRaw < 0 || startRaw >= 2 ** 31) {
      throw badField('startingAddressIndex', 'an integer 0..2^31-1');
    }
    startingAddressIndex = startRaw;
  }

  const policy = buildPolicy({
    format: FORMAT,
    type,
    threshold: required,
    keys,
    declaredNetwork,
    requestedNetwork: options.network,
    totalKeys: total,
  });
  return { name: name.trim(), policy, startingAddressIndex, keyNames };
}

function missing(name: string, expected: string) {
  return fileError('walletfile.missing_field', `Caravan file needs '${name}': ${expected}`, { details: { field: name } });
}

function badField(name: string, expected: string) {
  return fileError('walletfile.bad_field', `Caravan field '${name}' must be ${expected}`, { details: { field: name } });
}

/** Options of {@link exportCaravanConfig}. */
export interface ExportCaravanOptions {
  /** Per-key names (default `Key <n> (<fingerprint>)`). */
  readonly keyNames?: readonly string[];
  readonly startingAddressIndex?: number;
}

/**
 * Writes a policy as a Caravan wallet configuration (2-space indented JSON, trailing newline).
 * Keys without origin are written with `bip32Path: "Unknown"` and no `xfp`.
 * @throws InvalidWalletFileError `walletfile.unsupported_type` (tr), `walletfile.unsupported_unsorted`
 *   (multi), `walletfile.bad_name`.
 */
export function exportCaravanConfig(policy: MultisigPolicy, name: string, options: ExportCaravanOptions = {}): string {
  requireSortedMulti(policy, FORMAT, ['sh', 'wsh', 'sh-wsh']);
  if (typeof name !== 'string' || name.trim().length === 0) throw fileError('walletfile.bad_name', 'Caravan wallet name must be a non-empty string');
  const keyNames = options.keyNames;
  if (keyNames !== undefined && keyNames.length !== policy.keys.length) {
    throw fileError('walletfile.bad_field', `${keyNames.length} key names given for ${policy.keys.length} keys`);
  }
  const config = {
    name: name.trim(),
    addressType: ADDRESS_TYPE_NAMES[policy.type]!,
    network: NETWORK_NAMES[policy.network],
    client: { type: 'public' },
    quorum: { requiredSigners: policy.threshold, totalSigners: policy.keys.length },
    extendedPublicKeys: policy.keys.map((key, i) => ({
      name: keyNames?.[i] ?? (key.origin ? `Key ${i + 1} (${key.origin.fingerprint})` : `Key ${i + 1}`),
      bip32Path: key.origin ? formatFilePath(key.origin.path) : 'Unknown',
      xpub: encodeExtendedPublicKey(key.xpub, policy.network),
      ...(key.origin ? { xfp: key.origin.fingerprint } : {}),
      method: 'text',
    })),
    startingAddressIndex: options.startingAddressIndex ?? 0,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
