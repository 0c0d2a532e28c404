/**
 * Proposing SafeTxs: ETH and ERC-20 transfers, contract calls from an ABI, MultiSend batches, owner and
 * threshold changes, rejections. mofn builds the SafeTx, computes its hash itself, reviews it, and stores
 * it at a nonce of the Safe's queue.
 */
import { decodeFunctionData, encodeFunctionData, formatUnits, isHex, toFunctionSignature, type AbiFunction, type AbiParameter, type Hex } from 'viem';
import { ConflictError, InvalidInputError, MofnError } from '@mofn/core';
import {
  SAFE_V141_CANONICAL,
  createAddOwnerTx,
  createChangeThresholdTx,
  createErc20Transfer,
  createMultiSendTx,
  createRejectionTx,
  createRemoveOwnerTx,
  createSafeTx,
  createSwapOwnerTx,
  getSafeTxHash,
  hasCode,
  reviewSafeTx,
  readErc20Info,
  type ImportedSafe,
  type MultiSendCall,
  type SafeTx,
} from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { changeSafe, getStoredSafe, openSafeClients, parseEvmAddress, safeTxToJson, type SafeProposalKind, type SafeProposalMeta } from './records.ts';
import { isLive, refreshSafeQueue } from './queue.ts';
import { reviewSafeProposal, type SafeProposalReview } from './review.ts';
import { refreshStoredSafe } from './safes.ts';

/** One call of a proposed batch (always a CALL: MultiSendCallOnly runs nothing else). */
export interface SafeBatchCall {
  readonly to: string;
  readonly value?: bigint;
  readonly data?: string;
}

/** What to propose. Amounts: `value` in wei; ERC-20 `amount` as a decimal in whole tokens ("12.5"). */
export type SafeProposalSpec =
  | { readonly kind: 'eth'; readonly to: string; readonly value: bigint }
  | { readonly kind: 'erc20'; readonly token: string; readonly to: string; readonly amount: string }
  | { readonly kind: 'call'; readonly to: string; readonly abi: unknown; readonly function: string; readonly args: unknown; readonly value?: bigint }
  | { readonly kind: 'batch'; readonly calls: readonly SafeBatchCall[] }
  | { readonly kind: 'add_owner'; readonly owner: string; readonly threshold?: number }
  | { readonly kind: 'remove_owner'; readonly owner: string; readonly threshold?: number }
  | { readonly kind: 'swap_owner'; readonly oldOwner: string; readonly newOwner: string }
  | { readonly kind: 'threshold'; readonly threshold: number }
  | { readonly kind: 'reject'; readonly nonce: bigint };

/** Parameters of {@link proposeSafeTx}. */
export interface ProposeSafeTxParams {
  readonly safe: string;
  readonly spec: SafeProposalSpec;
  /** Nonce to use; default: the next one after the open queue (the Safe's nonce when nothing is queued). */
  readonly nonce?: bigint;
  /** The coordinator user proposing (audited, may cancel); absent for the local CLI. */
  readonly proposer?: string;
}

/**
 * A decimal token amount ("12.5") in base units of a token with `decimals`, refusing rather than rounding extra digits.
 * @throws InvalidInputError `safe.bad_amount`
 */
export function parseTokenAmount(text: string, decimals: number): bigint {
  const m = /^([0-9]{1,78})(?:\.([0-9]{1,78}))?$/.exec(text.trim());
  if (m === null) throw new InvalidInputError('safe.bad_amount', `amount must be a decimal number of tokens like 12.5, got '${text.slice(0, 80)}'`);
  const fraction = m[2] ?? '';
  if (fraction.length > decimals) {
    throw new InvalidInputError('safe.bad_amount', `amount ${text} has ${fraction.length} decimals, the token has ${decimals}`, { details: { decimals } });
  }
  const units = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  if (units >= 1n << 256n) throw new InvalidInputError('safe.bad_amount', `amount ${text} is out of uint256 range`);
  return units;
}

function badCall(message: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError('safe.bad_call', message, cause === undefined ? {} : { cause });
}

