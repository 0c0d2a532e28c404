import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { MofnError } from '@mofn/core';
import { createToken, createUser, listUsers, listAudit, loadWallet, revokeToken, verifyWalletAudit, getUser } from '@mofn/service';
import { withStore } from '../context.ts';
import { toJson, type Io } from '../io.ts';

/** The server's entry file: the CLI runs the server as its own process (the CLI layer talks to the server only over HTTP). */
function serverBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@mofn/server/package.json')), 'bin', 'mofn-server.js');
}

/** `mofn serve`, `mofn admin ...` and `mofn audit ...`. */
export function registerServerCommands(program: Command, io: Io): void {
  program
    .command('serve')
    .description('run the coordinator REST API (/v1, docs at /docs) over the local store until Ctrl-C')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8420')
    .action(async (opts: { host: string; port: string }) => {
      const child = spawn(process.execPath, [serverBin(), '--host', opts.host, '--port', opts.port], { stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      process.on('SIGINT', forward('SIGINT'));
      process.on('SIGTERM', forward('SIGTERM'));
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
      if (code !== 0) throw new MofnError('server.exited', `the server exited with status ${String(code)}`);
    });

  const admin = program.command('admin').description('bootstrap and manage coordinator users and API tokens (local store)');
  admin
    .command('create-user')
    .description('create a coordinator user')
    .argument('<name>', 'user name')
    .option('--admin', 'make the user a server admin (manages users)')
    .action(async (name: string, opts: { admin?: boolean }) => {
      const user = await withStore((ctx) => createUser(ctx, { name, isAdmin: opts.admin === true }));
      io.out(`created user ${user.name} (${user.id})${user.isAdmin ? ', server admin' : ''}`);
    });
  admin
    .command('create-token')
    .description('create an API token for a user; it is printed once and stored only as a hash')
    .argument('<user>', 'user name or id')
    .option('--label <text>', 'what the token is for')
    .action(async (user: string, opts: { label?: string }) => {
      const t = await withStore((ctx) => createToken(ctx, user, opts.label));
      io.err(`token ${t.id} for user ${user}: copy it now, it is not shown again`);
      io.out(t.token);
    });
  admin
    .command('revoke-token')
    .description("revoke one of a user's tokens")
    .argument('<user>', 'user name or id')
    .argument('<token-id>', 'token id')
    .action(async (user: string, tokenId: string) => {
      await withStore(async (ctx) => revokeToken(ctx, (await getUser(ctx, user)).id, tokenId));
      io.out(`revoked token ${tokenId}`);
    });
  admin
    .command('list-users')
    .description('list coordinator users')
    .action(async () => {
      for (const u of await withStore((ctx) => listUsers(ctx))) io.out(`${u.name}\t${u.id}${u.isAdmin ? '\tserver admin' : ''}`);
    });

  const audit = program.command('audit').description("a wallet's hash-chained audit log");
  audit
    .command('verify')
    .description('verify the whole hash chain of a wallet: any edited, deleted or reordered event is found')
    .argument('<wallet>', 'wallet name or id')
    .action(async (wallet: string) => {
      const result = await withStore(async (ctx) => verifyWalletAudit(ctx, (await loadWallet(ctx, wallet)).view.id));
      if (!result.ok) throw new MofnError(`audit.${result.reason}`, `audit log of ${wallet} is broken at event ${String(result.index)}: ${result.message}`);
      io.out(`audit log of ${wallet}: ${String(result.length)} events, chain intact, head ${result.head}`);
    });
  audit
    .command('show')
    .description('print the audit events of a wallet (JSON lines)')
    .argument('<wallet>', 'wallet name or id')
    .action(async (wallet: string) => {
      const events = await withStore(async (ctx) => listAudit(ctx.db, (await loadWallet(ctx, wallet)).view.id, { limit: 100_000 }));
      for (const e of events) io.out(toJson(e).replace(/\n\s*/g, ' '));
    });
}
