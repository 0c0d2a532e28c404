/**
 * Which chain backend a wallet talks to: a setting per wallet, per network or global, stored
 * without any password. The most specific one wins; with none stored, MOFN_ESPLORA_URL or
 * MOFN_ELECTRUM_URL (as the server reads them), else the public Esplora of the network.
 */
import { InvalidInputError, NotFoundError } from '@mofn/core';
import { parseNetwork, type Network } from '@mofn/bitcoin';
import {
  BackendError,
  createCoreRpcBackend,
  createElectrumBackend,
  createEsploraBackend,
  parseElectrumUrl,
  type ChainBackend,
  type CoreRpcAuth,
  type RetryOptions,
} from '@mofn/bitcoin/backend';
import type { ServiceContext } from '../context.ts';
import { loadWallet, type LoadedWallet } from '../wallets.ts';

/** The three kinds of backend mofn speaks to. */
export type BackendKind = 'esplora' | 'electrum' | 'core';

/** Parameters of {@link setBackend}. */
export interface SetBackendParams {
  /** The wallet (name or id) this setting is for; absent for a network-wide or global setting. */
  readonly wallet?: string;
  /** The network this setting is for (ignored with `wallet`); absent with no wallet: every network. */
  readonly network?: Network;
  readonly kind: BackendKind;
  readonly url: string;
  /** Bitcoin Core: path of the cookie file. */
  readonly cookieFile?: string;
  /** Bitcoin Core: RPC user; the password is read from MOFN_RPC_PASSWORD each time, never stored. */
  readonly rpcUser?: string;
}

/** A stored backend setting as shown to users (it never holds a credential). */
export interface BackendSettingView {
  readonly scope: string;
  readonly kind: BackendKind;
  readonly url: string;
  readonly cookieFile?: string;
  readonly rpcUser?: string;
  readonly updatedAt: string;
}

/** Where a wallet's backend setting came from. */
export interface ResolvedBackendSetting extends Omit<BackendSettingView, 'updatedAt'> {
  /** `wallet:<id>`, `network:<net>`, `global`, `env:MOFN_ESPLORA_URL`, `env:MOFN_ELECTRUM_URL` or `default`. */
  readonly scope: string;
}

const KINDS: readonly BackendKind[] = ['esplora', 'electrum', 'core'];

/** @throws InvalidInputError `backend.bad_kind` */
export function parseBackendKind(text: string): BackendKind {
  const kind = KINDS.find((k) => k === text.toLowerCase());
  if (kind === undefined) throw new InvalidInputError('backend.bad_kind', `unknown backend kind '${text.slice(0, 40)}'`, { hint: 'use esplora, electrum or core' });
  return kind;
}

function assertHttpUrl(kind: BackendKind, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidInputError('backend.bad_url', `${kind} URL is not a URL`, { cause, hint: kind === 'core' ? 'write http://HOST:PORT' : 'write https://HOST/api' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidInputError('backend.bad_url', `${kind} URL must be http(s), not ${parsed.protocol}`);
  // A URL is printed in messages and stored in plain text: credentials belong elsewhere.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidInputError('backend.credentials_in_url', `the ${kind} URL must not carry a user or password`, {
      hint: kind === 'core' ? 'use --cookie FILE, or --rpc-user USER with the password in MOFN_RPC_PASSWORD' : 'give a URL without credentials',
    });
  }
}

/** Checks a setting before it is stored. @throws InvalidInputError `backend.bad_url`, `backend.credentials_in_url`, `backend.bad_auth` */
function assertSetting(params: SetBackendParams): void {
  if (params.kind === 'electrum') parseElectrumUrl(params.url);
  else assertHttpUrl(params.kind, params.url);
  const hasCookie = params.cookieFile !== undefined && params.cookieFile !== '';
  const hasUser = params.rpcUser !== undefined && params.rpcUser !== '';
  if (params.kind === 'core' && hasCookie === hasUser) {
    throw new InvalidInputError('backend.bad_auth', 'a Bitcoin Core backend needs exactly one of a cookie file or an RPC user', {
      hint: 'pass --cookie ~/.bitcoin/.cookie, or --rpc-user USER and put the password in MOFN_RPC_PASSWORD',
    });
  }
  if (params.kind !== 'core' && (hasCookie || hasUser)) throw new InvalidInputError('backend.bad_auth', `--cookie and --rpc-user apply to a Bitcoin Core backend only, not ${params.kind}`);
}

/**
 * Stores a backend setting for a wallet, a network, or every network (replacing the previous one).
 * @throws InvalidInputError for a bad URL or authentication; NotFoundError `wallet.not_found`
 */
export async function setBackend(ctx: ServiceContext, params: SetBackendParams): Promise<BackendSettingView> {
  assertSetting(params);
  const scope = params.wallet !== undefined ? `wallet:${(await loadWallet(ctx, params.wallet)).view.id}` : params.network !== undefined ? `network:${parseNetwork(params.network)}` : 'global';
  const row = {
    scope,
    kind: params.kind,
    url: params.url,
    cookie_file: params.kind === 'core' && params.cookieFile ? params.cookieFile : null,
    rpc_user: params.kind === 'core' && params.rpcUser ? params.rpcUser : null,
    updated_at: ctx.now().toISOString(),
  };
  await ctx.db
    .insertInto('chain_backends')
    .values(row)
    .onConflict((oc) => oc.column('scope').doUpdateSet({ kind: row.kind, url: row.url, cookie_file: row.cookie_file, rpc_user: row.rpc_user, updated_at: row.updated_at }))
    .execute();
  return viewOf(row);
}

