/**
 * The server key: 32 random bytes from which webhook signing secrets are derived, so that no secret
 * is ever stored in the database. `MOFN_SECRET_KEY` (64 hex characters) wins, which is what several
 * instances sharing one PostgreSQL must use; otherwise `$MOFN_HOME/server.key` (created 0600).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '@mofn/core';
import { defaultHome } from '@mofn/service';

/**
 * Loads (or creates) the server key.
 * @throws InvalidInputError `server.bad_secret_key` when MOFN_SECRET_KEY or the key file is malformed.
 */
export function loadServerKey(env: NodeJS.ProcessEnv = process.env, home: string = defaultHome()): Uint8Array {
  const fromEnv = env['MOFN_SECRET_KEY'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv)) throw new InvalidInputError('server.bad_secret_key', 'MOFN_SECRET_KEY must be 64 hex characters (32 bytes)', { hint: 'generate one with: openssl rand -hex 32' });
    return Buffer.from(fromEnv, 'hex');
  }
  const file = join(home, 'server.key');
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new InvalidInputError('server.bad_secret_key', `${file} is not 64 hex characters`, { hint: 'restore the file from backup; webhook secrets derive from it' });
    return Buffer.from(text, 'hex');
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/** The signing secret of a webhook: HMAC-SHA256(server key, "webhook:" + id), hex. */
export function webhookSecret(serverKey: Uint8Array, webhookId: string): string {
  return 'whsec_' + createHmac('sha256', serverKey).update(`webhook:${webhookId}`).digest('hex');
}
