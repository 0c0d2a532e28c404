/** Executing a fully signed SafeTx: local checks, an eth_call simulation, gas estimation, then execTransaction. */
import { BaseError, ContractFunctionRevertedError, TransactionReceiptNotFoundError, decodeFunctionData, encodeFunctionData, isAddressEqual, parseEventLogs, type Account, type Address, type Hex } from 'viem';
import { ConflictError, InvalidInputError, MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { SAFE_ABI, SIGNATURE_VALIDATOR_ABI } from './abi.ts';
import { readSafe } from './read.ts';
import { encodeSafeTxData, getSafeTxHash, type SafeTx } from './safeTx.ts';
import { contractSignatureBytes, encodeSafeSignatures, verifySafeSignatures, type SafeSignature } from './signatures.ts';

/** Safe v1.4.1's legacy EIP-1271 magic value, `bytes4(keccak256("isValidSignature(bytes,bytes)"))`. */
const EIP1271_MAGIC_VALUE = '0x20c13b0b';

/** Result of {@link executeSafeTx}. */
export interface SafeExecution {
  readonly safeTxHash: Hex;
  /** The Ethereum transaction that ran execTransaction. */
  readonly txHash: Hex;
  readonly gasEstimate: bigint;
  readonly gasUsed: bigint;
  readonly blockNumber: bigint;
}

function accountAddress(account: Account | Address): Address {
  return typeof account === 'string' ? account : account.address;
}

/** The Safe's `GSxxx` revert code (or viem's short message) from a failed call. */
function revertReason(err: unknown): string {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.reason !== undefined) return reverted.reason;
    return err.shortMessage;
  }
  return String(err);
}

/**
 * Approves a safeTxHash on chain from an owner's account (`approveHash`), so that
 * {@link encodeApprovedHashSignature} counts as that owner's signature.
 * @throws MofnError `safe.approve_failed`
 */
export async function approveSafeTxHash(
  clients: EvmClients,
  params: { readonly safeAddress: Address; readonly safeTxHash: Hex; readonly account: Account | Address },
): Promise<Hex> {
  try {
    const hash = await clients.wallet.writeContract({
      account: params.account,
      chain: clients.chain,
      address: params.safeAddress,
      abi: SAFE_ABI,
      functionName: 'approveHash',
      args: [params.safeTxHash],
    });
    const receipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new MofnError('safe.approve_failed', `approveHash reverted (tx ${hash})`);
    return hash;
  } catch (cause) {
    if (cause instanceof MofnError) throw cause;
    throw new MofnError('safe.approve_failed', `approveHash by ${accountAddress(params.account)} failed: ${revertReason(cause)}`, { cause });
  }
}

/**
 * Checks the signatures against the Safe's current owners, threshold and nonce, simulates
 * execTransaction with eth_call from `account`, estimates gas and sends it. Nothing is sent unless
 * every check and the simulation pass. Any account may execute (it pays the gas).
 * @throws ConflictError `safe.wrong_nonce`; InvalidInputError (signature codes of verifySafeSignature,
 *   `safe.duplicate_signer`, `safe.hash_not_approved`, `safe.bad_contract_signature`); NotReadyError `safe.not_enough_signatures`;
 *   MofnError `safe.simulation_failed`, `safe.execution_failed`, `safe.not_deployed`, `safe.not_a_safe`
 */
