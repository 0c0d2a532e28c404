import type { Command } from 'commander';
import { InvalidInputError } from '@mofn/core';
import { defaultAccountPath, parseDerivationPath, parseNetwork, type ScriptType } from '@mofn/bitcoin';
import { createKeystore, generateMnemonic, lockKeystore, readKeystore, unlockKeystore, keystoreXpub, writeKeystore } from '@mofn/signers';
import { readInput, type Io } from '../io.ts';
import { getPassword } from '../password.ts';
import { parseScriptType } from './options.ts';

/** `mofn key new|import|xpub`: the encrypted software keystore on this machine. */
export function registerKeyCommands(program: Command, io: Io): void {
  const key = program.command('key').description('software keystore: create, import, show xpubs (keys never leave this machine)');

  key
    .command('new')
    .description('create a BIP-39 mnemonic (shown once) and an encrypted keystore file')
    .requiredOption('--keystore <file>', 'keystore file to write')
    .option('--network <network>', 'main|test|signet|regtest', 'main')
    .option('--words <n>', '12 or 24 words', '24')
    .action(async (opts: { keystore: string; network: string; words: string }) => {
      const network = parseNetwork(opts.network);
      const strength = opts.words === '12' ? 128 : opts.words === '24' ? 256 : undefined;
      if (strength === undefined) throw new InvalidInputError('key.bad_words', `--words must be 12 or 24, got '${opts.words}'`);
      const password = getPassword({ confirm: true, prompt: 'New keystore password: ' });
      const mnemonic = generateMnemonic(strength);
      const file = await createKeystore({ mnemonic, password, network });
      await writeKeystore(opts.keystore, file);
      io.err('Write these words down, in order, and keep them offline. They are shown only once.');
      io.out(mnemonic);
      io.err(`keystore ${opts.keystore}: fingerprint ${file.fingerprint}, network ${network}`);
    });

  key
    .command('import')
    .description('import a BIP-39 mnemonic from stdin (line 1; optional BIP-39 passphrase on line 2)')
    .requiredOption('--keystore <file>', 'keystore file to write')
    .option('--network <network>', 'main|test|signet|regtest', 'main')
    .action(async (opts: { keystore: string; network: string }) => {
      const network = parseNetwork(opts.network);
      const lines = readInput('-').split(/\r?\n/);
      const mnemonic = (lines[0] ?? '').trim().toLowerCase().split(/\s+/).join(' ');
      const passphrase = lines[1] ?? '';
      const password = getPassword({ confirm: true, prompt: 'New keystore password: ' });
      const file = await createKeystore({ mnemonic, ...(passphrase ? { passphrase } : {}), password, network });
      await writeKeystore(opts.keystore, file);
      io.out(`keystore ${opts.keystore}: fingerprint ${file.fingerprint}, network ${network}`);
    });

  key
    .command('xpub')
    .description('print the origin-annotated xpub ([fingerprint/path]xpub) to give to the wallet creator')
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--path <path>', "derivation path (default: BIP-48 for --type, e.g. m/48'/0'/0'/2')")
    .option('--type <type>', 'wsh|sh-wsh|sh|tr: picks the default path', 'wsh')
    .option('--account <n>', 'account number for the default path', '0')
    .action(async (opts: { keystore: string; path?: string; type: string; account: string }) => {
      const file = await readKeystore(opts.keystore);
      const type: ScriptType = parseScriptType(opts.type);
      const account = Number(opts.account);
      if (!Number.isSafeInteger(account) || account < 0 || account >= 0x80000000) throw new InvalidInputError('key.bad_account', `--account must be 0..2147483647, got '${opts.account}'`);
      const path = opts.path !== undefined ? parseDerivationPath(opts.path) : defaultAccountPath(type, file.network, account);
      const unlocked = await unlockKeystore(file, getPassword());
      try {
        io.out(keystoreXpub(unlocked, path));
      } finally {
        lockKeystore(unlocked);
      }
    });
}
