import { InvalidInputError } from '@mofn/core';
import { addressToScript, formatDerivationPath, type Branch, type DerivedAddress } from '@mofn/bitcoin';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ServiceContext } from './context.ts';
import { loadWallet } from './wallets.ts';
import { appendAudit } from './coordinator/audit.ts';
import { inWalletTx } from './coordinator/tx.ts';

/** One address of a wallet, as shown to users. */
export interface AddressView {
  readonly branch: Branch;
  readonly index: number;
  readonly address: string;
  /** Path below each cosigner's account key, e.g. `0/5`. */
  readonly path: string;
  readonly scriptPubKey: string;
}

/** Upper bound on one listing; deriving is cheap but output must stay readable. */
export const MAX_ADDRESS_COUNT = 10_000;
/** Highest non-hardened BIP-32 index. */
const MAX_INDEX = 0x7fffffff;

function toView(d: DerivedAddress): AddressView {
  return { branch: d.branch, index: d.index, address: d.address, path: `${d.branch}/${d.index}`, scriptPubKey: bytesToHex(d.scriptPubKey) };
}

/** Parameters of {@link listAddresses}. */
export interface ListAddressesParams {
  readonly branch?: Branch;
  readonly index?: number;
  readonly count?: number;
}

/**
 * Derives `count` consecutive addresses of a wallet from `index` on the receive or change branch,
 * and remembers them in the store (the coordinator serves them later).
 * @throws InvalidInputError `address.bad_index` / `address.bad_count`.
 */
export async function listAddresses(ctx: ServiceContext, wallet: string, params: ListAddressesParams = {}): Promise<AddressView[]> {
  const branch = params.branch ?? 0;
  const index = params.index ?? 0;
  const count = params.count ?? 1;
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new InvalidInputError('address.bad_index', `index ${index} is outside 0..${MAX_INDEX}`);
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_ADDRESS_COUNT || index + count - 1 > MAX_INDEX) {
    throw new InvalidInputError('address.bad_count', `count ${count} must be 1..${MAX_ADDRESS_COUNT} and stay within index ${MAX_INDEX}`);
  }
  const { view, deriver } = await loadWallet(ctx, wallet);
  const derived: AddressView[] = [];
  for (let i = index; i < index + count; i++) derived.push(toView(deriver.derive(branch, i)));
  const createdAt = ctx.now().toISOString();
  for (let start = 0; start < derived.length; start += 500) {
    await ctx.db
      .insertInto('addresses')
      .values(derived.slice(start, start + 500).map((a) => ({ wallet_id: view.id, branch: a.branch, idx: a.index, address: a.address, script_pubkey: a.scriptPubKey, created_at: createdAt })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return derived;
}

/** Result of {@link verifyAddress}. */
export type AddressVerification =
  | { readonly belongs: true; readonly address: string; readonly branch: Branch; readonly index: number; readonly path: string; readonly cosignerPaths: readonly string[] }
  | { readonly belongs: false; readonly address: string; readonly searched: number };

/**
 * Finds which derivation of a wallet an address is, searching both branches from index 0 to `bound`.
 * @throws InvalidAddressError when the address does not decode or is of another network.
 */
export async function verifyAddress(ctx: ServiceContext, wallet: string, address: string, bound = 10_000): Promise<AddressVerification> {
  if (!Number.isSafeInteger(bound) || bound < 1 || bound > 1_000_000) {
    throw new InvalidInputError('address.bad_bound', `search bound ${bound} must be 1..1000000`);
  }
  const { view, deriver } = await loadWallet(ctx, wallet);
  const script = addressToScript(address, view.network);
  const found = deriver.findScript(script, { gap: bound });
  if (!found) return { belongs: false, address, searched: bound };
  return {
    belongs: true,
    address,
    branch: found.branch,
    index: found.index,
    path: `${found.branch}/${found.index}`,
    cosignerPaths: found.keys.map((k) => `[${k.fingerprint}${k.path.length ? '/' : ''}${formatDerivationPath(k.path, { marker: 'h', prefix: false })}]`),
  };
}

/**
 * Hands out the next receive address nobody was given yet (index after the last one issued), and
 * records that it was issued, under the wallet lock so two callers never get the same one.
 */
export async function nextReceiveAddress(ctx: ServiceContext, wallet: string, actor: string): Promise<AddressView> {
  const { view, deriver } = await loadWallet(ctx, wallet);
  return inWalletTx(ctx, view.id, async (tx) => {
    const last = await tx.trx
      .selectFrom('addresses')
      .select((eb) => eb.fn.max<number | string | null>('idx').as('idx'))
      .where('wallet_id', '=', view.id)
      .where('branch', '=', 0)
      .where('issued_at', 'is not', null)
      .executeTakeFirst();
    const index = last?.idx === null || last?.idx === undefined ? 0 : Number(last.idx) + 1;
    const a = toView(deriver.derive(0, index));
    await tx.trx
      .insertInto('addresses')
      .values({ wallet_id: view.id, branch: 0, idx: index, address: a.address, script_pubkey: a.scriptPubKey, created_at: tx.at, issued_at: tx.at })
      .onConflict((oc) => oc.columns(['wallet_id', 'branch', 'idx']).doUpdateSet({ issued_at: tx.at }))
      .execute();
    await appendAudit(tx, view.id, 'address.issued', actor, { branch: 0, index, address: a.address });
    return a;
  });
}
