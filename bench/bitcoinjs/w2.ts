/** W2 (3-of-5 wsh sortedmulti, 3 signers) with bitcoinjs-lib. */
import { w2Fixture } from '../common/fixtures.ts';
import { runChild } from '../common/harness.ts';
import { runSpend } from './spend.ts';

await runChild((args) => w2Fixture(args.inputs || 200), (fx) => runSpend(fx));
