import type { Command } from 'commander';
import { exportLabels, importLabels } from '@mofn/service';
import { withStore } from '../context.ts';
import { readInput, writeOutput, type Io } from '../io.ts';

/** `mofn labels import|export`: BIP-329 wallet labels (JSON Lines). */
export function registerLabelCommands(program: Command, io: Io): void {
  const labels = program.command('labels').description('BIP-329 labels of transactions, addresses and outputs: import and export (JSON Lines)');

  labels
    .command('import <wallet> <file>')
    .description('import BIP-329 JSON Lines (- for stdin); records without a label or spendable flag leave those as they are')
    .action(async (wallet: string, file: string) => {
      const text = readInput(file);
      const result = await withStore((ctx) => importLabels(ctx, wallet, text));
      io.err(`imported ${result.imported} label(s)${result.ignored ? `, ignored ${result.ignored} record(s) of unknown type` : ''}`);
    });

  labels
    .command('export <wallet>')
    .description('print the wallet labels as BIP-329 JSON Lines')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (wallet: string, opts: { out?: string }) => {
      const text = await withStore((ctx) => exportLabels(ctx, wallet));
      if (opts.out !== undefined) writeOutput(opts.out, text);
      else if (text !== '') io.out(text);
    });
}
