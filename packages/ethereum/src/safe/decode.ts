/**
 * Calldata decoding for review: what a SafeTx (or one call of a MultiSend batch) does, as data.
 * Only canonical ABI encodings are decoded (re-encoding must give back the same bytes); anything
 * else is `unknown`, so a reviewer never reads a meaning the contract would not run.
 */
import { decodeFunctionData, encodeFunctionData, getAddress, isAddressEqual, type Abi, type Address, type Hex } from 'viem';
import { ERC20_ABI, SAFE_ADMIN_ABI } from './abi.ts';
import { parseMultiSend } from './multisend.ts';
import type { SafeOperation } from './safeTx.ts';
import { SAFE_V141_CANONICAL } from './singletons.ts';

/** A call as the Safe makes it: the SafeTx itself, or one entry of a batch. */
export interface SafeCall {
  readonly to: Address;
  readonly value: bigint;
  readonly data: Hex;
  readonly operation: SafeOperation;
}

/** ERC-20 functions mofn decodes. */
export type Erc20Method = 'transfer' | 'approve' | 'transferFrom';

/** Safe self-administration functions mofn decodes. */
export type SafeAdminMethod =
  | 'addOwnerWithThreshold'
  | 'removeOwner'
  | 'swapOwner'
  | 'changeThreshold'
  | 'enableModule'
  | 'disableModule'
  | 'setGuard'
  | 'setFallbackHandler';

/** A decoded call; `kind` says which fields follow. Addresses are checksummed. */
export type DecodedCall =
  /** No calldata: a plain ETH transfer (a zero-value one to the Safe itself is a rejection). */
  | (SafeCall & { readonly kind: 'eth_transfer' })
  | (SafeCall & { readonly kind: 'erc20'; readonly method: Erc20Method; readonly token: Address; readonly args: Readonly<Record<string, Address | bigint>> })
  | (SafeCall & {
      readonly kind: 'multisend';
      /** True when `to` is the trusted MultiSendCallOnly. */
      readonly callOnly: boolean;
      readonly calls: readonly DecodedCall[];
    })
  | (SafeCall & { readonly kind: 'safe_admin'; readonly method: SafeAdminMethod; readonly args: Readonly<Record<string, Address | bigint>> })
  | (SafeCall & {
      readonly kind: 'unknown';
      /** The 4-byte selector, when there are at least 4 bytes. */
      readonly selector: Hex | undefined;
      /** Why it was not decoded (a nested batch too deep, an unknown function). */
      readonly reason: string;
    });

/** Context of a decoding: the Safe making the call and the contracts mofn trusts. */
export interface DecodeContext {
  readonly safeAddress: Address;
  /** Default: the canonical v1.4.1 MultiSendCallOnly. */
  readonly multiSendCallOnly?: Address;
  /** Default: the canonical v1.4.1 MultiSend. */
  readonly multiSend?: Address;
}

// A batch inside a batch is legal; deeper nesting has no honest use and would let a payload hide.
const MAX_DEPTH = 3;

/** Decodes `data` against `abi`, only if re-encoding the result gives back exactly `data`. */
function decodeCanonical(abi: Abi, data: Hex): { functionName: string; args: readonly unknown[] } | undefined {
  try {
    const { functionName, args } = decodeFunctionData({ abi, data });
    const argList = args ?? [];
    if (encodeFunctionData({ abi, functionName, args: argList }).toLowerCase() !== data.toLowerCase()) return undefined;
    return { functionName, args: argList };
  } catch {
    return undefined;
  }
}

function named(abi: Abi, functionName: string, args: readonly unknown[]): Record<string, Address | bigint> {
  const fn = abi.find((item) => item.type === 'function' && item.name === functionName);
  const out: Record<string, Address | bigint> = {};
  if (fn?.type !== 'function') return out;
  for (const [i, input] of fn.inputs.entries()) {
    const value = args[i];
    const key = (input.name ?? `arg${i}`).replace(/^_/, '');
    if (typeof value === 'bigint') out[key] = value;
    else if (typeof value === 'string') out[key] = getAddress(value);
  }
  return Object.freeze(out);
}

/**
 * Decodes one call made by the Safe `ctx.safeAddress`: ETH transfer, ERC-20 transfer / approve /
 * transferFrom, a MultiSend batch (recursively, when DELEGATECALLed to MultiSend or MultiSendCallOnly),
 * or the Safe's own owner / threshold / module / guard / fallback-handler administration.
 * Never throws: what it cannot decode is `unknown`.
 */
export function decodeSafeCall(call: SafeCall, ctx: DecodeContext): DecodedCall {
  return decodeAt(call, ctx, 0);
}

function decodeAt(call: SafeCall, ctx: DecodeContext, depth: number): DecodedCall {
  const base: SafeCall = Object.freeze({ to: getAddress(call.to), value: call.value, data: call.data, operation: call.operation });
  const unknown = (reason: string): DecodedCall =>
    Object.freeze({ ...base, kind: 'unknown', selector: call.data.length >= 10 ? (call.data.slice(0, 10).toLowerCase() as Hex) : undefined, reason });
  if (call.data === '0x') return Object.freeze({ ...base, kind: 'eth_transfer' });
  const callOnly = ctx.multiSendCallOnly ?? SAFE_V141_CANONICAL.multiSendCallOnly;
  const full = ctx.multiSend ?? SAFE_V141_CANONICAL.multiSend;
  const isBatchTarget = isAddressEqual(call.to, callOnly) || isAddressEqual(call.to, full);
  if (call.operation === 1 && isBatchTarget) {
    if (depth >= MAX_DEPTH) return unknown(`MultiSend nested more than ${MAX_DEPTH} levels deep`);
    const calls = parseMultiSend(call.data);
    if (calls === undefined) return unknown('not a well-formed multiSend(bytes) batch');
    return Object.freeze({
      ...base,
      kind: 'multisend',
      callOnly: isAddressEqual(call.to, callOnly),
      calls: Object.freeze(calls.map((c) => decodeAt(c, ctx, depth + 1))),
    });
  }
  if (call.operation === 0 && isAddressEqual(call.to, ctx.safeAddress)) {
    const admin = decodeCanonical(SAFE_ADMIN_ABI, call.data);
    if (admin !== undefined) {
      return Object.freeze({ ...base, kind: 'safe_admin', method: admin.functionName as SafeAdminMethod, args: named(SAFE_ADMIN_ABI, admin.functionName, admin.args) });
    }
    return unknown('a call to the Safe itself that is not an owner, threshold, module, guard or fallback-handler change');
  }
  if (call.operation === 0) {
    const erc20 = decodeCanonical(ERC20_ABI, call.data);
    if (erc20 !== undefined && (erc20.functionName === 'transfer' || erc20.functionName === 'approve' || erc20.functionName === 'transferFrom')) {
      return Object.freeze({ ...base, kind: 'erc20', method: erc20.functionName, token: base.to, args: named(ERC20_ABI, erc20.functionName, erc20.args) });
    }
  }
  return unknown('calldata of an unknown function');
}
