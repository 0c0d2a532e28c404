/**
 * Electrum multisig wallet files (import only): `{ "wallet_type": "2of3", "x1/": {keystore},
 * "x2/": ..., ... }`. Electrum multisig is BIP-67 sorted; the script type is the one the
 * keystores' SLIP-132 version announces (xpub/tpub: P2SH, Ypub/Upub: P2SH-P2WSH, Zpub/Vpub: P2WSH).
 * Only public data is read: xpub, derivation, and the master fingerprint (`root_fingerprint` hex,
 * or Coldcard's `ckcc_xfp`, a little-endian uint32).
 */
import { findExtendedKeyVersion } from '../keys/index.ts';
import type { MultisigPolicy, Network, ScriptType } from '../types.ts';
import { buildPolicy, field, fileError, isJsonObject, keyPreview, parseFilePath, parseFingerprint, parseJsonObject } from './common.ts';
import type { FileKey } from './common.ts';

const FORMAT = 'Electrum';

/** A parsed Electrum multisig wallet. */
export interface ElectrumWallet {
  readonly policy: MultisigPolicy;
}

/** Electrum's whole-file encryption writes base64 of "BIE1...". */
function looksEncrypted(text: string): boolean {
  return text.trim().startsWith('QklFMQ');
}

function fingerprintOfKeystore(keystore: Record<string, unknown>, where: string): string | undefined {
  const root = field(keystore, 'root_fingerprint');
  if (typeof root === 'string' && root.length > 0) return parseFingerprint(root, `${where}.root_fingerprint`);
  const xfp = field(keystore, 'ckcc_xfp');
  if (xfp !== undefined && xfp !== null) {
    if (typeof xfp !== 'number' || !Number.isSafeInteger(xfp) || xfp < 0 || xfp > 0xffffffff) {
      throw fileError('walletfile.bad_fingerprint', `${where}.ckcc_xfp must be a 32-bit unsigned integer`, { details: { where } });
    }
    // Coldcard stores the fingerprint bytes as a little-endian integer.
    return [xfp & 0xff, (xfp >>> 8) & 0xff, (xfp >>> 16) & 0xff, (xfp >>> 24) & 0xff].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return undefined;
}

const SCRIPT_OF_VERSION: Readonly<Record<string, ScriptType | undefined>> = Object.freeze({ legacy: 'sh', 'sh-wsh': 'sh-wsh', wsh: 'wsh' });

/**
 * Parses an Electrum multisig wallet file.
 * @throws InvalidWalletFileError `walletfile.encrypted`, `walletfile.bad_json`, `walletfile.not_multisig`,
 *   `walletfile.missing_field`, `walletfile.key_count`, `walletfile.inconsistent` (keystores announce
 *   different script types), `walletfile.unsupported_type` (single-signature SLIP-132 keys), and the
 *   key/policy codes of the other parsers.
 */
export function parseElectrumWallet(text: string, network?: Network): ElectrumWallet {
  if (typeof text === 'string' && looksEncrypted(text)) {
    throw fileError('walletfile.encrypted', 'Electrum wallet file is encrypted', { hint: 'in Electrum, remove the file password (or export the xpubs) and import again' });
  }
  const json = parseJsonObject(text, FORMAT);
  const walletType = field(json, 'wallet_type');
  const match = typeof walletType === 'string' ? /^(\d{1,2})of(\d{1,2})$/u.exec(walletType) : null;
  if (!match) {
    throw fileError('walletfile.not_multisig', `Electrum wallet_type ${typeof walletType === 'string' ? `'${walletType.slice(0, 20)}'` : 'missing'} is not a multisig 'MofN'`);
  }
  const m = Number(match[1]);
  const n = Number(match[2]);
  const keys: FileKey[] = [];
  let type: ScriptType | undefined;
  for (let i = 1; i <= n; i++) {
    const where = `x${i}/`;
    const keystore = field(json, where);
    if (!isJsonObject(keystore)) {
      throw fileError('walletfile.missing_field', `Electrum ${walletType as string} wallet has no keystore '${where}'`, { details: { field: where } });
    }
    const xpub = field(keystore, 'xpub');
    if (typeof xpub !== 'string') throw fileError('walletfile.missing_field', `Electrum keystore '${where}' has no xpub`, { details: { field: `${where}.xpub` } });
    const version = findExtendedKeyVersion(xpub);
    if (version === undefined || version.kind !== 'public') {
      throw fileError(version?.kind === 'private' ? 'walletfile.private_key' : 'walletfile.bad_key', `Electrum keystore '${where}': '${keyPreview(xpub)}' is not an extended public key`, {
        details: { where },
      });
    }
    const keyType = SCRIPT_OF_VERSION[version.script];
    if (keyType === undefined) {
      throw fileError('walletfile.unsupported_type', `Electrum keystore '${where}' is a single-signature ${version.prefix} key`, { details: { where } });
    }
    if (type !== undefined && keyType !== type) {
      throw fileError('walletfile.inconsistent', `Electrum keystores disagree on the script type (${type} vs ${keyType} at '${where}')`);
    }
    type = keyType;
    const fingerprint = fingerprintOfKeystore(keystore, where);
    const derivation = field(keystore, 'derivation');
    const path = typeof derivation === 'string' && derivation.trim().length > 0 ? parseFilePath(derivation, `${where}.derivation`) : undefined;
    keys.push({ where, xpub, fingerprint: path === undefined ? undefined : fingerprint, path: fingerprint === undefined ? undefined : path });
  }
  if (field(json, `x${n + 1}/`) !== undefined) {
    throw fileError('walletfile.key_count', `Electrum wallet_type says ${n} keystores but 'x${n + 1}/' exists`);
  }
  return { policy: buildPolicy({ format: FORMAT, type: type ?? 'sh', threshold: m, keys, requestedNetwork: network, totalKeys: n }) };
}
