/** ERC-20 proposals from a Safe (transfer, approve) and token reads (balance, symbol, decimals). */
import { encodeFunctionData, getAddress, isAddress, type Address } from 'viem';
import { InvalidInputError, MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { ERC20_ABI } from './abi.ts';
import { createSafeTx, type SafeTx } from './safeTx.ts';

/** A token's display facts, read from the token contract. */
export interface Erc20Info {
  readonly address: Address;
  readonly symbol: string;
  readonly decimals: number;
}

const UINT256_MAX = (1n << 256n) - 1n;

function assertTokenArgs(fields: Readonly<Record<string, Address>>, amount: bigint): void {
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
      throw new InvalidInputError('safe.bad_transaction', `${name} is not an address: ${String(value)}`, { details: { field: name } });
    }
  }
  if (amount < 0n || amount > UINT256_MAX) throw new InvalidInputError('safe.bad_transaction', `amount out of uint256 range: ${amount}`, { details: { field: 'amount' } });
}

/**
 * A SafeTx calling `token.transfer(to, amount)` (amount in the token's base units).
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function createErc20Transfer(params: { readonly token: Address; readonly to: Address; readonly amount: bigint; readonly nonce: bigint }): SafeTx {
  assertTokenArgs({ token: params.token, to: params.to }, params.amount);
  return createSafeTx({
    to: getAddress(params.token),
    data: encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [getAddress(params.to), params.amount] }),
    nonce: params.nonce,
  });
}

/**
 * A SafeTx calling `token.approve(spender, amount)`. Reviews flag amounts >= 2^128 as unlimited.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export function createErc20Approve(params: { readonly token: Address; readonly spender: Address; readonly amount: bigint; readonly nonce: bigint }): SafeTx {
  assertTokenArgs({ token: params.token, spender: params.spender }, params.amount);
  return createSafeTx({
    to: getAddress(params.token),
    data: encodeFunctionData({ abi: ERC20_ABI, functionName: 'approve', args: [getAddress(params.spender), params.amount] }),
    nonce: params.nonce,
  });
}

/**
 * The token balance of `owner`, in base units.
 * @throws MofnError `erc20.read_failed` (not an ERC-20, or RPC error)
 */
export async function readErc20Balance(clients: Pick<EvmClients, 'public'>, token: Address, owner: Address): Promise<bigint> {
  try {
    return await clients.public.readContract({ address: token, abi: ERC20_ABI, functionName: 'balanceOf', args: [owner] });
  } catch (cause) {
    throw new MofnError('erc20.read_failed', `cannot read balanceOf(${owner}) from token ${token}`, { cause, details: { token } });
  }
}

/**
 * Symbol and decimals of a token, for display (amounts stay in base units everywhere else).
 * @throws MofnError `erc20.read_failed`
 */
export async function readErc20Info(clients: Pick<EvmClients, 'public'>, token: Address): Promise<Erc20Info> {
  const address = getAddress(token);
  try {
    const [symbol, decimals] = await Promise.all([
      clients.public.readContract({ address, abi: ERC20_ABI, functionName: 'symbol' }),
      clients.public.readContract({ address, abi: ERC20_ABI, functionName: 'decimals' }),
    ]);
    return Object.freeze({ address, symbol, decimals });
  } catch (cause) {
    throw new MofnError('erc20.read_failed', `${address} does not answer symbol() and decimals() as an ERC-20 token`, { cause, details: { token: address } });
  }
}
