/**
 * Stored Safes and Safe proposals: rows to views and back. A SafeTx is stored as JSON with its
 * amounts as decimal strings and re-validated (createSafeTx) every time it is read.
 */
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { ConflictError, InvalidInputError, NotFoundError } from '@mofn/core';
import { createEvmClients, createSafeTx, type EvmClients, type SafeOperation, type SafeTx } from '@mofn/ethereum';
import type { Kysely, Selectable } from 'kysely';
import type { ServiceContext } from '../context.ts';
import { appendAudit } from '../coordinator/audit.ts';
import { enqueueEvent } from '../coordinator/outbox.ts';
import { inWalletTx, type TxContext } from '../coordinator/tx.ts';
import type { Database, SafeProposalTable, SafeTable } from '../store/schema.ts';

/** A Safe as stored under a local name. */
export interface StoredSafe {
  readonly name: string;
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly address: Address;
  readonly version: string;
  readonly singleton: Address;
  /** Owners as last read from the chain (linked-list order). */
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly createdAt: string;
  /** The coordinator's wallet id of a Safe it serves (roles, audit log, webhooks); null for a local Safe. */
  readonly walletId: string | null;
}

/** What a proposal does, as chosen by its proposer. */
export type SafeProposalKind = 'eth' | 'erc20' | 'call' | 'batch' | 'add_owner' | 'remove_owner' | 'swap_owner' | 'threshold' | 'reject';

/**
 * Where a proposal stands: `broadcast` once an execTransaction for it was sent and not yet seen mined,
 * `superseded` when another proposal used its nonce, `cancelled` when withdrawn on the coordinator.
 */
export type SafeProposalState = 'open' | 'broadcast' | 'executed' | 'superseded' | 'cancelled';

/** Display facts gathered when a proposal was made (never trusted for hashing or signing). */
export interface SafeProposalMeta {
  /** ERC-20 transfers: the token as it answered symbol() and decimals(). */
  readonly token?: { readonly address: Address; readonly symbol: string; readonly decimals: number };
  /** Contract calls: the function's signature, its ABI item and the decoded arguments, as text. */
  readonly function?: string;
  readonly abiItem?: unknown;
  readonly args?: readonly string[];
}

/** A stored proposal. `id` is its number within the Safe. */
export interface SafeProposal {
  readonly safe: string;
  readonly id: number;
  readonly safeTxHash: Hex;
  readonly nonce: bigint;
  readonly kind: SafeProposalKind;
  readonly tx: SafeTx;
  readonly meta: SafeProposalMeta;
  readonly state: SafeProposalState;
  readonly execTxHash: Hex | null;
  readonly gasUsed: bigint | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The coordinator user who proposed it (null for local proposals). */
  readonly proposer: string | null;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** @throws InvalidInputError `safe.bad_name` unless 1-64 of [A-Za-z0-9._-], starting alphanumeric. */
export function assertSafeName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new InvalidInputError('safe.bad_name', `Safe name '${typeof name === 'string' ? name.slice(0, 80) : typeof name}' is not allowed`, {
      hint: 'use 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit',
    });
  }
}

/**
 * Parses an address typed by a user or read from a file, returning it checksummed.
 * @throws InvalidInputError `safe.bad_address` (the field name says which)
 */
export function parseEvmAddress(field: string, value: unknown): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new InvalidInputError('safe.bad_address', `${field} is not an Ethereum address: ${typeof value === 'string' ? value.slice(0, 60) : typeof value}`, { details: { field } });
  }
  const text: string = value;
  // A mixed-case address must carry a valid EIP-55 checksum: a typo in one must not pass.
  if (text !== text.toLowerCase() && text.slice(2) !== text.slice(2).toUpperCase() && getAddress(text) !== text) {
    throw new InvalidInputError('safe.bad_address', `${field} has a wrong EIP-55 checksum: ${text}`, { details: { field } });
  }
  return getAddress(value);
}

export function safeFromRow(row: Selectable<SafeTable>): StoredSafe {
  return Object.freeze({
    name: row.name,
    chainId: row.chain_id,
    rpcUrl: row.rpc_url,
    address: getAddress(row.address),
    version: row.version,
    singleton: getAddress(row.singleton),
    owners: Object.freeze((JSON.parse(row.owners) as string[]).map((o) => getAddress(o))),
    threshold: row.threshold,
    createdAt: row.created_at,
    walletId: row.wallet_id,
  });
}

/** Serializes a SafeTx for the store (amounts as decimal strings). */
export function safeTxToJson(tx: SafeTx): Record<string, string | number> {
  return {
    to: tx.to,
    value: tx.value.toString(),
    data: tx.data,
    operation: tx.operation,
    safeTxGas: tx.safeTxGas.toString(),
    baseGas: tx.baseGas.toString(),
    gasPrice: tx.gasPrice.toString(),
    gasToken: tx.gasToken,
    refundReceiver: tx.refundReceiver,
    nonce: tx.nonce.toString(),
  };
}

function safeTxFromJson(text: string): SafeTx {
  return safeTxFromFields(JSON.parse(text) as Record<string, string | number>);
}

/**
 * The SafeTx of fields as {@link safeTxToJson} writes them (and the API shows them), validated.
 * @throws InvalidInputError from createSafeTx; SyntaxError for an amount that is not an integer
 */
export function safeTxFromFields(o: Readonly<Record<string, string | number>>): SafeTx {
  return createSafeTx({
    to: String(o['to']) as Address,
    value: BigInt(o['value']!),
    data: String(o['data']) as Hex,
    operation: Number(o['operation']) as SafeOperation,
    safeTxGas: BigInt(o['safeTxGas']!),
    baseGas: BigInt(o['baseGas']!),
    gasPrice: BigInt(o['gasPrice']!),
    gasToken: String(o['gasToken']) as Address,
    refundReceiver: String(o['refundReceiver']) as Address,
    nonce: BigInt(o['nonce']!),
  });
}

