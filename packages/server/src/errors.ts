/**
 * The one place where errors become HTTP: a typed error's family (and a few codes) map to a status,
 * and every error leaves as `{"error": {"code", "message", "details"?, "hint"?}}`.
 */
import {
  ConflictError,
  ForbiddenError,
  InsufficientFundsError,
  InvalidAddressError,
  InvalidDescriptorError,
  InvalidInputError,
  InvalidKeyError,
  InvalidPsbtError,
  InvalidWalletFileError,
  KeystoreError,
  MofnError,
  NotFoundError,
  NotReadyError,
  PreconditionFailedError,
  SigningRefusedError,
  UnauthorizedError,
} from '@mofn/core';

/** Status per error family (first match wins). */
const FAMILY_STATUS: readonly (readonly [abstract new (...a: never[]) => MofnError, number])[] = [
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [PreconditionFailedError, 412],
  [ConflictError, 409],
  [NotReadyError, 409],
  [InvalidPsbtError, 422],
  [InvalidKeyError, 422],
  [InvalidDescriptorError, 422],
  [InvalidAddressError, 422],
  [InvalidWalletFileError, 422],
  [SigningRefusedError, 422],
  [InsufficientFundsError, 422],
  [KeystoreError, 422],
  [InvalidInputError, 422],
];

/** Codes whose status differs from their family's. */
const CODE_STATUS: Readonly<Record<string, number>> = {
  'page.bad_cursor': 400,
  'request.invalid': 400,
  'request.bad_json': 400,
  'request.too_large': 413,
  'request.unsupported_media_type': 415,
  'precondition.required': 428,
  'idempotency.bad_key': 400,
  'idempotency.key_reused': 422,
  'idempotency.in_progress': 409,
  'rate.limited': 429,
  'backend.not_configured': 503,
  'backend.rejected': 422,
  'backend.input_amount_mismatch': 409,
  'store.unreachable': 503,
  // A Safe the server will not serve: the contract at the address is not an allow-listed Safe.
  'safe.not_deployed': 422,
  'safe.not_a_safe': 422,
  'safe.unknown_singleton': 422,
  'safe.unsupported_version': 422,
  'safe.singleton_missing': 422,
  'safe.simulation_failed': 422,
  'erc20.read_failed': 422,
};

/** The HTTP status of an error. Unknown errors are 500. */
export function statusOf(err: unknown): number {
  if (err instanceof MofnError) {
    const byCode = CODE_STATUS[err.code];
    if (byCode !== undefined) return byCode;
    if (err.code.startsWith('backend.')) return 502;
    // An EVM node that fails or answers for another chain is an upstream failure, not the caller's.
    if (err.code.startsWith('chain.') && !(err instanceof InvalidInputError)) return 502;
    for (const [family, status] of FAMILY_STATUS) if (err instanceof family) return status;
  }
  return 500;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown; readonly hint?: string };
}

/** The body for an error; a 500 never shows its message (it may carry internals). */
export function bodyOf(err: unknown, status: number): ErrorBody {
  if (status >= 500 && !(err instanceof MofnError)) return { error: { code: 'internal', message: 'internal server error' } };
  if (err instanceof MofnError) {
    return {
      error: {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: jsonSafe(err.details) }),
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      },
    };
  }
  return { error: { code: 'internal', message: 'internal server error' } };
}

function jsonSafe(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))) as unknown;
}

/** An HTTP-level error (bad request shape, body too large, rate limited...). */
export class HttpError extends MofnError {
  override name = 'Http';
}
