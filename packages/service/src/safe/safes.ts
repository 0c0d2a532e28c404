/** Safes by local name: deploy a new one, import an existing one, show one as it is on chain now. */
import { type Account, type Address, type Hex } from 'viem';
import { ConflictError, InvalidInputError, MofnError } from '@mofn/core';
import { assertSafeSingletons, createSafe, importSafe, type EvmClients, type ImportedSafe } from '@mofn/ethereum';
import type { Selectable } from 'kysely';
import type { ServiceContext } from '../context.ts';
import type { SafeTable } from '../store/schema.ts';
import { assertSafeName, getStoredSafe, openSafeClients, parseEvmAddress, safeFromRow, type StoredSafe } from './records.ts';

/** Who sends (and pays for) an Ethereum transaction: a local account, or an address the node has unlocked. */
export type SafeSender = Account | Address;

/**
 * The given sender, else the node's first unlocked account (dev chains).
 * @throws MofnError `safe.no_sender`
 */
export async function resolveSender(clients: EvmClients, sender: SafeSender | undefined): Promise<SafeSender> {
  if (sender !== undefined) return sender;
  let accounts: readonly Address[] = [];
  try {
    accounts = await clients.wallet.getAddresses();
  } catch {
    accounts = [];
  }
  const first = accounts[0];
  if (first === undefined) {
    throw new MofnError('safe.no_sender', `the node at chain ${clients.chain.id} has no unlocked account to send from`, {
      hint: 'give a keystore to pay the gas from (--from-keystore FILE)',
    });
  }
  return first;
}

async function assertNameFree(ctx: ServiceContext, name: string): Promise<void> {
  assertSafeName(name);
  const taken = await ctx.db.selectFrom('safes').select('name').where('name', '=', name).executeTakeFirst();
  if (taken !== undefined) throw new ConflictError('safe.name_taken', `a Safe named '${name}' already exists`);
}

function assertChainId(chainId: number): void {
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new InvalidInputError('safe.bad_chain_id', `chain id must be a positive integer, got ${String(chainId)}`);
}

async function storeImported(ctx: ServiceContext, name: string, rpcUrl: string, imported: ImportedSafe): Promise<StoredSafe> {
  const existing = await ctx.db.selectFrom('safes').select('name').where('chain_id', '=', imported.chainId).where('address', '=', imported.address).executeTakeFirst();
  if (existing !== undefined) {
    throw new ConflictError('safe.exists', `Safe ${imported.address} on chain ${imported.chainId} is already stored as '${existing.name}'`, { details: { name: existing.name } });
  }
  const row = safeRowOf(name, rpcUrl, imported, ctx.now().toISOString(), null);
  await ctx.db.insertInto('safes').values(row).execute();
  return safeFromRow(row);
}

/** The `safes` row of a Safe read on chain (`walletId` for one the coordinator serves). */
export function safeRowOf(name: string, rpcUrl: string, imported: ImportedSafe, at: string, walletId: string | null): Selectable<SafeTable> {
  return {
    name,
    chain_id: imported.chainId,
    rpc_url: rpcUrl,
    address: imported.address,
    version: imported.version,
    singleton: imported.singleton.address,
    owners: JSON.stringify(imported.owners),
    threshold: imported.threshold,
    created_at: at,
    wallet_id: walletId,
  };
}

/** Parameters of {@link createStoredSafe}. */
export interface CreateStoredSafeParams {
  readonly name: string;
  readonly owners: readonly string[];
  readonly threshold: number;
  readonly chainId: number;
  readonly rpcUrl: string;
  readonly saltNonce?: bigint;
  /** Pays for the deployment; default: the node's first unlocked account. */
  readonly sender?: SafeSender;
}

/** Result of {@link createStoredSafe}. */
export interface CreatedStoredSafe {
  readonly safe: StoredSafe;
  readonly txHash: Hex;
  readonly gasUsed: bigint;
}

/**
 * Deploys a new Safe v1.4.1 through the proxy factory (CREATE2 address predicted first and checked
 * after), checks its owners and threshold on chain, and stores it under `name`.
 * @throws InvalidInputError `safe.bad_name`, `safe.bad_address`, `safe.bad_threshold`, `safe.duplicate_owner`, `safe.bad_chain_id`;
 *   ConflictError `safe.name_taken`, `safe.exists`; MofnError `safe.singleton_missing`, `safe.already_deployed`, `safe.deploy_failed`,
 *   `safe.create_mismatch`, `safe.no_sender`, `chain.wrong_chain_id`, `chain.rpc_failed`
 */