function viewOf(row: { scope: string; kind: string; url: string; cookie_file: string | null; rpc_user: string | null; updated_at: string }): BackendSettingView {
  return {
    scope: row.scope,
    kind: parseBackendKind(row.kind),
    url: row.url,
    ...(row.cookie_file === null ? {} : { cookieFile: row.cookie_file }),
    ...(row.rpc_user === null ? {} : { rpcUser: row.rpc_user }),
    updatedAt: row.updated_at,
  };
}

/** Every stored backend setting, by scope. */
export async function listBackends(ctx: ServiceContext): Promise<BackendSettingView[]> {
  const rows = await ctx.db.selectFrom('chain_backends').selectAll().orderBy('scope').execute();
  return rows.map(viewOf);
}

/**
 * Removes a stored setting.
 * @throws NotFoundError `backend.not_set` when there was none
 */
export async function unsetBackend(ctx: ServiceContext, params: { readonly wallet?: string; readonly network?: Network }): Promise<void> {
  const scope = params.wallet !== undefined ? `wallet:${(await loadWallet(ctx, params.wallet)).view.id}` : params.network !== undefined ? `network:${params.network}` : 'global';
  const res = await ctx.db.deleteFrom('chain_backends').where('scope', '=', scope).executeTakeFirst();
  if (res.numDeletedRows === 0n) throw new NotFoundError('backend.not_set', `no backend is set for ${scope}`);
}

/** Environment variables a backend reads (injected so tests control them). */
export type BackendEnv = Readonly<Record<string, string | undefined>>;

/**
 * The setting a wallet's backend is opened with: the wallet's own, else its network's, else the
 * global one, else MOFN_ESPLORA_URL / MOFN_ELECTRUM_URL, else the network's public Esplora.
 * @throws InvalidInputError `backend.bad_config` when both environment variables are set
 */
export async function resolveBackendSetting(ctx: ServiceContext, wallet: LoadedWallet, env: BackendEnv = process.env): Promise<ResolvedBackendSetting> {
  const scopes = [`wallet:${wallet.view.id}`, `network:${wallet.view.network}`, 'global'];
  const rows = await ctx.db.selectFrom('chain_backends').selectAll().where('scope', 'in', scopes).execute();
  for (const scope of scopes) {
    const row = rows.find((r) => r.scope === scope);
    if (row !== undefined) {
      const view = viewOf(row);
      return { scope: view.scope, kind: view.kind, url: view.url, ...(view.cookieFile === undefined ? {} : { cookieFile: view.cookieFile }), ...(view.rpcUser === undefined ? {} : { rpcUser: view.rpcUser }) };
    }
  }
  const esplora = env['MOFN_ESPLORA_URL'];
  const electrum = env['MOFN_ELECTRUM_URL'];
  if (esplora && electrum) throw new InvalidInputError('backend.bad_config', 'set MOFN_ESPLORA_URL or MOFN_ELECTRUM_URL, not both');
  if (esplora && esplora !== 'default') return { scope: 'env:MOFN_ESPLORA_URL', kind: 'esplora', url: esplora };
  if (electrum) return { scope: 'env:MOFN_ELECTRUM_URL', kind: 'electrum', url: electrum };
  return { scope: 'default', kind: 'esplora', url: '' };
}

/** Options of {@link openWalletBackend}. */
export interface OpenBackendOptions extends RetryOptions {
  readonly env?: BackendEnv;
  /** Bitcoin Core: indexes imported per chain into the watch-only wallet (default 1000). */
  readonly coreRange?: number;
}

/**
 * Opens the backend configured for a wallet (see {@link resolveBackendSetting}). The caller closes it.
 * @throws BackendError `backend.no_url` (regtest without a setting), `backend.unauthorized` (Core user without
 *   MOFN_RPC_PASSWORD); NotFoundError `wallet.not_found`; InvalidInputError for a bad stored setting
 */
export async function openWalletBackend(ctx: ServiceContext, walletName: string, options: OpenBackendOptions = {}): Promise<{ wallet: LoadedWallet; backend: ChainBackend; setting: ResolvedBackendSetting }> {
  const wallet = await loadWallet(ctx, walletName);
  const env = options.env ?? process.env;
  const setting = await resolveBackendSetting(ctx, wallet, env);
  const { timeoutMs, retries, backoffMs, maxBackoffMs, coreRange } = options;
  const retry: RetryOptions = { ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(retries === undefined ? {} : { retries }), ...(backoffMs === undefined ? {} : { backoffMs }), ...(maxBackoffMs === undefined ? {} : { maxBackoffMs }) };
  let backend: ChainBackend;
  switch (setting.kind) {
    case 'esplora':
      backend = createEsploraBackend({ network: wallet.view.network, ...retry, ...(setting.url === '' ? {} : { url: setting.url }) });
      break;
    case 'electrum':
      backend = createElectrumBackend({ url: setting.url, ...retry });
      break;
    case 'core': {
      let auth: CoreRpcAuth;
      if (setting.cookieFile !== undefined) auth = { cookieFile: setting.cookieFile };
      else {
        const password = env['MOFN_RPC_PASSWORD'];
        if (password === undefined || password === '') {
          throw new BackendError('backend.unauthorized', `the Bitcoin Core backend of wallet '${wallet.view.name}' uses RPC user '${setting.rpcUser ?? ''}' but MOFN_RPC_PASSWORD is not set`, {
            hint: 'export MOFN_RPC_PASSWORD (mofn never stores it), or use a cookie file',
          });
        }
        auth = { user: setting.rpcUser ?? '', password };
      }
      backend = createCoreRpcBackend({ url: setting.url, auth, policy: wallet.policy, ...retry, ...(coreRange === undefined ? {} : { range: coreRange }) });
      break;
    }
  }
  return { wallet, backend, setting };
}
