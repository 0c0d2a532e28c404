/** W4 (2-of-3 tr(NUMS, sortedmulti_a), 2 signers) with bitcoinjs-lib. */
import { w4Fixture } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';
import { runSpend } from './spend.ts';

await runChild((args) => w4Fixture(args.inputs || 50), (fx) => runSpend(fx));