export async function executeSafeTx(
  clients: EvmClients,
  params: { readonly safeAddress: Address; readonly tx: SafeTx; readonly signatures: readonly SafeSignature[]; readonly account: Account | Address },
): Promise<SafeExecution> {
  const { tx, account } = params;
  const state = await readSafe(clients, params.safeAddress);
  const safeAddress = state.address;
  if (tx.nonce !== state.nonce) {
    throw new ConflictError('safe.wrong_nonce', `SafeTx nonce ${tx.nonce} is not the Safe's current nonce ${state.nonce}`, {
      details: { nonce: tx.nonce, expected: state.nonce },
    });
  }
  const safeTxHash = getSafeTxHash({ chainId: clients.chain.id, safeAddress }, tx);
  const verified = verifySafeSignatures({ chainId: clients.chain.id, safeAddress, safeTxHash, owners: state.owners }, params.signatures);
  const executor = accountAddress(account);
  const txData = encodeSafeTxData({ chainId: clients.chain.id, safeAddress }, tx);
  for (const sig of verified) {
    if (sig.kind === 'contract') {
      // Asked exactly as Safe.sol's checkNSignatures asks it, so a refusal names the owner before the simulation would only say GS024.
      let answer: Hex | undefined;
      try {
        answer = await clients.public.readContract({ address: sig.signer, abi: SIGNATURE_VALIDATOR_ABI, functionName: 'isValidSignature', args: [txData, contractSignatureBytes(sig)] });
      } catch {
        answer = undefined;
      }
      if (answer?.toLowerCase() !== EIP1271_MAGIC_VALUE) {
        throw new InvalidInputError('safe.bad_contract_signature', `owner contract ${sig.signer} does not validate its signature of safeTxHash ${safeTxHash} (EIP-1271)`, {
          details: { signer: sig.signer, safeTxHash },
          hint: 'the owner Safe needs signatures from its own owners, up to its threshold, over this SafeTx',
        });
      }
      continue;
    }
    // Safe.sol: an approved-hash signature counts if msg.sender is that owner or approvedHashes[owner][hash] != 0.
    if (sig.kind !== 'approved_hash' || isAddressEqual(sig.signer, executor)) continue;
    const approved = await clients.public.readContract({ address: safeAddress, abi: SAFE_ABI, functionName: 'approvedHashes', args: [sig.signer, safeTxHash] });
    if (approved === 0n) {
      throw new InvalidInputError('safe.hash_not_approved', `${sig.signer} has not approved safeTxHash ${safeTxHash} on chain`, {
        details: { signer: sig.signer, safeTxHash },
        hint: 'the owner must call approveHash first, or sign the transaction',
      });
    }
  }
  const signatures = encodeSafeSignatures(verified, state.threshold);
  const request = {
    account,
    chain: clients.chain,
    address: safeAddress,
    abi: SAFE_ABI,
    functionName: 'execTransaction',
    args: [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, signatures],
  } as const;
  let gasEstimate: bigint;
  try {
    const { result } = await clients.public.simulateContract(request);
    if (!result) throw new MofnError('safe.simulation_failed', `the Safe transaction's inner call fails (safeTxHash ${safeTxHash})`);
    gasEstimate = await clients.public.estimateContractGas(request);
  } catch (cause) {
    if (cause instanceof MofnError) throw cause;
    const reason = revertReason(cause);
    throw new MofnError('safe.simulation_failed', `execTransaction would revert: ${reason}`, { cause, details: { reason, safeTxHash } });
  }
  let txHash: Hex;
  let receipt;
  try {
    txHash = await clients.wallet.writeContract({ ...request, gas: gasEstimate });
    receipt = await clients.public.waitForTransactionReceipt({ hash: txHash });
  } catch (cause) {
    throw new MofnError('safe.execution_failed', `sending execTransaction failed: ${revertReason(cause)}`, { cause, details: { safeTxHash } });
  }
  const events = parseEventLogs({ abi: SAFE_ABI, logs: receipt.logs }).filter((log) => isAddressEqual(log.address, safeAddress));
  const success = events.some((e) => e.eventName === 'ExecutionSuccess' && e.args.txHash === safeTxHash);
  if (receipt.status !== 'success' || !success) {
    throw new MofnError('safe.execution_failed', `execTransaction ${txHash} did not execute safeTxHash ${safeTxHash}`, { details: { txHash, safeTxHash } });
  }
  return Object.freeze({ safeTxHash, txHash, gasEstimate, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber });
}

/** The calldata of `execTransaction` running `tx` with `signatures` (as encodeSafeSignatures makes them). */
export function encodeExecTransaction(tx: SafeTx, signatures: Hex): Hex {
  return encodeFunctionData({
    abi: SAFE_ABI,
    functionName: 'execTransaction',
    args: [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, signatures],
  });
}

/** True when `data` calls execTransaction with exactly the fields of `tx` (the nonce is the Safe's own, not in the calldata). */
export function isExecTransactionOf(data: Hex, tx: SafeTx): boolean {
  let decoded;
  try {
    decoded = decodeFunctionData({ abi: SAFE_ABI, data });
  } catch {
    return false;
  }
  if (decoded.functionName !== 'execTransaction') return false;
  const [to, value, inner, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver] = decoded.args;
  return (
    isAddressEqual(to, tx.to) &&
    value === tx.value &&
    inner.toLowerCase() === tx.data.toLowerCase() &&
    operation === tx.operation &&
    safeTxGas === tx.safeTxGas &&
    baseGas === tx.baseGas &&
    gasPrice === tx.gasPrice &&
    isAddressEqual(gasToken, tx.gasToken) &&
    isAddressEqual(refundReceiver, tx.refundReceiver)
  );
}

/** Where a sent execTransaction stands. */
export type ExecutionOutcome =
  | { readonly status: 'pending' }
  | { readonly status: 'executed'; readonly gasUsed: bigint; readonly blockNumber: bigint }
  /** Mined without executing `safeTxHash` (reverted, or ExecutionFailure): the proposal can be executed again. */
  | { readonly status: 'failed'; readonly blockNumber: bigint };

/** Reads the receipt of execTransaction `txHash`: pending, executed (ExecutionSuccess for `safeTxHash` from the Safe), or failed. */
export async function readExecutionOutcome(clients: Pick<EvmClients, 'public'>, params: { readonly safeAddress: Address; readonly txHash: Hex; readonly safeTxHash: Hex }): Promise<ExecutionOutcome> {
  let receipt;
  try {
    receipt = await clients.public.getTransactionReceipt({ hash: params.txHash });
  } catch (cause) {
    if (cause instanceof TransactionReceiptNotFoundError) return { status: 'pending' };
    throw cause;
  }
  const success =
    receipt.status === 'success' &&
    parseEventLogs({ abi: SAFE_ABI, logs: receipt.logs }).some((e) => isAddressEqual(e.address, params.safeAddress) && e.eventName === 'ExecutionSuccess' && e.args.txHash.toLowerCase() === params.safeTxHash.toLowerCase());
  return success ? { status: 'executed', gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber } : { status: 'failed', blockNumber: receipt.blockNumber };
}
