/**
 * Remote mode: the CLI as a client of a coordinator's REST API. The token comes from MOFN_TOKEN
 * (never a command-line argument, which would land in shell history and process lists).
 */
import { MofnError } from '@mofn/core';

/** A server's error, carried with its code and HTTP status. */
export class RemoteError extends MofnError {
  override name = 'Remote';
}

/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- T names the JSON shape the caller expects from the API */
/** A JSON client of one coordinator. */
export interface RemoteClient {
  readonly baseUrl: string;
  get<T>(path: string): Promise<{ body: T; etag: string | null }>;
  post<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<{ body: T; etag: string | null }>;
}

/**
 * A client for `server` (or MOFN_SERVER), authenticated by MOFN_TOKEN.
 * @throws MofnError `remote.no_server`, `remote.no_token`.
 */
export function remoteClient(server: string | undefined, env: NodeJS.ProcessEnv = process.env): RemoteClient {
  const baseUrl = (server ?? env['MOFN_SERVER'] ?? '').replace(/\/+$/, '');
  if (baseUrl === '') throw new MofnError('remote.no_server', 'no coordinator URL', { hint: 'pass --server http://HOST:8420 or set MOFN_SERVER' });
  const token = env['MOFN_TOKEN'];
  if (token === undefined || token === '') throw new MofnError('remote.no_token', 'no API token', { hint: 'set MOFN_TOKEN (from `mofn admin create-token` or POST /v1/users/me/tokens)' });
  async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ body: T; etag: string | null }> {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token!}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (cause) {
      throw new MofnError('remote.unreachable', `cannot reach the coordinator at ${baseUrl}`, { cause, hint: 'check --server / MOFN_SERVER and that `mofn serve` runs there' });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new MofnError('remote.bad_response', `the coordinator answered ${String(res.status)} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; hint?: string } } | null)?.error;
      throw new RemoteError(e?.code ?? `http.${String(res.status)}`, `${e?.message ?? `HTTP ${String(res.status)}`} (server said ${String(res.status)})`, {
        details: { status: res.status },
        ...(e?.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    return { body: parsed as T, etag: res.headers.get('etag') };
  }
  return { baseUrl, get: (path) => call('GET', path), post: (path, body, headers) => call('POST', path, body, headers) };
}
/* eslint-enable @typescript-eslint/no-unnecessary-type-parameters */
