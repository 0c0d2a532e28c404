/**
 * The review of a SafeTx: its decoded calls, the value it moves (core `ReviewOutput`s) and its danger
 * flags (core `ReviewWarning`s with stable codes), and the rule that every danger is acknowledged by
 * code before anyone signs.
 */
import { getAddress, isAddressEqual, zeroAddress, type Address } from 'viem';
import { SigningRefusedError } from '@mofn/core';
import type { ReviewOutput, ReviewWarning } from '@mofn/core';
import { decodeSafeCall, type DecodeContext, type DecodedCall } from './decode.ts';
import type { SafeTx } from './safeTx.ts';
import { SAFE_V141_CANONICAL } from './singletons.ts';

/**
 * Danger codes and what each means, frozen. A warning with one of these codes blocks signing until
 * acknowledged ({@link assertDangersAcknowledged}); other warnings (digests, bounded approvals) inform.
 */
export const SAFE_DANGER_CODES = Object.freeze({
  'safe.delegatecall': 'a DELEGATECALL to code other than the trusted MultiSendCallOnly: it runs as the Safe and can do anything',
  'safe.unlimited_approval': 'an ERC-20 allowance so large that the spender can take the whole balance, now and later',
  'safe.owner_change': 'adds, removes or replaces a Safe owner',
  'safe.threshold_change': 'changes how many owners must sign',
  'safe.module_change': 'enables or disables a module (a module executes without owner signatures)',
  'safe.guard_change': 'sets or removes the transaction guard (a guard can block every transaction)',
  'safe.fallback_handler_change': 'changes the fallback handler (it answers EIP-1271 signature checks for the Safe)',
  'safe.self_call': 'calls the Safe itself with calldata mofn does not decode',
  'safe.unknown_calldata': 'calls a contract with calldata mofn does not decode',
  'safe.gas_refund': 'non-zero gasPrice: the Safe pays the executor a gas refund',
  'safe.gas_token': 'the gas refund is paid in a token rather than ETH',
  'safe.refund_receiver': 'the gas refund goes to a set address rather than the executor',
} as const);

/** A danger code. */
export type SafeDangerCode = keyof typeof SAFE_DANGER_CODES;

/** True if `code` is one of {@link SAFE_DANGER_CODES}. Never throws. */
export function isSafeDangerCode(code: string): code is SafeDangerCode {
  return Object.hasOwn(SAFE_DANGER_CODES, code);
}

/** Allowances at or above 2^128 token units are "unlimited": no real supply comes near, and `max - 1` cannot dodge the flag. */
export const UNLIMITED_APPROVAL = 1n << 128n;

/** Context of {@link reviewSafeTx}. */
export interface SafeReviewContext extends DecodeContext {
  /** The Safe's current threshold: when known, an owner change keeping it is not a threshold change. */
  readonly threshold?: number;
}

/** What {@link reviewSafeTx} derives from a SafeTx (the parts of core's ProposalReview a Safe decides). */
export interface SafeTxReview {
  /** The decoded SafeTx (a MultiSend batch holds its decoded calls). */
  readonly call: DecodedCall;
  readonly outputs: readonly ReviewOutput[];
  /** Danger flags first by position in the batch, then the gas-refund flags. */
  readonly warnings: readonly ReviewWarning[];
  /** The distinct danger codes among `warnings`, in order of first appearance. */
  readonly dangers: readonly SafeDangerCode[];
}

/**
 * Decodes a SafeTx and derives its outputs (ETH sent by CALLs, ERC-20 transfers) and its warnings.
 * Pure: reads nothing from the chain.
 */
