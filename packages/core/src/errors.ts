/**
 * Typed errors shared by every mofn layer.
 *
 * Every error that crosses a boundary is a {@link MofnError}: a stable `name` per
 * family, a machine `code` (`area.reason`, snake_case, never reworded once shipped),
 * a human `message` that carries the values involved, optional `details` and a
 * `hint` on how to fix it, and the original `cause`. Tests assert `code`, not wording.
 */

/** Options accepted by every {@link MofnError} constructor. */
export interface MofnErrorOptions {
  /** Machine-readable facts about the failure (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** One sentence telling the user how to fix it. */
  readonly hint?: string;
  /** The lower-level error this one adds context to. */
  readonly cause?: unknown;
}

/**
 * Base class of every mofn error.
 * @example
 * throw new InvalidDescriptorError('descriptor.bad_checksum', "checksum mismatch, expected 'xyz12345'");
 */
export class MofnError extends Error {
  override name = 'MofnError';
  /** Stable machine code, `area.reason`. */
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: MofnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.hint = options.hint;
  }

  /** Walks the `cause` chain; returns the first error for which `fn` is true (or the deepest one). */
  walk(fn?: (err: unknown) => boolean): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts at this error
    let current: unknown = this;
    for (let depth = 0; depth < 32; depth++) {
      if (fn?.(current)) return current;
      const next: unknown = current instanceof Error ? current.cause : undefined;
      if (next === undefined) return fn ? undefined : current;
      current = next;
    }
    return current;
  }

  /** A plain JSON shape for APIs and `--json` output. */
  toJSON(): { name: string; code: string; message: string; details?: Readonly<Record<string, unknown>>; hint?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

/** Generic malformed input (a number, an amount, an option). */
export class InvalidInputError extends MofnError {
  override name = 'InvalidInput';
}
/** An extended key, public key, key origin or derivation path is malformed or not acceptable here. */
export class InvalidKeyError extends MofnError {
  override name = 'InvalidKey';
}
/** An output descriptor is malformed or describes a wallet mofn refuses. */
export class InvalidDescriptorError extends MofnError {
  override name = 'InvalidDescriptor';
}
/** An address does not decode, or belongs to another network. */
export class InvalidAddressError extends MofnError {
  override name = 'InvalidAddress';
}
/** A PSBT (or raw transaction) is malformed or inconsistent. */
export class InvalidPsbtError extends MofnError {
  override name = 'InvalidPsbt';
}
/** A wallet import file (Caravan JSON, Coldcard config, BSMS, ...) is malformed. */
export class InvalidWalletFileError extends MofnError {
  override name = 'InvalidWalletFile';
}
/** A signer refuses to sign: the transaction breaks a safety rule (fee cap, foreign change, sighash...). */
export class SigningRefusedError extends MofnError {
  override name = 'SigningRefused';
}
/** A step cannot run yet (e.g. finalizing with fewer than M signatures). */
export class NotReadyError extends MofnError {
  override name = 'NotReady';
}
/** Coin selection cannot fund the requested outputs. */
export class InsufficientFundsError extends MofnError {
  override name = 'InsufficientFunds';
}
/** A keystore cannot be read or unlocked (wrong password, corrupt file). */
export class KeystoreError extends MofnError {
  override name = 'Keystore';
}
/** A stored thing does not exist. */
export class NotFoundError extends MofnError {
  override name = 'NotFound';
}
/** The actor is known but lacks the role the action needs. */
export class ForbiddenError extends MofnError {
  override name = 'Forbidden';
}
/** The request conflicts with stored state (duplicate name, changed amount of a known outpoint...). */
export class ConflictError extends MofnError {
  override name = 'Conflict';
}

/** The caller is not authenticated (no credentials, or unknown or revoked ones). */
export class UnauthorizedError extends MofnError {
  override name = 'Unauthorized';
}
/** A conditional change was based on a stale version (If-Match did not match). */
export class PreconditionFailedError extends MofnError {
  override name = 'PreconditionFailed';
}

/** True if `err` is a MofnError (of any family). Never throws. */
export function isMofnError(err: unknown): err is MofnError {
  return err instanceof MofnError;
}
