/**
 * W1 with @caravan/bitcoin: the /0 branch tpub is derived once per cosigner
 * (deriveChildExtendedPublicKey), then deriveChildPublicKey + generateMultisigFromPublicKeys per
 * address. Caravan's API takes base58 strings, so it re-parses the branch key for every child.
 */
import { deriveChildExtendedPublicKey, deriveChildPublicKey, generateMultisigFromPublicKeys, Network, P2WSH } from '@caravan/bitcoin';
import { W1, sha256Hex } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';

await runChild(
  () => undefined,
  () => {
    const branches = W1.cosigners.map((c) => deriveChildExtendedPublicKey(c.tpub, 'm/0', Network.TESTNET));
    const addresses: string[] = new Array<string>(W1.count);
    for (let i = 0; i < W1.count; i++) {
      // BIP-67: compressed keys sorted lexicographically; equal-length hex sorts the same way.
      const pubkeys = branches.map((branch) => deriveChildPublicKey(branch, `m/${i}`, Network.TESTNET)).sort();
      const multisig = generateMultisigFromPublicKeys(Network.TESTNET, P2WSH, W1.threshold, ...pubkeys);
      const address = multisig?.address;
      if (address === undefined) throw new Error(`caravan: no address at ${i}`);
      addresses[i] = address;
    }
    return { digest: sha256Hex(addresses.join('\n')), info: { first: addresses[0]!, last: addresses[W1.count - 1]! } };
  },
);
