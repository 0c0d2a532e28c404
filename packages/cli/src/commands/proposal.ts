import type { Command } from 'commander';
import { formatBtc } from '@mofn/core';
import { createAddressDeriver, inspectPsbt, parsePsbt, policyFromDescriptor, type Network } from '@mofn/bitcoin';
import { loadWallet } from '@mofn/service';
import { createKeystoreSigner, lockKeystore, readKeystore, unlockKeystore } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, type Io } from '../io.ts';
import { getPassword } from '../password.ts';
import { remoteClient } from '../remote.ts';
import { formatSummary } from './psbtSummary.ts';

interface Remote {
  server?: string;
}
interface ProposalJson {
  id: string;
  walletId: string;
  state: string;
  version: number;
  threshold: number;
  memo: string | null;
  txid: string | null;
  review: { fee: string | null; feeRate: number | null; outputs: { address: string | null; amount: string; kind: string }[] };
  cosigners: { position: number; fingerprint: string; signed: boolean; declined: boolean }[];
}
interface WalletJson {
  id: string;
  name: string;
  network: Network;
  descriptor: string;
}

function line(p: ProposalJson): string {
  const signed = p.cosigners.filter((c) => c.signed).length;
  const paid = p.review.outputs.filter((o) => o.kind !== 'change').map((o) => `${o.address ?? 'script'} ${formatBtc(BigInt(o.amount))} BTC`);
  return `${p.id}  ${p.state.padEnd(10)} ${String(signed)}/${String(p.threshold)} signed  ${paid.join(', ')}${p.memo === null ? '' : `  "${p.memo}"`}`;
}

/** `mofn proposal ...`: remote mode against a coordinator (`--server` or MOFN_SERVER, token in MOFN_TOKEN). */
export function registerProposalCommands(program: Command, io: Io): void {
  const proposal = program.command('proposal').description('work with a coordinator: propose, review, sign with your keystore, finalize, broadcast (MOFN_SERVER, MOFN_TOKEN)');
  const withServer = (c: Command) => c.option('--server <url>', 'coordinator URL (default $MOFN_SERVER)');

  withServer(proposal.command('create <wallet> <psbt-file>'))
    .description('propose a spend: upload a PSBT of the wallet')
    .option('--memo <text>', 'what the spend is for')
    .action(async (wallet: string, file: string, opts: Remote & { memo?: string }) => {
      const api = remoteClient(opts.server);
      const { body } = await api.post<ProposalJson>(`/wallets/${encodeURIComponent(wallet)}/proposals`, { psbt: readInput(file).trim(), ...(opts.memo === undefined ? {} : { memo: opts.memo }) });
      io.out(line(body));
    });

  withServer(proposal.command('list <wallet>'))
    .description("a wallet's proposals, newest first")
    .option('--state <state>', 'only this state (collecting, ready, broadcast, ...)')
    .action(async (wallet: string, opts: Remote & { state?: string }) => {
      const api = remoteClient(opts.server);
      const { body } = await api.get<{ items: ProposalJson[] }>(`/wallets/${encodeURIComponent(wallet)}/proposals${opts.state === undefined ? '' : `?state=${encodeURIComponent(opts.state)}`}`);
      for (const p of body.items) io.out(line(p));
    });

  withServer(proposal.command('show <id>'))
    .description('one proposal: outputs, fee, who signed, who is missing')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: Remote & { json?: boolean }) => {
      const { body } = await remoteClient(opts.server).get<ProposalJson>(`/proposals/${encodeURIComponent(id)}`);
      if (opts.json) {
        io.out(toJson(body));
        return;
      }
      io.out(line(body));
      for (const c of body.cosigners) io.out(`  cosigner ${String(c.position)} ${c.fingerprint}: ${c.signed ? 'signed' : c.declined ? 'declined' : 'missing'}`);
    });

  withServer(proposal.command('sign <id>'))
    .description('download the proposal, review it against the wallet registered here, sign with your keystore, upload')
    .requiredOption('--keystore <file>', 'keystore file')
    .action(async (id: string, opts: Remote & { keystore: string }) => {
      const api = remoteClient(opts.server);
      const p = (await api.get<ProposalJson>(`/proposals/${encodeURIComponent(id)}`)).body;
      const remoteWallet = (await api.get<WalletJson>(`/wallets/${encodeURIComponent(p.walletId)}`)).body;
      // Trust the wallet registered on this machine over the server's copy of it.
      const local = await withStore(async (ctx) => loadWallet(ctx, remoteWallet.id).catch(() => undefined));
      if (local === undefined) io.err(`warning: wallet ${remoteWallet.name} is not registered on this machine; reviewing against the server's descriptor (import it with \`mofn wallet import\` to check it)`);
      const policy = local?.policy ?? policyFromDescriptor(remoteWallet.descriptor, remoteWallet.network);
      const psbtText = (await api.get<{ psbt: string }>(`/proposals/${encodeURIComponent(id)}/psbt`)).body.psbt;
      io.err(formatSummary(remoteWallet.name, inspectPsbt(parsePsbt(psbtText), createAddressDeriver(policy))));
      const unlocked = await unlockKeystore(await readKeystore(opts.keystore), getPassword());
      try {
        const signed = await createKeystoreSigner(unlocked).signPsbt(Buffer.from(psbtText, 'base64'), { policy });
        const { body } = await api.post<{ added: number; proposal: ProposalJson }>(`/proposals/${encodeURIComponent(id)}/signatures`, { psbt: Buffer.from(signed).toString('base64') });
        io.out(`${String(body.added)} signature(s) added by ${unlocked.fingerprint}; ${line(body.proposal)}`);
      } finally {
        lockKeystore(unlocked);
      }
    });

  withServer(proposal.command('decline <id>'))
    .description('decline to sign (as your cosigner)')
    .option('--reason <text>', 'why')
    .action(async (id: string, opts: Remote & { reason?: string }) => {
      const { body } = await remoteClient(opts.server).post<ProposalJson>(`/proposals/${encodeURIComponent(id)}/decline`, opts.reason === undefined ? {} : { reason: opts.reason });
      io.out(line(body));
    });

  for (const [verb, what] of [
    ['finalize', 'build the final transaction of a ready proposal (prints the raw hex)'],
    ['broadcast', 'finalize if needed and broadcast through the server'],
    ['cancel', 'cancel (proposer or admin)'],
  ] as const) {
    withServer(proposal.command(`${verb} <id>`))
      .description(what)
      .action(async (id: string, opts: Remote) => {
        const api = remoteClient(opts.server);
        // Act on the version just read: a change by someone else in between makes the server refuse (412).
        const current = await api.get<ProposalJson>(`/proposals/${encodeURIComponent(id)}`);
        const { body } = await api.post<ProposalJson & { hex?: string; txid?: string; proposal?: ProposalJson }>(`/proposals/${encodeURIComponent(id)}/${verb}`, {}, { 'if-match': current.etag ?? '*' });
        if (verb === 'finalize') {
          io.out(body.hex ?? '');
          io.err(`txid ${body.txid ?? ''}`);
        } else io.out(line(body));
      });
  }
}