export async function createStoredSafe(ctx: ServiceContext, params: CreateStoredSafeParams): Promise<CreatedStoredSafe> {
  await assertNameFree(ctx, params.name);
  assertChainId(params.chainId);
  const owners = params.owners.map((o, i) => parseEvmAddress(`owner ${i + 1}`, o));
  const clients = await openSafeClients({ rpcUrl: params.rpcUrl, chainId: params.chainId });
  const singletons = await assertSafeSingletons(clients);
  const account = await resolveSender(clients, params.sender);
  const created = await createSafe(clients, {
    config: { owners, threshold: params.threshold, ...(params.saltNonce === undefined ? {} : { saltNonce: params.saltNonce }) },
    singletons,
    account,
  });
  // Read back through the import path: the stored singleton is the allow-listed one actually running.
  const imported = await importSafe(clients, created.address);
  const safe = await storeImported(ctx, params.name, params.rpcUrl, imported);
  return Object.freeze({ safe, txHash: created.txHash, gasUsed: created.gasUsed });
}

/** Parameters of {@link importStoredSafe}. */
export interface ImportStoredSafeParams {
  readonly name: string;
  readonly address: string;
  readonly chainId: number;
  readonly rpcUrl: string;
}

/**
 * Reads an existing Safe (singleton allow-listed by address and code hash, version >= 1.3.0) and stores it.
 * @throws InvalidInputError `safe.bad_name`, `safe.bad_address`; ConflictError `safe.name_taken`, `safe.exists`;
 *   MofnError `safe.not_deployed`, `safe.unknown_singleton`, `safe.unsupported_version`, `safe.not_a_safe`, `chain.wrong_chain_id`
 */
export async function importStoredSafe(ctx: ServiceContext, params: ImportStoredSafeParams): Promise<{ readonly safe: StoredSafe; readonly imported: ImportedSafe }> {
  await assertNameFree(ctx, params.name);
  assertChainId(params.chainId);
  const address = parseEvmAddress('address', params.address);
  const clients = await openSafeClients({ rpcUrl: params.rpcUrl, chainId: params.chainId });
  const imported = await importSafe(clients, address);
  const safe = await storeImported(ctx, params.name, params.rpcUrl, imported);
  return Object.freeze({ safe, imported });
}

/**
 * Re-reads a stored Safe on chain (refusing it if its singleton is no longer allow-listed) and saves its
 * current owners and threshold.
 * @throws as {@link importStoredSafe}'s chain reads
 */
export async function refreshStoredSafe(ctx: ServiceContext, safe: StoredSafe, clients: EvmClients): Promise<ImportedSafe> {
  const imported = await importSafe(clients, safe.address);
  if (imported.singleton.address !== safe.singleton || imported.threshold !== safe.threshold || JSON.stringify(imported.owners) !== JSON.stringify(safe.owners)) {
    await ctx.db
      .updateTable('safes')
      .set({ owners: JSON.stringify(imported.owners), threshold: imported.threshold, singleton: imported.singleton.address, version: imported.version })
      .where('name', '=', safe.name)
      .execute();
  }
  return imported;
}

/** A Safe as stored and as it is on chain now. */
export interface SafeOverview {
  readonly safe: StoredSafe;
  readonly onChain: ImportedSafe;
  readonly balance: bigint;
  readonly openProposals: number;
}

/**
 * The stored Safe with its live state: owners, threshold, nonce, modules, guard, fallback handler, ETH balance.
 * @throws NotFoundError `safe.not_found`; MofnError from the chain reads
 */
export async function showSafe(ctx: ServiceContext, name: string): Promise<SafeOverview> {
  const stored = await getStoredSafe(ctx, name);
  const clients = await openSafeClients(stored);
  const onChain = await refreshStoredSafe(ctx, stored, clients);
  const balance = await clients.public.getBalance({ address: stored.address });
  const open = await ctx.db.selectFrom('safe_proposals').select((eb) => eb.fn.countAll<number | string>().as('n')).where('safe_name', '=', name).where('state', '=', 'open').executeTakeFirstOrThrow();
  return Object.freeze({ safe: await getStoredSafe(ctx, name), onChain, balance, openProposals: Number(open.n) });
}
