import type { Command } from 'commander';
import { InvalidInputError, formatBtc } from '@mofn/core';
import { psbtToBase64, type Psbt } from '@mofn/bitcoin';
import { combineSpends, createChainSpend, createSpend, finalizeSpend, inspectSpend, openWalletBackend, parseOutpoint, parsePaymentSpec, parseUtxoSpec, signSpend } from '@mofn/service';
import { lockKeystore, readKeystore, unlockKeystore } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { getPassword } from '../password.ts';
import { collect, parseIntegerOption } from './options.ts';
import { formatSummary } from './psbtSummary.ts';

function emit(io: Io, text: string, out: string | undefined): void {
  if (out === undefined) io.out(text);
  else writeOutput(out, `${text}\n`);
}

/** A PSBT file's text: base64 (what other wallets write), hex, or binary PSBT. */
function readPsbt(path: string): string {
  return readInput(path).trim();
}

function parseFeeRate(text: string): number {
  const rate = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(rate > 0) || rate > 100_000) {
    throw new InvalidInputError('option.bad_fee_rate', `--fee-rate must be a positive number of sat/vB, got '${text}'`);
  }
  return rate;
}

/** `mofn psbt create|inspect|sign|combine|finalize`: the BIP-174 roles. */
export function registerPsbtCommands(program: Command, io: Io): void {
  const psbt = program.command('psbt').description('partially signed transactions: create, inspect, sign, combine, finalize');

  psbt
    .command('create <wallet>')
    .description('build an unsigned PSBT (base64 on stdout) spending coins of a wallet, change back to it; without --utxo, coins come from the synced UTXO set (mofn sync)')
    .option('--utxo <spec>', 'coin TXID:VOUT:SATS[:RAWTXHEX|:ADDRESS] (repeat); omit to select from the synced coins', collect, [])
    .requiredOption('--to <spec>', 'payment ADDRESS:SATS (repeat)', collect, [])
    .option('--fee-rate <satPerVb>', 'fee rate in sat/vB')
    .option('--target-blocks <n>', "fee rate from the backend's estimate for confirmation within N blocks (synced coins only)")
    .option('--include <outpoint>', 'coin control: spend exactly these synced coins TXID:VOUT (repeat)', collect, [])
    .option('--exclude <outpoint>', 'coin control: never spend these synced coins TXID:VOUT (repeat)', collect, [])
    .option('--out <file>', 'write the PSBT to a file instead of stdout')
    .option('--json', 'print a JSON result (psbt, fee, vsize, change)')
    .action(async (wallet: string, opts: { utxo: string[]; to: string[]; feeRate?: string; targetBlocks?: string; include: string[]; exclude: string[]; out?: string; json?: boolean }) => {
      const payments = opts.to.map(parsePaymentSpec);
      const feeRate = opts.feeRate === undefined ? undefined : parseFeeRate(opts.feeRate);
      let result: { psbt: Psbt; fee: bigint; vsize: number; change?: { index: number; amount: bigint } | undefined };
      if (opts.utxo.length > 0) {
        if (feeRate === undefined) throw new InvalidInputError('option.fee_rate_required', 'with explicit --utxo coins, give --fee-rate', { hint: '--target-blocks needs the synced coins and a backend' });
        if (opts.include.length > 0 || opts.exclude.length > 0) throw new InvalidInputError('option.coin_control_conflict', '--include/--exclude select among synced coins; with --utxo you list the coins yourself');
        const utxos = opts.utxo.map(parseUtxoSpec);
        result = await withStore((ctx) => createSpend(ctx, wallet, { utxos, payments, feeRate }));
      } else {
        const targetBlocks = opts.targetBlocks === undefined ? undefined : parseIntegerOption('--target-blocks', opts.targetBlocks, 1, 1008);
        result = await withStore(async (ctx) => {
          const { backend } = await openWalletBackend(ctx, wallet);
          try {
            return await createChainSpend(ctx, wallet, backend, {
              payments,
              ...(feeRate === undefined ? {} : { feeRate }),
              ...(targetBlocks === undefined ? {} : { targetBlocks }),
              include: opts.include.map(parseOutpoint),
              exclude: opts.exclude.map(parseOutpoint),
            });
          } finally {
            await backend.close();
          }
        });
      }
      const base64 = psbtToBase64(result.psbt);
      if (opts.json) emit(io, toJson({ psbt: base64, fee: result.fee, vsize: result.vsize, change: result.change }), opts.out);
      else emit(io, base64, opts.out);
      io.err(`fee ${result.fee} sats (${formatBtc(result.fee)} BTC), about ${result.vsize} vB${result.change ? `, change ${result.change.amount} sats to change index ${result.change.index}` : ', no change'}`);
    });

  psbt
    .command('inspect <file>')
    .description('review a PSBT: inputs, outputs (change verified), fee, signatures present and missing')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const text = readPsbt(file);
      const { wallet, summary } = await withStore((ctx) => inspectSpend(ctx, text));
      io.out(opts.json ? toJson({ wallet: { id: wallet.id, name: wallet.name }, ...summary }) : formatSummary(wallet.name, summary));
    });

  psbt
    .command('sign <file>')
    .description('sign the inputs this keystore cosigns, after the safety checks (base64 out)')
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--out <file>', 'write the signed PSBT to a file instead of stdout')
    .action(async (file: string, opts: { keystore: string; out?: string }) => {
      const text = readPsbt(file);
      const keystore = await readKeystore(opts.keystore);
      const unlocked = await unlockKeystore(keystore, getPassword());
      try {
        const result = await withStore((ctx) => signSpend(ctx, text, unlocked.root));
        emit(io, psbtToBase64(result.psbt), opts.out);
        io.err(`signed ${result.signedInputs.length} input(s) of wallet ${result.wallet.name} with ${unlocked.fingerprint}`);
      } finally {
        lockKeystore(unlocked);
      }
    });

  psbt
    .command('combine <files...>')
    .description('merge the signatures of several copies of the same PSBT')
    .option('--out <file>', 'write the combined PSBT to a file instead of stdout')
    .action((files: string[], opts: { out?: string }) => {
      const combined = combineSpends(files.map(readPsbt));
      emit(io, psbtToBase64(combined), opts.out);
    });

  psbt
    .command('finalize <file>')
    .description('finalize with M signatures and print the raw transaction hex (ready to broadcast)')
    .option('--out <file>', 'also write the finalized PSBT to a file')
    .action(async (file: string, opts: { out?: string }) => {
      const text = readPsbt(file);
      const result = await withStore((ctx) => finalizeSpend(ctx, text));
      if (opts.out !== undefined) writeOutput(opts.out, `${psbtToBase64(result.psbt)}\n`);
      io.out(result.tx.hex);
      io.err(`txid ${result.tx.txid}`);
    });
}
