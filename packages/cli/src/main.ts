import { Command, CommanderError } from 'commander';
import { isMofnError } from '@mofn/core';
import { processIo, type Io } from './io.ts';
import { registerKeyCommands } from './commands/key.ts';
import { registerWalletCommands } from './commands/wallet.ts';
import { registerAddressCommands } from './commands/address.ts';
import { registerPsbtCommands } from './commands/psbt.ts';
import { registerDevCommands } from './commands/dev.ts';
import { registerServerCommands } from './commands/server.ts';
import { registerProposalCommands } from './commands/proposal.ts';
import { registerChainCommands } from './commands/chain.ts';
import { registerLabelCommands } from './commands/labels.ts';
import { registerSafeCommands } from './commands/safe.ts';

/** Builds the `mofn` program; `io` receives all output (tests pass their own). */
export function createProgram(io: Io = processIo): Command {
  const program = new Command('mofn')
    .description('mofn: self-hosted M-of-N multisig coordinator (Bitcoin wallets, sync and broadcast, the coordinator server; Safe dev chain)')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  registerKeyCommands(program, io);
  registerWalletCommands(program, io);
  registerAddressCommands(program, io);
  registerPsbtCommands(program, io);
  registerDevCommands(program, io);
  registerServerCommands(program, io);
  registerProposalCommands(program, io);
  registerChainCommands(program, io);
  registerLabelCommands(program, io);
  registerSafeCommands(program, io);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    for (const sub of cmd.commands) {
      sub.exitOverride();
      sub.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    }
  }
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 success, 1 a mofn error (message on stderr),
 * 2 a usage error, 70 an unexpected internal error.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (isMofnError(err)) {
      io.err(`error [${err.code}]: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
      return 1;
    }
    io.err(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    return 70;
  }
}
