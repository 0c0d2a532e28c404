import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
} from '@mofn/core';
import {
  createAddressDeriver,
  createPolicy,
  encodeExtendedPublicKey,
  exportCaravanConfig,
  exportColdcardConfig,
  formatDerivationPath,
  importWalletFile,
  policyFromDescriptor,
  policyToDescriptor,
  walletIdOf,
  type AddressDeriver,
  type MultisigPolicy,
  type Network,
  type ScriptType,
} from '@mofn/bitcoin';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ServiceContext } from './context.ts';
import { appendAudit } from './coordinator/audit.ts';
import { inTx } from './coordinator/tx.ts';

/** A stored wallet as shown to users and APIs. */
export interface WalletView {
  readonly id: string;
  readonly name: string;
  readonly network: Network;
  readonly type: ScriptType;
  readonly threshold: number;
  readonly total: number;
  readonly sorted: boolean;
  readonly descriptor: string;
  readonly createdAt: string;
  readonly cosigners: readonly { position: number; fingerprint: string; path: string | null; xpub: string }[];
}

/** A loaded wallet: its view plus the parsed policy and a (cached) address deriver. */
export interface LoadedWallet {
  readonly view: WalletView;
  readonly policy: MultisigPolicy;
  readonly deriver: AddressDeriver;
}

/** Export formats `exportWallet` writes. */
export type WalletExportFormat = 'descriptor' | 'caravan' | 'coldcard';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** @throws InvalidInputError `wallet.bad_name` unless the name is 1-64 of [A-Za-z0-9._-], starting alphanumeric. */
export function assertWalletName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new InvalidInputError('wallet.bad_name', `wallet name '${name.slice(0, 80)}' is not allowed`, {
      hint: 'use 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit',
    });
  }
}

/** Parameters of {@link createWallet}. */
export interface CreateWalletParams {
  readonly name: string;
  readonly threshold: number;
  readonly keys: readonly string[];
  readonly type?: ScriptType;
  readonly network?: Network;
  readonly sorted?: boolean;
  /** The coordinator user creating it: granted the wallet's `admin` role in the same transaction. */
  readonly creator?: string;
}

/**
 * Creates a wallet from cosigner keys and stores it.
 * @throws InvalidKeyError / InvalidDescriptorError from the policy checks; ConflictError `wallet.exists`
 *   when the same definition is stored under another name, `wallet.name_taken` when the name is used.
 */
export async function createWallet(ctx: ServiceContext, params: CreateWalletParams): Promise<WalletView> {
  assertWalletName(params.name);
  const policy = createPolicy({
    type: params.type ?? 'wsh',
    threshold: params.threshold,
    keys: params.keys,
    network: params.network ?? 'main',
    sorted: params.sorted ?? true,
  });
  return storePolicy(ctx, params.name, policy, params.creator);
}

/** Parameters of {@link importWallet}. */
export interface ImportWalletParams {
  readonly text: string;
  readonly name?: string;
  readonly network?: Network;
  /** As in {@link CreateWalletParams.creator}. */
  readonly creator?: string;
}

/**
 * Imports a wallet from a descriptor, Caravan JSON or Coldcard config text.
 * @throws InvalidWalletFileError for unreadable files, InvalidInputError `wallet.name_required` when neither
 *   the file nor the caller names it, plus the errors of {@link createWallet}.
 */
export async function importWallet(ctx: ServiceContext, params: ImportWalletParams): Promise<WalletView> {
  const imported = importWalletFile(params.text, params.network === undefined ? {} : { network: params.network });
  const name = params.name ?? imported.name;
  if (name === undefined) {
    throw new InvalidInputError('wallet.name_required', 'the imported file does not name the wallet', { hint: 'pass --name NAME' });
  }
  const safeName = NAME_RE.test(name) || params.name !== undefined ? name : name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  assertWalletName(safeName);
  return storePolicy(ctx, safeName, imported.policy, params.creator);
}

