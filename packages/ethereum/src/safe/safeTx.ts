/**
 * SafeTx: the EIP-712 structure every Safe owner signs, its hash and domain separator,
 * computed by mofn (not asked of the contract).
 */
import { concatHex, hashDomain, hashStruct, hashTypedData, isAddress, isHex, zeroAddress, type Address, type Hex } from 'viem';
import { InvalidInputError } from '@mofn/core';

/** `CALL` (0) or `DELEGATECALL` (1), the Safe `Enum.Operation`. */
export type SafeOperation = 0 | 1;

/** A Safe transaction, as hashed and executed by Safe v1.4.1 (amounts and gas in bigint wei/gas). */
export interface SafeTx {
  readonly to: Address;
  readonly value: bigint;
  readonly data: Hex;
  readonly operation: SafeOperation;
  readonly safeTxGas: bigint;
  readonly baseGas: bigint;
  readonly gasPrice: bigint;
  readonly gasToken: Address;
  readonly refundReceiver: Address;
  readonly nonce: bigint;
}

/** Where a SafeTx is valid: the EIP-712 domain of Safe >= 1.3.0 (chainId + verifyingContract, no name/version). */
export interface SafeDomain {
  readonly chainId: number;
  readonly safeAddress: Address;
}

/**
 * The EIP-712 types of Safe v1.3.0+ (`SAFE_TX_TYPEHASH` in Safe.sol), frozen. The domain type is
 * `EIP712Domain(uint256 chainId,address verifyingContract)`, derived by viem from the domain fields.
 */
export const SAFE_TX_TYPES = Object.freeze({
  SafeTx: Object.freeze([
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'data', type: 'bytes' },
    { name: 'operation', type: 'uint8' },
    { name: 'safeTxGas', type: 'uint256' },
    { name: 'baseGas', type: 'uint256' },
    { name: 'gasPrice', type: 'uint256' },
    { name: 'gasToken', type: 'address' },
    { name: 'refundReceiver', type: 'address' },
    { name: 'nonce', type: 'uint256' },
  ] as const),
} as const);

/** Fields of {@link createSafeTx}; everything but `to` and `nonce` defaults to zero / empty. */
export interface SafeTxInput {
  readonly to: Address;
  readonly nonce: bigint;
  readonly value?: bigint;
  readonly data?: Hex;
  readonly operation?: SafeOperation;
  readonly safeTxGas?: bigint;
  readonly baseGas?: bigint;
  readonly gasPrice?: bigint;
  readonly gasToken?: Address;
  readonly refundReceiver?: Address;
}

const UINT256_MAX = (1n << 256n) - 1n;

function assertUint(name: string, value: bigint): void {
  if (value < 0n || value > UINT256_MAX) {
    throw new InvalidInputError('safe.bad_transaction', `${name} out of uint256 range: ${value}`, { details: { field: name } });
  }
}

function assertAddress(name: string, value: string): void {
  if (!isAddress(value, { strict: false })) {
    throw new InvalidInputError('safe.bad_transaction', `${name} is not an address: ${value}`, { details: { field: name } });
  }
}

/**
 * Builds a validated, frozen SafeTx with defaults (value 0, data 0x, CALL, no gas refund).
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function createSafeTx(input: SafeTxInput): SafeTx {
  const tx: SafeTx = {
    to: input.to,
    value: input.value ?? 0n,
    data: input.data ?? '0x',
    operation: input.operation ?? 0,
    safeTxGas: input.safeTxGas ?? 0n,
    baseGas: input.baseGas ?? 0n,
    gasPrice: input.gasPrice ?? 0n,
    gasToken: input.gasToken ?? zeroAddress,
    refundReceiver: input.refundReceiver ?? zeroAddress,
    nonce: input.nonce,
  };
  assertSafeTx(tx);
  return Object.freeze(tx);
}

/**
 * Validates a SafeTx's field ranges and formats.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function assertSafeTx(tx: SafeTx): void {
  assertAddress('to', tx.to);
  assertAddress('gasToken', tx.gasToken);
  assertAddress('refundReceiver', tx.refundReceiver);
  if (!isHex(tx.data) || tx.data.length % 2 !== 0) {
    throw new InvalidInputError('safe.bad_transaction', `data is not even-length hex: ${tx.data.slice(0, 20)}`);
  }
  if (tx.operation !== 0 && tx.operation !== 1) {
    throw new InvalidInputError('safe.bad_transaction', `operation must be 0 (call) or 1 (delegatecall), got ${String(tx.operation)}`);
  }
  for (const name of ['value', 'safeTxGas', 'baseGas', 'gasPrice', 'nonce'] as const) assertUint(name, tx[name]);
}

/** The EIP-712 typed data of a SafeTx (what wallets display and sign with eth_signTypedData_v4). */
export function getSafeTxTypedData(domain: SafeDomain, tx: SafeTx) {
  return {
    domain: { chainId: domain.chainId, verifyingContract: domain.safeAddress },
    types: SAFE_TX_TYPES,
    primaryType: 'SafeTx',
    message: {
      to: tx.to,
      value: tx.value,
      data: tx.data,
      operation: tx.operation,
      safeTxGas: tx.safeTxGas,
      baseGas: tx.baseGas,
      gasPrice: tx.gasPrice,
      gasToken: tx.gasToken,
      refundReceiver: tx.refundReceiver,
      nonce: tx.nonce,
    },
  } as const;
}

/**
 * The safeTxHash: EIP-712 digest `keccak256(0x19 0x01 || domainSeparator || hashStruct(SafeTx))`,
 * equal to the contract's `getTransactionHash`.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function getSafeTxHash(domain: SafeDomain, tx: SafeTx): Hex {
  assertSafeTx(tx);
  return hashTypedData(getSafeTxTypedData(domain, tx));
}

/** The Safe's EIP-712 domain separator, equal to the contract's `domainSeparator()`. */
export function getSafeDomainSeparator(domain: SafeDomain): Hex {
  return hashDomain({
    domain: { chainId: BigInt(domain.chainId), verifyingContract: domain.safeAddress },
    types: {
      EIP712Domain: [
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
    },
  });
}

/**
 * The 66 bytes whose keccak256 is the safeTxHash: `0x19 0x01 || domainSeparator || hashStruct(SafeTx)`
 * (Safe v1.4.1 `encodeTransactionData`), the `data` an EIP-1271 owner contract is asked to validate.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function encodeSafeTxData(domain: SafeDomain, tx: SafeTx): Hex {
  assertSafeTx(tx);
  const typed = getSafeTxTypedData(domain, tx);
  return concatHex(['0x1901', getSafeDomainSeparator(domain), hashStruct({ data: typed.message, primaryType: 'SafeTx', types: SAFE_TX_TYPES })]);
}
