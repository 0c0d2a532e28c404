/**
 * Timeouts and retries shared by every backend: transient failures (connection refused or reset,
 * HTTP 5xx, timeouts) are retried with exponential backoff and jitter; anything else, and above
 * all a rejected broadcast, fails at once.
 */
import { InvalidInputError } from '@mofn/core';
import { isTransientBackendError } from './errors.ts';

/** Timeout and retry settings every backend accepts. */
export interface RetryOptions {
  /** Milliseconds before one request (or one batch) counts as failed. Default 10,000. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt for transient failures. Default 3. */
  readonly retries?: number;
  /** First backoff delay in ms; doubles on each retry (with jitter). Default 200. */
  readonly backoffMs?: number;
  /** Longest backoff delay in ms. Default 5,000. */
  readonly maxBackoffMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/**
 * Validates and defaults retry settings.
 * @throws InvalidInputError `backend.bad_option` for a negative or non-finite value
 */
export function retryPolicyOf(options: RetryOptions = {}): RetryPolicy {
  const policy: RetryPolicy = {
    timeoutMs: options.timeoutMs ?? 10_000,
    retries: options.retries ?? 3,
    backoffMs: options.backoffMs ?? 200,
    maxBackoffMs: options.maxBackoffMs ?? 5_000,
  };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0 || (name === 'retries' && !Number.isInteger(value))) {
      throw new InvalidInputError('backend.bad_option', `${name} ${String(value)} must be a non-negative ${name === 'retries' ? 'integer' : 'number'}`);
    }
  }
  if (policy.timeoutMs === 0) throw new InvalidInputError('backend.bad_option', 'timeoutMs must be positive');
  return Object.freeze(policy);
}

/** Delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped, with +-25% jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const raw = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.75 + Math.random() * 0.5));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error, or the retries run out
 * (then the last error is thrown).
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isTransientBackendError(err) || n >= policy.retries) throw err;
      await sleep(backoffDelay(policy, n + 1));
    }
  }
}
