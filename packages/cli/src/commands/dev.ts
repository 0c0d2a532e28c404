import type { Command } from 'commander';
import { MofnError } from '@mofn/core';
import { createEvmClients, deploySafeSingletons, startDevChain, type SafeSingletons } from '@mofn/ethereum';
import { type Io } from '../io.ts';
import { parseIntegerOption } from './options.ts';

function printSingletons(io: Io, singletons: SafeSingletons, deployed: readonly string[]): void {
  for (const [name, address] of Object.entries(singletons)) io.out(`  ${name.padEnd(28)} ${address}${deployed.includes(name) ? '  (deployed now)' : ''}`);
}

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/** `mofn dev chain` and `mofn dev deploy-safe-singletons`: a local EVM chain for trying Safe flows. */
export function registerDevCommands(program: Command, io: Io): void {
  const dev = program.command('dev').description('local development chain (anvil) with the Safe v1.4.1 contracts');

  dev
    .command('chain')
    .description('start anvil on 127.0.0.1, deploy the Safe singletons, and run until Ctrl-C')
    .option('--chain-id <id>', 'EVM chain id', '31337')
    .action(async (opts: { chainId: string }) => {
      const chainId = parseIntegerOption('--chain-id', opts.chainId, 1, 2 ** 32);
      const chain = await startDevChain({ chainId });
      try {
        const clients = await createEvmClients(chain.rpcUrl, chain.chainId);
        const funder = chain.accounts[0];
        if (funder === undefined) throw new MofnError('devchain.no_accounts', 'anvil reported no unlocked accounts');
        const { singletons, deployed } = await deploySafeSingletons(clients, { account: funder });
        io.out(`dev chain ${chain.chainId} at ${chain.rpcUrl}`);
        io.out(`funded accounts: ${chain.accounts.slice(0, 3).join(', ')}${chain.accounts.length > 3 ? ', ...' : ''}`);
        io.out('Safe v1.4.1 singletons:');
        printSingletons(io, singletons, deployed);
        io.out('ready (Ctrl-C stops the chain; its state is not kept)');
        const signal = await untilStopped();
        io.err(`${signal}: stopping the dev chain`);
      } finally {
        await chain.stop();
      }
    });

  dev
    .command('deploy-safe-singletons')
    .description('deploy the Safe v1.4.1 singletons where missing on a dev chain (uses its first unlocked account)')
    .requiredOption('--rpc <url>', 'JSON-RPC URL of the dev chain')
    .option('--chain-id <id>', 'expected chain id (refuses another)')
    .action(async (opts: { rpc: string; chainId?: string }) => {
      const expected = opts.chainId === undefined ? undefined : parseIntegerOption('--chain-id', opts.chainId, 1, 2 ** 32);
      const clients = await createEvmClients(opts.rpc, expected);
      const accounts = await clients.wallet.getAddresses();
      const account = accounts[0];
      if (account === undefined) {
        throw new MofnError('devchain.no_accounts', `${opts.rpc} has no unlocked account to deploy from`, { hint: 'use a dev chain (anvil) or unlock an account' });
      }
      const { singletons, deployed } = await deploySafeSingletons(clients, { account });
      io.out(deployed.length === 0 ? 'all Safe v1.4.1 singletons were already deployed:' : `deployed ${deployed.length} Safe v1.4.1 singleton(s):`);
      printSingletons(io, singletons, deployed);
    });
}
