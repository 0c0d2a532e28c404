import type { Command } from 'commander';
import { InvalidInputError } from '@mofn/core';
import { parseNetwork } from '@mofn/bitcoin';
import { createWallet, exportWallet, importWallet, listWallets, loadWallet, type WalletExportFormat, type WalletView } from '@mofn/service';
import { withStore } from '../context.ts';
import { readInput, toJson, type Io } from '../io.ts';
import { collect, parseIntegerOption, parseScriptType } from './options.ts';

function describe(view: WalletView): string {
  const lines = [
    `${view.name}  (${view.threshold}-of-${view.total} ${view.type}${view.sorted ? '' : ', unsorted multi'}, ${view.network})`,
    `id          ${view.id}`,
    `descriptor  ${view.descriptor}`,
    'cosigners:',
    ...view.cosigners.map((c) => `  #${c.position + 1}  ${c.fingerprint}  ${c.path ?? '(no origin)'}  ${c.xpub}`),
  ];
  return lines.join('\n');
}

/** `mofn wallet create|import|export|show|list`. */
export function registerWalletCommands(program: Command, io: Io): void {
  const wallet = program.command('wallet').description('multisig wallets: create from cosigner keys, import, export, show');

  wallet
    .command('create <name>')
    .description('create an M-of-N wallet from cosigner keys ([fingerprint/path]xpub, or SLIP-132 forms)')
    .requiredOption('--threshold <m>', 'signatures required (M)')
    .requiredOption('--key <key>', 'a cosigner key (repeat for each cosigner)', collect, [])
    .option('--type <type>', 'wsh|sh-wsh|sh|tr', 'wsh')
    .option('--network <network>', 'main|test|signet|regtest', 'main')
    .option('--multi', 'keep the key order (multi) instead of BIP-67 sorting (sortedmulti)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { threshold: string; key: string[]; type: string; network: string; multi?: boolean; json?: boolean }) => {
      const threshold = parseIntegerOption('--threshold', opts.threshold, 1, 999);
      const view = await withStore((ctx) =>
        createWallet(ctx, { name, threshold, keys: opts.key, type: parseScriptType(opts.type), network: parseNetwork(opts.network), sorted: !opts.multi }),
      );
      io.out(opts.json ? toJson(view) : describe(view));
    });

  wallet
    .command('import <file>')
    .description('import a wallet from a descriptor, Caravan JSON or Coldcard multisig file (- for stdin)')
    .option('--name <name>', 'wallet name (required when the file has none)')
    .option('--network <network>', 'network, when the file cannot tell (descriptors with tpubs)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { name?: string; network?: string; json?: boolean }) => {
      const text = readInput(file);
      const view = await withStore((ctx) =>
        importWallet(ctx, { text, ...(opts.name === undefined ? {} : { name: opts.name }), ...(opts.network === undefined ? {} : { network: parseNetwork(opts.network) }) }),
      );
      io.out(opts.json ? toJson(view) : describe(view));
    });

  wallet
    .command('export <name>')
    .description('export a wallet for other coordinators and devices')
    .requiredOption('--format <format>', 'descriptor|caravan|coldcard')
    .action(async (name: string, opts: { format: string }) => {
      if (!['descriptor', 'caravan', 'coldcard'].includes(opts.format)) {
        throw new InvalidInputError('option.bad_format', `unknown format '${opts.format}'`, { hint: 'use descriptor, caravan or coldcard' });
      }
      io.out(await withStore((ctx) => exportWallet(ctx, name, opts.format as WalletExportFormat)));
    });

  wallet
    .command('show <name>')
    .description('show a wallet: quorum, type, network, cosigners, descriptor')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { view } = await withStore((ctx) => loadWallet(ctx, name));
      io.out(opts.json ? toJson(view) : describe(view));
    });

  wallet
    .command('list')
    .description('list stored wallets')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const views = await withStore((ctx) => listWallets(ctx));
      if (opts.json) io.out(toJson(views));
      else io.out(views.length ? views.map((v) => `${v.name}\t${v.threshold}-of-${v.total} ${v.type} ${v.network}\t${v.id.slice(0, 16)}`).join('\n') : 'no wallets yet: mofn wallet create --help');
    });
}