/** The functions of an ABI given as an array, or as a build artifact `{ abi: [...] }`. */
function abiFunctions(abi: unknown): AbiFunction[] {
  const list: unknown = Array.isArray(abi) ? abi : typeof abi === 'object' && abi !== null ? (abi as { abi?: unknown }).abi : undefined;
  if (!Array.isArray(list)) throw badCall('the ABI must be a JSON array, or an object with an "abi" array');
  return list.filter((item): item is AbiFunction => typeof item === 'object' && item !== null && (item as { type?: unknown }).type === 'function');
}

/** The ABI function named `fn` ("transfer") or with signature `fn` ("transfer(address,uint256)"). */
function findFunction(abi: unknown, fn: string): AbiFunction {
  const fns = abiFunctions(abi);
  const wanted = fn.replace(/\s+/g, '');
  const matches = wanted.includes('(')
    ? fns.filter((f) => {
        try {
          return toFunctionSignature(f).replace(/\s+/g, '') === wanted;
        } catch {
          return false;
        }
      })
    : fns.filter((f) => f.name === wanted);
  if (matches.length === 0) throw badCall(`the ABI has no function ${fn.slice(0, 100)}`);
  if (matches.length > 1) throw badCall(`the ABI has ${matches.length} functions named ${fn.slice(0, 100)}: give the full signature, e.g. ${toFunctionSignature(matches[0]!)}`);
  return matches[0]!;
}

/** JSON arguments to what viem encodes: integers from decimal strings or numbers, recursively through arrays and tuples. */
function coerceArg(param: AbiParameter, value: unknown, where: string): unknown {
  const type = param.type;
  const array = /^(.*)\[(\d*)\]$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(value)) throw badCall(`${where} must be a JSON array (${type})`);
    return value.map((v, i) => coerceArg({ ...param, type: array[1]! }, v, `${where}[${i}]`));
  }
  if (type === 'tuple') {
    const components = (param as { components?: readonly AbiParameter[] }).components ?? [];
    if (Array.isArray(value)) return components.map((c, i) => coerceArg(c, value[i], `${where}.${c.name ?? i}`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(components.map((c, i) => [c.name ?? String(i), coerceArg(c, (value as Record<string, unknown>)[c.name ?? String(i)], `${where}.${c.name ?? i}`)]));
    }
    throw badCall(`${where} must be a JSON array or object (tuple)`);
  }
  if (/^u?int\d*$/.test(type)) {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    if (typeof value === 'string' && /^-?[0-9]{1,78}$/.test(value)) return BigInt(value);
    throw badCall(`${where} must be an integer (a decimal string for large values) for ${type}`);
  }
  return value;
}

function encodeCall(abi: unknown, fn: string, args: unknown): { data: Hex; meta: SafeProposalMeta } {
  const item = findFunction(abi, fn);
  if (!Array.isArray(args)) throw badCall('arguments must be a JSON array');
  if (args.length !== item.inputs.length) throw badCall(`${toFunctionSignature(item)} takes ${item.inputs.length} argument(s), got ${args.length}`);
  const coerced = item.inputs.map((p, i) => coerceArg(p, args[i], p.name ?? `arg${i}`));
  let data: Hex;
  try {
    data = encodeFunctionData({ abi: [item], functionName: item.name, args: coerced });
  } catch (cause) {
    throw badCall(`arguments do not fit ${toFunctionSignature(item)}`, cause);
  }
  return { data, meta: callPreview(item, data) };
}

/** The decoded preview of `data` against the proposer's ABI item: what a reviewer reads. */
export function callPreview(item: AbiFunction, data: Hex): SafeProposalMeta {
  const decoded = decodeFunctionData({ abi: [item], data });
  const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return { function: toFunctionSignature(item), abiItem: item, args: (decoded.args ?? []).map(show) };
}