export function proposalFromRow(row: Selectable<SafeProposalTable>): SafeProposal {
  return Object.freeze({
    safe: row.safe_name,
    id: row.seq,
    safeTxHash: row.safe_tx_hash as Hex,
    nonce: BigInt(row.nonce),
    kind: row.kind as SafeProposalKind,
    tx: safeTxFromJson(row.tx),
    meta: Object.freeze(JSON.parse(row.meta) as SafeProposalMeta),
    state: row.state as SafeProposalState,
    execTxHash: row.exec_tx_hash as Hex | null,
    gasUsed: row.gas_used === null ? null : BigInt(row.gas_used),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    proposer: row.proposer,
  });
}

/**
 * The stored Safe called `name`.
 * @throws InvalidInputError `safe.bad_name`; NotFoundError `safe.not_found`
 */
export async function getStoredSafe(ctx: ServiceContext, name: string): Promise<StoredSafe> {
  assertSafeName(name);
  const row = await ctx.db.selectFrom('safes').selectAll().where('name', '=', name).executeTakeFirst();
  if (row === undefined) {
    throw new NotFoundError('safe.not_found', `no Safe named '${name}'`, { hint: 'create one with `mofn safe create` or add one with `mofn safe import`' });
  }
  return safeFromRow(row);
}

/** Every stored Safe, by name. */
export async function listStoredSafes(ctx: ServiceContext): Promise<readonly StoredSafe[]> {
  const rows = await ctx.db.selectFrom('safes').selectAll().orderBy('name').execute();
  return Object.freeze(rows.map(safeFromRow));
}

/**
 * A proposal of Safe `safe` by its number, or by a prefix (at least 8 hex digits after 0x) of its safeTxHash.
 * @throws InvalidInputError `safe.bad_proposal_id`; NotFoundError `safe.proposal_not_found`; ConflictError `safe.ambiguous_proposal_id`
 */
export async function getSafeProposal(db: Kysely<Database>, safe: string, id: string | number): Promise<SafeProposal> {
  const text = String(id).trim().toLowerCase();
  let rows;
  if (/^[0-9]{1,9}$/.test(text)) {
    rows = await db.selectFrom('safe_proposals').selectAll().where('safe_name', '=', safe).where('seq', '=', Number(text)).execute();
  } else if (/^0x[0-9a-f]{8,64}$/.test(text)) {
    rows = await db.selectFrom('safe_proposals').selectAll().where('safe_name', '=', safe).where('safe_tx_hash', 'like', `${text}%`).execute();
  } else {
    throw new InvalidInputError('safe.bad_proposal_id', `'${text.slice(0, 70)}' is neither a proposal number nor a safeTxHash prefix (0x and 8+ hex digits)`);
  }
  if (rows.length > 1) throw new ConflictError('safe.ambiguous_proposal_id', `${text} matches ${rows.length} proposals of Safe '${safe}'`, { hint: 'give more digits of the safeTxHash' });
  const row = rows[0];
  if (row === undefined) throw new NotFoundError('safe.proposal_not_found', `Safe '${safe}' has no proposal ${text}`);
  return proposalFromRow(row);
}

/** Every proposal of a Safe, by nonce then number. */
export async function listProposalRows(db: Kysely<Database>, safe: string): Promise<SafeProposal[]> {
  const rows = await db.selectFrom('safe_proposals').selectAll().where('safe_name', '=', safe).execute();
  return rows.map(proposalFromRow).sort((a, b) => (a.nonce === b.nonce ? a.id - b.id : a.nonce < b.nonce ? -1 : 1));
}

/**
 * JSON-RPC clients for a stored Safe, checking that its URL still serves the Safe's chain.
 * @throws MofnError `chain.wrong_chain_id`, `chain.rpc_failed`; InvalidInputError `chain.bad_url`
 */
export function openSafeClients(safe: Pick<StoredSafe, 'rpcUrl' | 'chainId'>): Promise<EvmClients> {
  return createEvmClients(safe.rpcUrl, safe.chainId);
}

/** Records what a change did: an audit event and, optionally, a webhook event (coordinated Safes only). */
export type SafeChangeRecorder = (type: string, data: Record<string, unknown>, event?: string) => Promise<void>;

/**
 * Runs a change to a Safe's proposals or signatures in one transaction. For a Safe the coordinator
 * serves, the transaction holds its wallet lock and `record` appends the audit event and webhook
 * event in it, so a change and its record commit together or not at all; for a local Safe `record`
 * does nothing.
 */
export async function changeSafe<T>(ctx: ServiceContext, safe: Pick<StoredSafe, 'walletId' | 'name'>, actor: string, fn: (tx: TxContext, record: SafeChangeRecorder) => Promise<T>): Promise<T> {
  const walletId = safe.walletId;
  if (walletId === null) {
    return ctx.db.transaction().execute(async (trx) => {
      const now = ctx.now();
      return fn({ trx, ctx, at: now.toISOString(), atMs: now.getTime() }, () => Promise.resolve());
    });
  }
  return inWalletTx(ctx, walletId, (tx) =>
    fn(tx, async (type, data, event) => {
      await appendAudit(tx, walletId, type, actor, { safe: safe.name, ...data });
      if (event !== undefined) await enqueueEvent(tx, walletId, event, { safe: safe.name, ...data });
    }),
  );
}
