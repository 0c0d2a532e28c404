/**
 * Script hashes: the key under which indexers (Electrum servers, Esplora) file an output script.
 * Both hash the scriptPubKey with single SHA-256; the Electrum protocol writes the digest
 * byte-reversed (like a txid), Esplora's `/scripthash/:hash` in natural order.
 */
import { sha256 } from '../hash.ts';
import { toHex } from '../tx/bytes.ts';

/**
 * The Electrum-protocol script hash: sha256(scriptPubKey), byte-reversed, lower-case hex.
 * @example electrumScriptHash(fromHex('76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac'))
 *   // '8b01df4e368ea28f8dc0423bcf7a4923e3a12d307c875e47a0cfbf90b5c39161' (the protocol docs' example)
 */
export function electrumScriptHash(scriptPubKey: Uint8Array): string {
  return toHex(sha256(scriptPubKey).reverse());
}

/** The Esplora script hash: sha256(scriptPubKey) in natural byte order, lower-case hex. */
export function esploraScriptHash(scriptPubKey: Uint8Array): string {
  return toHex(sha256(scriptPubKey));
}
