/**
 * Typed errors of chain backends. Every message names the backend (kind and host, never a
 * credential) and what failed, so a user with three configured backends knows which one to fix.
 */
import { MofnError, type MofnErrorOptions } from '@mofn/core';

/** The stable codes a backend throws. */
export type BackendErrorCode =
  | 'backend.timeout'
  | 'backend.unreachable'
  | 'backend.malformed_response'
  | 'backend.rejected'
  | 'backend.request_failed'
  | 'backend.not_found'
  | 'backend.unauthorized'
  | 'backend.unsupported'
  | 'backend.fee_unavailable'
  | 'backend.no_url'
  | 'backend.bad_config'
  | 'backend.input_amount_mismatch'
  | 'backend.closed';

/** A chain backend failed, answered nonsense, or refused a transaction. */
export class BackendError extends MofnError {
  override name = 'Backend';
  declare readonly code: BackendErrorCode;
  /** Whether retrying the same request may succeed (connection lost, 5xx, timeout). */
  readonly transient: boolean;

  constructor(code: BackendErrorCode, message: string, options: MofnErrorOptions & { readonly transient?: boolean } = {}) {
    super(code, message, options);
    this.transient = options.transient ?? false;
  }
}

/** Which backend a message is about: `electrum tls://host:50002`, `esplora https://mempool.space/api`. */
export interface BackendLabel {
  readonly kind: 'esplora' | 'electrum' | 'core';
  /** Scheme, host and port (and path for HTTP), without any credential. */
  readonly endpoint: string;
}

/** `kind endpoint`, the prefix of every backend error message. */
export function describeBackend(label: BackendLabel): string {
  return `${label.kind} backend ${label.endpoint}`;
}

/** True for errors that a retry may cure. Never throws. */
export function isTransientBackendError(err: unknown): boolean {
  return err instanceof BackendError && err.transient;
}

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The Node/undici error code (`ECONNREFUSED`...) somewhere in an error's cause chain, if any. */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NODE_CODES.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** Strips user:password from a URL so it can appear in a message. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.search = '';
  return copy.href.replace(/\/$/, '');
}
