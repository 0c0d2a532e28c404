/** W1 with bitcoinjs-lib 7 + bip32 5 + tiny-secp256k1 (libsecp256k1 as WASM); /0 branch nodes cached. */
import * as bitcoin from 'bitcoinjs-lib';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { W1, compareBytes, sha256Hex } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';

const bip32 = BIP32Factory(ecc);
const network = bitcoin.networks.testnet;

await runChild(
  () => undefined,
  () => {
    const branches = W1.cosigners.map((c) => bip32.fromBase58(c.tpub, network).derive(0));
    const addresses: string[] = new Array<string>(W1.count);
    for (let i = 0; i < W1.count; i++) {
      const pubkeys = branches.map((node) => node.derive(i).publicKey).sort(compareBytes);
      const { address } = bitcoin.payments.p2wsh({
        redeem: bitcoin.payments.p2ms({ m: W1.threshold, pubkeys, network }),
        network,
      });
      if (address === undefined) throw new Error(`bitcoinjs: no address at ${i}`);
      addresses[i] = address;
    }
    return { digest: sha256Hex(addresses.join('\n')), info: { first: addresses[0]!, last: addresses[W1.count - 1]! } };
  },
);
