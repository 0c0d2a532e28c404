// Demo only: a made-up transaction paying SATS to ADDRESS, printed as "TXID RAWHEX", so the demo's
// spend carries the full previous transaction (non_witness_utxo) like a real wallet's would.
import { addressToScript, parseNetwork, serializeTransaction, sha256, toHex, transactionId } from '@mofn/bitcoin';

const [address, sats, network] = process.argv.slice(2) as [string, string, string];
const tx = {
  version: 2,
  locktime: 0,
  inputs: [{ txid: toHex(sha256(new TextEncoder().encode(`mofn demo funding ${address}`))), vout: 0, scriptSig: Uint8Array.of(0x51), sequence: 0xfffffffe, witness: [] }],
  outputs: [{ amount: BigInt(sats), script: addressToScript(address, parseNetwork(network)) }],
};
process.stdout.write(`${transactionId(tx)} ${toHex(serializeTransaction(tx))}\n`);