export function reviewSafeTx(tx: SafeTx, ctx: SafeReviewContext): SafeTxReview {
  const safeAddress = getAddress(ctx.safeAddress);
  const callOnly = ctx.multiSendCallOnly ?? SAFE_V141_CANONICAL.multiSendCallOnly;
  const call = decodeSafeCall(tx, ctx);
  const outputs: ReviewOutput[] = [];
  const warnings: ReviewWarning[] = [];
  const warn = (code: string, message: string) => warnings.push(Object.freeze({ code, message }));
  const isSelf = (a: Address) => isAddressEqual(a, safeAddress);

  function visit(c: DecodedCall, where: string, depth: number): void {
    const at = where === '' ? '' : `${where}: `;
    if (c.operation === 1 && (depth > 0 || !isAddressEqual(c.to, callOnly))) {
      warn('safe.delegatecall', `${at}DELEGATECALL to ${c.to}: that code runs as the Safe itself and can take every asset or change owners`);
    }
    // A DELEGATECALL carries no value of its own; a CALL's value leaves the Safe (or returns to it).
    if (c.operation === 0 && (c.value > 0n || (depth === 0 && c.kind === 'eth_transfer'))) {
      outputs.push(Object.freeze({ to: c.to, amount: c.value, asset: 'ETH', isChange: isSelf(c.to) }));
    }
    switch (c.kind) {
      case 'eth_transfer':
        return;
      case 'multisend':
        for (const [i, inner] of c.calls.entries()) visit(inner, `${where === '' ? '' : `${where} > `}call ${i + 1} of ${c.calls.length}`, depth + 1);
        return;
      case 'erc20': {
        const amount = c.args.amount as bigint;
        if (c.method === 'transfer' || c.method === 'transferFrom') {
          const to = c.args.to as Address;
          outputs.push(Object.freeze({ to, amount, asset: c.token, isChange: isSelf(to) }));
          if (c.method === 'transferFrom') {
            warn('safe.transfer_from', `${at}moves ${amount} units of token ${c.token} from ${String(c.args.from)} (an allowance given to the Safe) to ${to}`);
          }
        } else if (amount >= UNLIMITED_APPROVAL) {
          warn('safe.unlimited_approval', `${at}approves ${String(c.args.spender)} to spend an unlimited amount (${amount}) of token ${c.token}`);
        } else {
          warn('safe.token_approval', `${at}approves ${String(c.args.spender)} to spend ${amount} units of token ${c.token}`);
        }
        return;
      }
      case 'safe_admin':
        adminWarnings(c, at);
        return;
      case 'unknown':
        if (c.operation === 0 && isSelf(c.to)) warn('safe.self_call', `${at}calls the Safe itself with undecoded data (selector ${String(c.selector)}): ${c.reason}`);
        else warn('safe.unknown_calldata', `${at}calls ${c.to} with ${(c.data.length - 2) / 2} bytes of undecoded data (selector ${String(c.selector)}): ${c.reason}`);
        return;
    }
  }

  function adminWarnings(c: Extract<DecodedCall, { kind: 'safe_admin' }>, at: string): void {
    const a = c.args;
    const threshold = a.threshold as bigint | undefined;
    const thresholdMoves = threshold !== undefined && (ctx.threshold === undefined || BigInt(ctx.threshold) !== threshold);
    switch (c.method) {
      case 'addOwnerWithThreshold':
        warn('safe.owner_change', `${at}adds owner ${String(a.owner)}`);
        break;
      case 'removeOwner':
        warn('safe.owner_change', `${at}removes owner ${String(a.owner)}`);
        break;
      case 'swapOwner':
        warn('safe.owner_change', `${at}replaces owner ${String(a.oldOwner)} with ${String(a.newOwner)}`);
        break;
      case 'changeThreshold':
        break;
      case 'enableModule':
        warn('safe.module_change', `${at}enables module ${String(a.module)}: it can execute transactions without owner signatures`);
        break;
      case 'disableModule':
        warn('safe.module_change', `${at}disables module ${String(a.module)}`);
        break;
      case 'setGuard':
        warn('safe.guard_change', isAddressEqual(a.guard as Address, zeroAddress) ? `${at}removes the transaction guard` : `${at}sets transaction guard ${String(a.guard)}`);
        break;
      case 'setFallbackHandler':
        warn('safe.fallback_handler_change', `${at}sets fallback handler ${String(a.handler)}`);
        break;
    }
    if (c.method === 'changeThreshold' || thresholdMoves) {
      warn('safe.threshold_change', `${at}sets the threshold to ${String(threshold)}${ctx.threshold === undefined ? '' : ` (now ${ctx.threshold})`}`);
    }
  }

  visit(call, '', 0);
  if (tx.gasPrice !== 0n) warn('safe.gas_refund', `gasPrice ${tx.gasPrice}: the Safe refunds (gas used + baseGas ${tx.baseGas}) x ${tx.gasPrice} to the refund receiver`);
  if (!isAddressEqual(tx.gasToken, zeroAddress)) warn('safe.gas_token', `the gas refund is paid in token ${getAddress(tx.gasToken)}, not ETH`);
  if (!isAddressEqual(tx.refundReceiver, zeroAddress)) warn('safe.refund_receiver', `the gas refund goes to ${getAddress(tx.refundReceiver)}, not to the executor`);
  return Object.freeze({
    call,
    outputs: Object.freeze(outputs),
    warnings: Object.freeze(warnings),
    dangers: dangerCodes(warnings),
  });
}

/** The distinct danger codes among `warnings`, in order of first appearance. */
export function dangerCodes(warnings: readonly ReviewWarning[]): readonly SafeDangerCode[] {
  const out: SafeDangerCode[] = [];
  for (const { code } of warnings) if (isSafeDangerCode(code) && !out.includes(code)) out.push(code);
  return Object.freeze(out);
}

/**
 * Refuses to go on unless every danger flag among `warnings` is in `acknowledged` (by exact code).
 * Informational warnings need no acknowledgement; acknowledging a code that is not raised is harmless.
 * @throws SigningRefusedError `safe.unacknowledged_danger` with `details.codes`, the codes still to acknowledge
 */
export function assertDangersAcknowledged(review: { readonly warnings: readonly ReviewWarning[] }, acknowledged: readonly string[]): void {
  const missing = dangerCodes(review.warnings).filter((code) => !acknowledged.includes(code));
  if (missing.length > 0) {
    throw new SigningRefusedError('safe.unacknowledged_danger', `this Safe transaction needs an explicit acknowledgement of: ${missing.join(', ')}`, {
      details: { codes: missing },
      hint: `read each warning, then acknowledge it by code (${missing.join(', ')}) to sign`,
    });
  }
}
