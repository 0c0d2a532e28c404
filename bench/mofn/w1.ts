/** W1 with mofn: createPolicy + createAddressDeriver (which caches the branch nodes). */
import { W1, sha256Hex } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';
import { keyExpression, loadMofnModule } from './load.ts';
import type * as Wallet from '../../packages/bitcoin/src/wallet/index.ts';

await runChild(
  () => loadMofnModule<typeof Wallet>('wallet/index.ts', ['createPolicy', 'createAddressDeriver']),
  (wallet) => {
    const policy = wallet.createPolicy({
      type: 'wsh',
      threshold: W1.threshold,
      keys: W1.cosigners.map(keyExpression),
      network: 'test',
      sorted: true,
    });
    const deriver = wallet.createAddressDeriver(policy);
    const addresses: string[] = new Array<string>(W1.count);
    for (let i = 0; i < W1.count; i++) addresses[i] = deriver.derive(0, i).address;
    return { digest: sha256Hex(addresses.join('\n')), info: { first: addresses[0]!, last: addresses[W1.count - 1]! } };
  },
);