async function storePolicy(ctx: ServiceContext, name: string, policy: MultisigPolicy, creator?: string): Promise<WalletView> {
  const id = walletIdOf(policy);
  const descriptor = policyToDescriptor(policy, { checksum: true });
  await inTx(ctx, async (tx) => {
    const { trx, at: createdAt } = tx;
    const same = await trx.selectFrom('wallets').select(['name']).where('id', '=', id).executeTakeFirst();
    if (same) {
      throw new ConflictError('wallet.exists', `this wallet is already stored as '${same.name}'`, { details: { id, name: same.name } });
    }
    const taken = await trx.selectFrom('wallets').select(['id']).where('name', '=', name).executeTakeFirst();
    if (taken) {
      throw new ConflictError('wallet.name_taken', `a different wallet is already named '${name}'`, {
        hint: 'choose another name; a wallet definition never changes, a changed key or threshold is a new wallet',
      });
    }
    await trx
      .insertInto('wallets')
      .values({
        id,
        name,
        chain: 'bitcoin',
        network: policy.network,
        script_type: policy.type,
        threshold: policy.threshold,
        total: policy.keys.length,
        sorted: policy.sorted ? 1 : 0,
        descriptor,
        created_at: createdAt,
      })
      .execute();
    await trx
      .insertInto('cosigners')
      .values(
        policy.keys.map((k, position) => ({
          wallet_id: id,
          position,
          fingerprint: k.origin?.fingerprint ?? '00000000',
          origin_path: k.origin ? formatDerivationPath(k.origin.path, { marker: 'h', prefix: true }) : null,
          xpub: encodeExtendedPublicKey(k.xpub, policy.network),
          public_key: bytesToHex(k.xpub.publicKey),
          label: null,
        })),
      )
      .execute();
    if (creator !== undefined) {
      await trx.insertInto('wallet_roles').values({ wallet_id: id, user_id: creator, role: 'admin', cosigner: null, created_at: createdAt }).execute();
    }
    await appendAudit(tx, id, 'wallet.created', creator ?? 'cli', { wallet: id, name, descriptor });
  });
  return (await loadWallet(ctx, id)).view;
}

const deriverCache = new Map<string, AddressDeriver>();

/**
 * Loads a wallet by name or id.
 * @throws NotFoundError `wallet.not_found`.
 */
export async function loadWallet(ctx: ServiceContext, nameOrId: string): Promise<LoadedWallet> {
  // A wallet never changes once stored (its id is the hash of its definition): cache it per store.
  let cache = loadedCache.get(ctx.db);
  if (cache === undefined) {
    cache = new Map();
    loadedCache.set(ctx.db, cache);
  }
  const hit = cache.get(nameOrId);
  if (hit !== undefined) return hit;
  const loaded = await readWallet(ctx, nameOrId);
  if (cache.size > 1000) cache.clear();
  cache.set(loaded.view.id, loaded);
  cache.set(loaded.view.name, loaded);
  return loaded;
}

const loadedCache = new WeakMap<object, Map<string, LoadedWallet>>();

async function readWallet(ctx: ServiceContext, nameOrId: string): Promise<LoadedWallet> {
  const row = await ctx.db
    .selectFrom('wallets')
    .selectAll()
    .where((eb) => eb.or([eb('name', '=', nameOrId), eb('id', '=', nameOrId)]))
    .executeTakeFirst();
  // A Safe the coordinator serves has a wallets row too (roles, audit, webhooks), but no descriptor to load.
  if (!row || row.chain !== 'bitcoin') {
    throw new NotFoundError('wallet.not_found', `no wallet named '${nameOrId.slice(0, 80)}'`, { hint: 'list wallets with `mofn wallet list`' });
  }
  const cosigners = await ctx.db.selectFrom('cosigners').selectAll().where('wallet_id', '=', row.id).orderBy('position').execute();
  const network = row.network as Network;
  let deriver = deriverCache.get(row.id);
  if (!deriver) {
    deriver = createAddressDeriver(policyFromDescriptor(row.descriptor, network));
    deriverCache.set(row.id, deriver);
  }
  const view: WalletView = {
    id: row.id,
    name: row.name,
    network,
    type: row.script_type as ScriptType,
    threshold: row.threshold,
    total: row.total,
    sorted: row.sorted === 1,
    descriptor: row.descriptor,
    createdAt: row.created_at,
    cosigners: cosigners.map((c) => ({ position: c.position, fingerprint: c.fingerprint, path: c.origin_path, xpub: c.xpub })),
  };
  return { view, policy: deriver.policy, deriver };
}

/** Lists stored wallets, by name. */
export async function listWallets(ctx: ServiceContext): Promise<WalletView[]> {
  const rows = await ctx.db.selectFrom('wallets').select(['id']).where('chain', '=', 'bitcoin').orderBy('name').execute();
  const views: WalletView[] = [];
  for (const r of rows) views.push((await loadWallet(ctx, r.id)).view);
  return views;
}

/**
 * Exports a wallet in one of the formats other coordinators and devices import.
 * @throws InvalidInputError `wallet.bad_format` for an unknown format.
 */
export async function exportWallet(ctx: ServiceContext, nameOrId: string, format: WalletExportFormat): Promise<string> {
  const { view, policy } = await loadWallet(ctx, nameOrId);
  switch (format) {
    case 'descriptor':
      return view.descriptor;
    case 'caravan':
      return exportCaravanConfig(policy, view.name);
    case 'coldcard':
      return exportColdcardConfig(policy, view.name);
    default:
      throw new InvalidInputError('wallet.bad_format', `unknown export format '${String(format)}'`, { hint: 'use descriptor, caravan or coldcard' });
  }
}