/** Builds the SafeTx of `spec` at `nonce` and its display facts. */
async function buildSafeTx(
  clients: Awaited<ReturnType<typeof openSafeClients>>,
  onChain: ImportedSafe,
  spec: SafeProposalSpec,
  nonce: bigint,
): Promise<{ tx: SafeTx; meta: SafeProposalMeta }> {
  const owners = { address: onChain.address, owners: onChain.owners, threshold: onChain.threshold, nonce: onChain.nonce };
  switch (spec.kind) {
    case 'eth':
      if (typeof spec.value !== 'bigint' || spec.value <= 0n) throw new InvalidInputError('safe.bad_amount', 'an ETH transfer needs a positive value in wei');
      return { tx: createSafeTx({ to: parseEvmAddress('to', spec.to), value: spec.value, nonce }), meta: {} };
    case 'erc20': {
      const token = parseEvmAddress('token', spec.token);
      const info = await readErc20Info(clients, token);
      const amount = parseTokenAmount(spec.amount, info.decimals);
      if (amount === 0n) throw new InvalidInputError('safe.bad_amount', 'an ERC-20 transfer needs a positive amount');
      return { tx: createErc20Transfer({ token, to: parseEvmAddress('to', spec.to), amount, nonce }), meta: { token: { address: token, symbol: info.symbol.slice(0, 32), decimals: info.decimals } } };
    }
    case 'call': {
      const to = parseEvmAddress('to', spec.to);
      if (!(await hasCode(clients, to))) throw badCall(`${to} has no contract code on chain ${onChain.chainId}`);
      const { data, meta } = encodeCall(spec.abi, spec.function, spec.args);
      return { tx: createSafeTx({ to, data, value: spec.value ?? 0n, nonce }), meta };
    }
    case 'batch': {
      const list: readonly SafeBatchCall[] = spec.calls;
      if (list.length === 0) throw new InvalidInputError('safe.bad_multisend', 'a batch needs at least one call');
      const calls: MultiSendCall[] = list.map((c, i) => {
        const data = c.data ?? '0x';
        if (typeof data !== 'string' || !isHex(data) || data.length % 2 !== 0) throw new InvalidInputError('safe.bad_multisend', `call ${i + 1}: data is not even-length 0x hex`);
        return { to: parseEvmAddress(`call ${i + 1} to`, c.to), value: c.value ?? 0n, data, operation: 0 };
      });
      const callOnly = SAFE_V141_CANONICAL.multiSendCallOnly;
      if (!(await hasCode(clients, callOnly))) throw new MofnError('safe.singleton_missing', `MultiSendCallOnly is not deployed at ${callOnly} on chain ${onChain.chainId}`);
      return { tx: createMultiSendTx({ calls, nonce, multiSendCallOnly: callOnly }), meta: {} };
    }
    case 'add_owner':
      return { tx: createAddOwnerTx(owners, { owner: parseEvmAddress('owner', spec.owner), nonce, ...(spec.threshold === undefined ? {} : { threshold: spec.threshold }) }), meta: {} };
    case 'remove_owner':
      return { tx: createRemoveOwnerTx(owners, { owner: parseEvmAddress('owner', spec.owner), nonce, ...(spec.threshold === undefined ? {} : { threshold: spec.threshold }) }), meta: {} };
    case 'swap_owner':
      return { tx: createSwapOwnerTx(owners, { oldOwner: parseEvmAddress('old owner', spec.oldOwner), newOwner: parseEvmAddress('new owner', spec.newOwner), nonce }), meta: {} };
    case 'threshold':
      return { tx: createChangeThresholdTx(owners, { threshold: spec.threshold, nonce }), meta: {} };
    case 'reject':
      return { tx: createRejectionTx(onChain.address, nonce), meta: {} };
  }
}

/**
 * Builds, hashes, reviews and stores a proposal. The Safe is re-read first: its singleton must still
 * be allow-listed and its version at least 1.3.0; executed nonces are closed before choosing one.
 * A DELEGATECALL anywhere but to the trusted MultiSendCallOnly is refused outright.
 * @throws InvalidInputError `safe.bad_address`, `safe.bad_amount`, `safe.bad_call`, `safe.bad_multisend`, owner-change codes
 *   (`safe.bad_threshold`, `safe.not_an_owner`, `safe.duplicate_owner`, `safe.bad_owner`), `safe.bad_nonce`;
 *   ConflictError `safe.nonce_used`, `safe.proposal_exists`; SigningRefusedError-free: dangers are flagged, not refused,
 *   except `safe.delegatecall_refused`; MofnError from the chain reads (`safe.unknown_singleton`, `safe.unsupported_version`, ...)
 */
