/**
 * `mofn-server` / `mofn serve` / `npm start`: the coordinator with its embedded defaults (SQLite in
 * $MOFN_HOME, 127.0.0.1:8420). On a store without users it creates the first server admin and
 * writes its token to a 0600 file in $MOFN_HOME (never to the log).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMofnError } from '@mofn/core';
import { createContext, createToken, createUser, defaultHome, listUsers } from '@mofn/service';
import { startServer } from './server.ts';

const USAGE = `usage: mofn serve [--host 127.0.0.1] [--port 8420]

Serves the coordinator's REST API under /v1 (docs at /docs, OpenAPI at /v1/openapi.json).
Environment: MOFN_HOME (SQLite store and server key, default ~/.mofn), MOFN_DATABASE_URL
(postgres://... instead of SQLite), MOFN_DATABASE_SCHEMA, MOFN_REDIS_URL (shared rate limits),
MOFN_SECRET_KEY (64 hex; the same on every instance), MOFN_LOG_LEVEL (default info).
Broadcast and confirmations use each wallet's backend as \`mofn backend set\` configured it (per wallet,
per network, global), else MOFN_ESPLORA_URL or MOFN_ELECTRUM_URL, else the network's public Esplora
(mempool.space; regtest needs a setting). MOFN_RPC_PASSWORD for a Bitcoin Core backend.`;

/** Runs the server until SIGINT/SIGTERM; returns the exit code. */
export async function serverMain(argv: readonly string[]): Promise<number> {
  let values: { host?: string; port?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? 8420 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be 0..65535, got '${String(values.port)}'\n`);
    return 2;
  }
  try {
    const server = await startServer({ host: values.host ?? '127.0.0.1', port, logger: { level: process.env['MOFN_LOG_LEVEL'] ?? 'info', redact: ['req.headers.authorization'] } });
    const log = server.app.log;
    log.info({ url: server.url, store: server.store.location, docs: `${server.url}/docs` }, 'mofn coordinator listening');
    const ctx = createContext(server.store);
    if ((await listUsers(ctx)).length === 0) {
      const admin = await createUser(ctx, { name: 'admin', isAdmin: true });
      const token = await createToken(ctx, admin.id, 'first start');
      const file = join(process.env['MOFN_DATABASE_URL'] ? defaultHome() : server.store.location.replace(/[/\\][^/\\]+$/, ''), 'admin.token');
      writeFileSync(file, `${token.token}\n`, { mode: 0o600 });
      log.info({ user: 'admin', tokenFile: file }, 'first start: created the server admin; its API token is in tokenFile (only you can read it): copy it, then delete the file');
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping');
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    await server.close();
    return 0;
  } catch (e) {
    if (isMofnError(e)) {
      process.stderr.write(`error [${e.code}]: ${e.message}${e.hint === undefined ? '' : `\nhint: ${e.hint}`}\n`);
      return 1;
    }
    process.stderr.write(`internal error: ${(e as Error).message}\n`);
    return 70;
  }
}
