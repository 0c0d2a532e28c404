/** W2 (3-of-5 wsh sortedmulti, 3 signers) with mofn. */
import { w2Fixture } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';
import { loadMofn, runSpend } from './spend.ts';

await runChild(
  async (args) => {
    const fx = w2Fixture(args.inputs || 200);
    return { fx, mofn: await loadMofn(fx.cosigners) };
  },
  ({ fx, mofn }) => runSpend(mofn, fx),
);
