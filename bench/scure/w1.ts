/** W1 with @scure/btc-signer 2 + @scure/bip32 2 (noble secp256k1); /0 branch nodes cached. */
import { HDKey } from '@scure/bip32';
import { p2ms, p2wsh, TEST_NETWORK } from '@scure/btc-signer';
import { TESTNET_VERSIONS, W1, compareBytes, sha256Hex } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';

await runChild(
  () => undefined,
  () => {
    const branches = W1.cosigners.map((c) => HDKey.fromExtendedKey(c.tpub, TESTNET_VERSIONS).deriveChild(0));
    const addresses: string[] = new Array<string>(W1.count);
    for (let i = 0; i < W1.count; i++) {
      const pubkeys = branches.map((node) => node.deriveChild(i).publicKey!).sort(compareBytes);
      const { address } = p2wsh(p2ms(W1.threshold, pubkeys), TEST_NETWORK);
      if (address === undefined) throw new Error(`scure: no address at ${i}`);
      addresses[i] = address;
    }
    return { digest: sha256Hex(addresses.join('\n')), info: { first: addresses[0]!, last: addresses[W1.count - 1]! } };
  },
);
