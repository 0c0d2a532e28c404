import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { InvalidInputError, formatBtc } from '@mofn/core';
import { parseNetwork, psbtToBase64 } from '@mofn/bitcoin';
import type { ChainBackend } from '@mofn/bitcoin/backend';
import {
  broadcastTransaction,
  bumpChainTransaction,
  createChainSpend,
  getStoredBalance,
  listBackends,
  listStoredHistory,
  listStoredUtxos,
  openWalletBackend,
  parseBackendKind,
  parseOutpoint,
  parsePaymentSpec,
  readSignedTransaction,
  setBackend,
  syncWalletChain,
  unsetBackend,
  waitForConfirmations,
  type LoadedWallet,
  type ServiceContext,
} from '@mofn/service';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { collect, parseIntegerOption } from './options.ts';

/** Runs `fn` with the store and the wallet's configured backend, closing both afterwards. */
async function withBackend<T>(walletName: string, fn: (ctx: ServiceContext, backend: ChainBackend, wallet: LoadedWallet) => Promise<T>): Promise<T> {
  return withStore(async (ctx) => {
    const { backend, wallet } = await openWalletBackend(ctx, walletName);
    try {
      return await fn(ctx, backend, wallet);
    } finally {
      await backend.close();
    }
  });
}

function parseRate(name: string, text: string): number {
  const rate = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(rate > 0) || rate > 100_000) throw new InvalidInputError('option.bad_fee_rate', `${name} must be a positive number of sat/vB, got '${text}'`);
  return rate;
}

function parseSeconds(name: string, text: string): number {
  const s = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(s > 0) || s > 86_400) throw new InvalidInputError('option.bad_duration', `${name} must be a positive number of seconds, got '${text}'`);
  return s * 1000;
}

const sats = (v: bigint): string => `${v} sats (${formatBtc(v)} BTC)`;
const signed = (v: bigint): string => (v > 0n ? `+${v}` : String(v));

/**
 * `mofn backend set|show|unset`, `mofn sync|balance|utxos|history NAME`, `mofn spend NAME`,
 * `mofn broadcast NAME FILE|-`: the wallet on the chain, through Esplora, Electrum or Bitcoin Core.
 */
