/** W4 (2-of-3 tr(NUMS, sortedmulti_a), 2 signers) with mofn. */
import { w4Fixture } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';
import { loadMofn, runSpend } from './spend.ts';

await runChild(
  async (args) => {
    const fx = w4Fixture(args.inputs || 50);
    return { fx, mofn: await loadMofn(fx.cosigners) };
  },
  ({ fx, mofn }) => runSpend(mofn, fx),
);
