import type { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '@mofn/core';
import { listAddresses, verifyAddress } from '@mofn/service';
import { withStore } from '../context.ts';
import { toJson, type Io } from '../io.ts';
import { parseIntegerOption } from './options.ts';

/** `mofn address NAME ...` and `mofn address verify NAME ADDRESS`. */
export function registerAddressCommands(program: Command, io: Io): void {
  program
    .command('address')
    .usage('NAME [--change] [--index I] [--count N] [--json]\n       mofn address verify NAME ADDRESS [--bound N]')
    .description('derive receive/change addresses, or verify that an address belongs to a wallet')
    .argument('<args...>', 'NAME, or: verify NAME ADDRESS')
    .option('--change', 'change branch (/1/*) instead of receive (/0/*)')
    .option('--index <i>', 'first index', '0')
    .option('--count <n>', 'how many addresses', '1')
    .option('--bound <n>', 'verify: how many indexes to search on each branch', '10000')
    .option('--json', 'print JSON')
    .action(async (args: string[], opts: { change?: boolean; index: string; count: string; bound: string; json?: boolean }) => {
      if (args[0] === 'verify' && args.length === 3) {
        const [, name, address] = args as [string, string, string];
        const bound = parseIntegerOption('--bound', opts.bound, 1, 1_000_000);
        const result = await withStore((ctx) => verifyAddress(ctx, name, address, bound));
        if (!result.belongs) {
          throw new NotFoundError('address.not_in_wallet', `${address} does NOT belong to ${name} (searched indexes 0..${bound - 1} on receive and change)`, {
            hint: 'do not send to it if you expected a wallet address; a larger --bound searches further',
          });
        }
        if (opts.json) io.out(toJson(result));
        else io.out(`${address} belongs to ${name}: ${result.branch === 0 ? 'receive' : 'change'} index ${result.index} (path .../${result.path})\ncosigner paths: ${result.cosignerPaths.join(' ')}`);
        return;
      }
      if (args.length !== 1) throw new InvalidInputError('option.bad_arguments', `expected NAME or 'verify NAME ADDRESS', got ${args.length} arguments`);
      const index = parseIntegerOption('--index', opts.index, 0, 0x7fffffff);
      const count = parseIntegerOption('--count', opts.count, 1, 10_000);
      const list = await withStore((ctx) => listAddresses(ctx, args[0]!, { branch: opts.change ? 1 : 0, index, count }));
      if (opts.json) io.out(toJson(list));
      else io.out(list.map((a) => `${a.path}\t${a.address}`).join('\n'));
    });
}
