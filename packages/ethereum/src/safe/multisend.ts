/**
 * MultiSend batches: the packed `transactions` argument of Safe v1.4.1 MultiSend / MultiSendCallOnly
 * (`operation uint8 || to address || value uint256 || dataLength uint256 || data`, repeated), and the
 * SafeTx that DELEGATECALLs MultiSendCallOnly with it.
 */
import { concatHex, decodeFunctionData, encodeFunctionData, getAddress, hexToBigInt, isAddress, isHex, numberToHex, type Address, type Hex } from 'viem';
import { InvalidInputError } from '@mofn/core';
import { MULTISEND_ABI } from './abi.ts';
import { createSafeTx, type SafeOperation, type SafeTx } from './safeTx.ts';
import { SAFE_V141_CANONICAL } from './singletons.ts';

/** One call of a batch. */
export interface MultiSendCall {
  readonly to: Address;
  readonly value: bigint;
  readonly data: Hex;
  /** 0 CALL (the only kind MultiSendCallOnly runs), 1 DELEGATECALL (MultiSend only). */
  readonly operation: SafeOperation;
}

const UINT256_MAX = (1n << 256n) - 1n;
// 1 (operation) + 20 (to) + 32 (value) + 32 (data length) bytes before each call's data.
const HEADER_BYTES = 85;

function badBatch(message: string, details?: Record<string, unknown>): InvalidInputError {
  return new InvalidInputError('safe.bad_multisend', message, details === undefined ? {} : { details });
}

/**
 * Packs calls as MultiSend's `transactions` bytes (abi.encodePacked of each call's fields).
 * @throws InvalidInputError `safe.bad_multisend` (empty batch, bad address, hex or range)
 */
export function encodeMultiSendTransactions(calls: readonly MultiSendCall[]): Hex {
  if (calls.length === 0) throw badBatch('a MultiSend batch needs at least one call');
  const parts: Hex[] = [];
  for (const [i, call] of calls.entries()) {
    if (typeof call.to !== 'string' || !isAddress(call.to, { strict: false })) throw badBatch(`call ${i}: to is not an address: ${String(call.to)}`, { index: i });
    if (call.operation !== 0 && call.operation !== 1) throw badBatch(`call ${i}: operation must be 0 or 1`, { index: i });
    if (call.value < 0n || call.value > UINT256_MAX) throw badBatch(`call ${i}: value out of uint256 range`, { index: i });
    if (!isHex(call.data) || call.data.length % 2 !== 0) throw badBatch(`call ${i}: data is not even-length hex`, { index: i });
    parts.push(
      numberToHex(call.operation, { size: 1 }),
      call.to.toLowerCase() as Hex,
      numberToHex(call.value, { size: 32 }),
      numberToHex((call.data.length - 2) / 2, { size: 32 }),
      call.data,
    );
  }
  return concatHex(parts);
}

/**
 * Unpacks MultiSend's `transactions` bytes. Strict: every byte must belong to a call, so a
 * reviewer sees exactly what the contract will run.
 * @throws InvalidInputError `safe.bad_multisend`
 */
export function decodeMultiSendTransactions(packed: Hex): readonly MultiSendCall[] {
  if (!isHex(packed) || packed.length % 2 !== 0) throw badBatch('MultiSend transactions are not even-length hex');
  const hex = packed.slice(2).toLowerCase();
  const total = hex.length / 2;
  const calls: MultiSendCall[] = [];
  let at = 0;
  while (at < total) {
    if (total - at < HEADER_BYTES) throw badBatch(`call ${calls.length} is truncated: ${total - at} bytes left, a call header is ${HEADER_BYTES}`);
    const byteAt = (offset: number, length: number): string => hex.slice((at + offset) * 2, (at + offset + length) * 2);
    const operation = Number.parseInt(byteAt(0, 1), 16);
    if (operation !== 0 && operation !== 1) throw badBatch(`call ${calls.length} has operation ${operation}, expected 0 or 1`);
    const length = hexToBigInt(`0x${byteAt(53, 32)}`);
    if (length > BigInt(total - at - HEADER_BYTES)) throw badBatch(`call ${calls.length} declares ${length} data bytes, only ${total - at - HEADER_BYTES} follow`);
    const dataLength = Number(length);
    calls.push(
      Object.freeze({
        operation,
        to: getAddress(`0x${byteAt(1, 20)}`),
        value: hexToBigInt(`0x${byteAt(21, 32)}`),
        data: `0x${byteAt(HEADER_BYTES, dataLength)}`,
      }),
    );
    at += HEADER_BYTES + dataLength;
  }
  if (calls.length === 0) throw badBatch('empty MultiSend batch');
  return Object.freeze(calls);
}

/** The `multiSend(bytes)` calldata of a batch. @throws InvalidInputError `safe.bad_multisend` */
export function encodeMultiSend(calls: readonly MultiSendCall[]): Hex {
  return encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args: [encodeMultiSendTransactions(calls)] });
}

/**
 * The calls of `multiSend(bytes)` calldata, or undefined when `data` is not that function with a
 * canonical ABI encoding (so a reviewer never sees a batch that differs from the bytes sent).
 */
export function parseMultiSend(data: Hex): readonly MultiSendCall[] | undefined {
  try {
    const { args } = decodeFunctionData({ abi: MULTISEND_ABI, data });
    if (encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args }).toLowerCase() !== data.toLowerCase()) return undefined;
    return decodeMultiSendTransactions(args[0]);
  } catch {
    return undefined;
  }
}

/**
 * A SafeTx running `calls` in one transaction: DELEGATECALL (operation 1) to MultiSendCallOnly, the
 * only delegatecall target mofn's review trusts. Every call must be a CALL.
 * @throws InvalidInputError `safe.bad_multisend` (a DELEGATECALL entry, or malformed), `safe.bad_transaction`
 */
export function createMultiSendTx(params: {
  readonly calls: readonly MultiSendCall[];
  readonly nonce: bigint;
  /** Default: the canonical v1.4.1 MultiSendCallOnly. */
  readonly multiSendCallOnly?: Address;
}): SafeTx {
  const nested = params.calls.findIndex((c) => c.operation !== 0);
  if (nested >= 0) {
    throw badBatch(`call ${nested} is a DELEGATECALL: MultiSendCallOnly runs CALLs only`, { index: nested });
  }
  return createSafeTx({
    to: params.multiSendCallOnly ?? SAFE_V141_CANONICAL.multiSendCallOnly,
    data: encodeMultiSend(params.calls),
    operation: 1,
    nonce: params.nonce,
  });
}