export async function proposeSafeTx(ctx: ServiceContext, params: ProposeSafeTxParams): Promise<SafeProposalReview> {
  const safe = await getStoredSafe(ctx, params.safe);
  const clients = await openSafeClients(safe);
  const onChain = await refreshStoredSafe(ctx, safe, clients);
  const queue = await refreshSafeQueue(ctx, safe, clients, onChain.nonce);
  const wanted = params.spec.kind === 'reject' ? params.spec.nonce : params.nonce;
  let nonce: bigint;
  if (wanted !== undefined) {
    if (typeof wanted !== 'bigint' || wanted < 0n || wanted >= 1n << 64n) throw new InvalidInputError('safe.bad_nonce', `nonce must be a non-negative integer, got ${String(wanted)}`);
    if (wanted < onChain.nonce) {
      throw new ConflictError('safe.nonce_used', `nonce ${wanted} of Safe '${safe.name}' is already used (current nonce ${onChain.nonce})`, { details: { nonce: wanted, current: onChain.nonce } });
    }
    nonce = wanted;
  } else {
    const open = queue.filter(isLive).map((p) => p.nonce);
    nonce = open.reduce((max, n) => (n + 1n > max ? n + 1n : max), onChain.nonce);
  }
  const { tx, meta } = await buildSafeTx(clients, onChain, params.spec, nonce);
  if (reviewSafeTx(tx, { safeAddress: safe.address, threshold: onChain.threshold }).dangers.includes('safe.delegatecall')) {
    throw new InvalidInputError('safe.delegatecall_refused', 'the transaction DELEGATECALLs code other than the trusted MultiSendCallOnly: mofn does not propose it');
  }
  const safeTxHash = getSafeTxHash({ chainId: safe.chainId, safeAddress: safe.address }, tx);
  const seq = await changeSafe(ctx, safe, params.proposer ?? 'cli', async ({ trx, at }, record) => {
    // Inside the transaction (under the wallet lock when coordinated), so two equal proposals cannot both pass.
    const clash = await trx.selectFrom('safe_proposals').select(['safe_name', 'seq']).where('safe_tx_hash', '=', safeTxHash).executeTakeFirst();
    if (clash !== undefined) {
      throw new ConflictError('safe.proposal_exists', `the same SafeTx is already proposal ${clash.seq} of Safe '${clash.safe_name}' (safeTxHash ${safeTxHash})`, { details: { id: clash.seq } });
    }
    const last = await trx.selectFrom('safe_proposals').select((eb) => eb.fn.max<number | string | null>('seq').as('m')).where('safe_name', '=', safe.name).executeTakeFirst();
    const next = Number(last?.m ?? 0) + 1;
    await trx
      .insertInto('safe_proposals')
      .values({
        safe_name: safe.name,
        seq: next,
        safe_tx_hash: safeTxHash,
        nonce: nonce.toString(),
        kind: params.spec.kind satisfies SafeProposalKind,
        tx: JSON.stringify(safeTxToJson(tx)),
        meta: JSON.stringify(meta),
        state: 'open',
        exec_tx_hash: null,
        gas_used: null,
        created_at: at,
        updated_at: at,
        proposer: params.proposer ?? null,
      })
      .execute();
    await record('safe.proposal_created', { proposal: next, safeTxHash, nonce: nonce.toString(), kind: params.spec.kind }, 'proposal.created');
    return next;
  });
  return reviewSafeProposal(ctx, { safe: safe.name, id: seq });
}

/** Formats a token amount with its symbol, e.g. "12.5 TT". */
export function formatTokenAmount(units: bigint, token: { readonly symbol: string; readonly decimals: number }): string {
  return `${formatUnits(units, token.decimals)} ${token.symbol}`;
}