export function registerChainCommands(program: Command, io: Io): void {
  const backend = program.command('backend').description('chain backends: Esplora, Electrum or Bitcoin Core, per wallet, per network or global');

  backend
    .command('set <kind> <url>')
    .description('use a backend: esplora URL | electrum ssl://HOST:PORT | core http://HOST:PORT (--cookie FILE or --rpc-user USER)')
    .option('--wallet <name>', 'for this wallet only')
    .option('--network <network>', 'for every wallet of this network (default: every network)')
    .option('--cookie <file>', 'Bitcoin Core cookie file')
    .option('--rpc-user <user>', 'Bitcoin Core RPC user; the password is read from MOFN_RPC_PASSWORD when used, never stored')
    .option('--json', 'print JSON')
    .action(async (kind: string, url: string, opts: { wallet?: string; network?: string; cookie?: string; rpcUser?: string; json?: boolean }) => {
      const view = await withStore((ctx) =>
        setBackend(ctx, {
          kind: parseBackendKind(kind),
          url,
          ...(opts.wallet === undefined ? {} : { wallet: opts.wallet }),
          ...(opts.network === undefined ? {} : { network: parseNetwork(opts.network) }),
          ...(opts.cookie === undefined ? {} : { cookieFile: opts.cookie }),
          ...(opts.rpcUser === undefined ? {} : { rpcUser: opts.rpcUser }),
        }),
      );
      io.out(opts.json ? toJson(view) : `${view.scope}: ${view.kind} ${view.url}${view.cookieFile ? ` (cookie ${view.cookieFile})` : ''}${view.rpcUser ? ` (user ${view.rpcUser}, password from MOFN_RPC_PASSWORD)` : ''}`);
    });

  backend
    .command('show')
    .description('list the stored backend settings')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withStore((ctx) => listBackends(ctx));
      if (opts.json) io.out(toJson(list));
      else io.out(list.length ? list.map((b) => `${b.scope}\t${b.kind}\t${b.url}`).join('\n') : 'no backend set: wallets use MOFN_ESPLORA_URL / MOFN_ELECTRUM_URL, else the public Esplora of their network');
    });

  backend
    .command('unset')
    .description('remove a stored backend setting')
    .option('--wallet <name>', 'the wallet setting')
    .option('--network <network>', 'the network setting')
    .action(async (opts: { wallet?: string; network?: string }) => {
      await withStore((ctx) =>
        unsetBackend(ctx, { ...(opts.wallet === undefined ? {} : { wallet: opts.wallet }), ...(opts.network === undefined ? {} : { network: parseNetwork(opts.network) }) }),
      );
    });

  program
    .command('sync <wallet>')
    .description('scan the wallet on its backend (gap limit on receive and change) and store its coins and history')
    .option('--gap <n>', 'unused addresses after the last used one before a chain counts as exhausted', '20')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { gap: string; json?: boolean }) => {
      const gap = parseIntegerOption('--gap', opts.gap, 1, 100_000);
      // cli-progress draws only on a terminal; piped output gets the summary alone.
      const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'scanning [{bar}] {value}/{total} requests | {scripts} scripts, {txs} transactions', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
      let started = false;
      const summary = await withBackend(name, async (ctx, b) => {
        try {
          return await syncWalletChain(ctx, name, b, {
            gap,
            onProgress: (p) => {
              if (!started) {
                bar.start(p.total, 0, { scripts: 0, txs: 0 });
                started = true;
              }
              bar.setTotal(p.total);
              bar.update(p.done, { scripts: p.scriptsChecked, txs: p.transactionsFetched });
            },
          });
        } finally {
          if (started) bar.stop();
        }
      });
      if (opts.json) {
        io.out(toJson(summary));
        return;
      }
      io.out(
        [
          `${summary.wallet}: synced at height ${summary.tipHeight} through ${summary.backend}`,
          `balance      ${sats(summary.balance.confirmed)} confirmed, ${sats(summary.balance.unconfirmed)} unconfirmed`,
          `coins        ${summary.utxos} unspent, ${summary.transactions} transactions, ${summary.usedAddresses} used addresses`,
          `next address receive /0/${summary.nextReceiveIndex}, change /1/${summary.nextChangeIndex}`,
          ...(summary.reusedAddresses.length ? [`address reuse: ${summary.reusedAddresses.join(', ')}`] : []),
        ].join('\n'),
      );
      io.err(`${summary.stats.rounds} round(s), ${summary.stats.scriptsChecked} scripts checked, ${summary.stats.transactionsFetched} transactions fetched`);
    });

  program
    .command('balance <wallet>')
    .description('balance as of the last sync')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const b = await withStore((ctx) => getStoredBalance(ctx, name));
      if (opts.json) io.out(toJson(b));
      else
        io.out(
          [
            `confirmed    ${sats(b.confirmed)}`,
            `unconfirmed  ${sats(b.unconfirmed)}`,
            `total        ${sats(b.total)} in ${b.utxos} coin(s)${b.frozen > 0n ? `, ${b.frozen} sats frozen by labels` : ''}`,
            `as of height ${b.tipHeight} (${b.syncedAt})`,
          ].join('\n'),
        );
    });

  program
    .command('utxos <wallet>')
    .description('unspent coins as of the last sync (confirmations, address, reuse, labels)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { utxos } = await withStore((ctx) => listStoredUtxos(ctx, name));
      if (opts.json) io.out(toJson(utxos));
      else if (utxos.length === 0) io.out('no coins');
      else
        io.out(
          utxos
            .map((u) =>
              [`${u.txid}:${u.vout}`, String(u.amount), `${u.confirmations} conf`, `/${u.branch}/${u.index}`, u.address, ...(u.addressReused ? ['REUSED'] : []), ...(u.spendable ? [] : ['FROZEN']), ...(u.label ? [u.label] : [])].join('\t'),
            )
            .join('\n'),
        );
    });

  program
    .command('history <wallet>')
    .description('transactions as of the last sync: net amount, fee, confirmations, address reuse, labels')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { history } = await withStore((ctx) => listStoredHistory(ctx, name));
      if (opts.json) io.out(toJson(history));
      else if (history.length === 0) io.out('no transactions');
      else
        io.out(
          history
            .map((t) =>
              [
                t.txid,
                signed(t.net),
                t.fee === undefined ? 'fee ?' : `fee ${t.fee} (${t.feeRate ?? 0} sat/vB)`,
                t.confirmations === 0 ? 'unconfirmed' : `${t.confirmations} conf`,
                ...(t.addressReuse ? ['ADDRESS REUSE'] : []),
                ...(t.label ? [t.label] : []),
              ].join('\t'),
            )
            .join('\n'),
        );
    });

  program
    .command('spend <wallet>')
    .description('build an unsigned PSBT (base64) from the synced coins: coin selection, or coin control with --include/--exclude')
    .requiredOption('--to <spec>', 'payment ADDRESS:SATS (repeat)', collect, [])
    .option('--fee-rate <satPerVb>', 'fee rate in sat/vB')
    .option('--target-blocks <n>', "confirmation target: the backend's fee estimate (default 6 when no --fee-rate)")
    .option('--include <outpoint>', 'spend exactly these coins TXID:VOUT (repeat)', collect, [])
    .option('--exclude <outpoint>', 'never spend this coin TXID:VOUT (repeat)', collect, [])
    .option('--out <file>', 'write the PSBT to a file instead of stdout')
    .option('--json', 'print a JSON result (psbt, fee, vsize, fee rate, inputs, change)')
    .action(async (name: string, opts: { to: string[]; feeRate?: string; targetBlocks?: string; include: string[]; exclude: string[]; out?: string; json?: boolean }) => {
      const params = {
        payments: opts.to.map(parsePaymentSpec),
        ...(opts.feeRate === undefined ? {} : { feeRate: parseRate('--fee-rate', opts.feeRate) }),
        ...(opts.targetBlocks === undefined ? {} : { targetBlocks: parseIntegerOption('--target-blocks', opts.targetBlocks, 1, 1008) }),
        include: opts.include.map(parseOutpoint),
        exclude: opts.exclude.map(parseOutpoint),
      };
      const result = await withBackend(name, (ctx, b) => createChainSpend(ctx, name, b, params));
      const base64 = psbtToBase64(result.psbt);
      const text = opts.json ? toJson({ psbt: base64, fee: result.fee, vsize: result.vsize, feeRate: result.feeRate, inputs: result.selected, change: result.change }) : base64;
      if (opts.out === undefined) io.out(text);
      else writeOutput(opts.out, `${text}\n`);
      io.err(`${result.selected.length} coin(s), fee ${result.fee} sats at ${result.feeRate} sat/vB, about ${result.vsize} vB${result.change ? `, change ${result.change.amount} sats to /1/${result.change.index}` : ', no change'}`);
    });

  program
    .command('bump <wallet> <txid>')
    .description('raise the fee of a broadcast wallet transaction: an RBF replacement (same inputs and payments, less change), or --cpfp a child of its change; prints the new unsigned PSBT (M signatures again)')
    .requiredOption('--fee-rate <satPerVb>', 'RBF: the new fee rate; CPFP: the fee rate parent and child must reach together')
    .option('--cpfp', 'child pays for parent instead of replacing')
    .option('--out <file>', 'write the PSBT to a file instead of stdout')
    .option('--json', 'print a JSON result')
    .action(async (name: string, txid: string, opts: { feeRate: string; cpfp?: boolean; out?: string; json?: boolean }) => {
      const feeRate = parseRate('--fee-rate', opts.feeRate);
      const result = await withBackend(name, (ctx, b) => bumpChainTransaction(ctx, name, b, { txid: txid.toLowerCase(), feeRate, method: opts.cpfp ? 'cpfp' : 'rbf' }));
      const base64 = psbtToBase64(result.psbt);
      const text = opts.json ? toJson({ method: result.method, psbt: base64, fee: result.fee, vsize: result.vsize, originalFee: result.originalFee, originalVsize: result.originalVsize }) : base64;
      if (opts.out === undefined) io.out(text);
      else writeOutput(opts.out, `${text}\n`);
      io.err(`${result.method === 'rbf' ? 'replacement' : 'child'}: fee ${result.fee} sats, about ${result.vsize} vB (original ${result.originalFee} sats, ${result.originalVsize} vB); sign it with M cosigners again`);
    });

  program
    .command('broadcast <wallet> <file>')
    .description("broadcast a finalized PSBT or raw transaction hex (- for stdin) through the wallet's backend, test-accepting first where it can")
    .option('--wait <n>', 'then wait for N confirmations', '0')
    .option('--poll <seconds>', 'status poll interval while waiting', '10')
    .option('--timeout <seconds>', 'give up waiting after this long', '7200')
    .action(async (name: string, file: string, opts: { wait: string; poll: string; timeout: string }) => {
      const wait = parseIntegerOption('--wait', opts.wait, 0, 1000);
      const pollMs = parseSeconds('--poll', opts.poll);
      const timeoutMs = parseSeconds('--timeout', opts.timeout);
      const tx = readSignedTransaction(readInput(file));
      await withBackend(name, async (_ctx, b) => {
        const result = await broadcastTransaction(b, tx);
        io.out(result.txid);
        io.err(`broadcast through ${b.label.kind} ${b.label.endpoint}${result.testAccepted ? ' (test-accepted first)' : ''}`);
        if (wait === 0) return;
        let last = '';
        const status = await waitForConfirmations(b, result.txid, wait, {
          pollMs,
          timeoutMs,
          onStatus: (s) => {
            const line = s.state === 'confirmed' ? `${s.confirmations} confirmation(s)` : s.state === 'mempool' ? 'in the mempool' : 'not seen yet';
            if (line !== last) io.err(line);
            last = line;
          },
        });
        if (status.state === 'confirmed') io.err(`confirmed in block ${status.blockHeight} (${status.confirmations} confirmations)`);
      });
    });
}
