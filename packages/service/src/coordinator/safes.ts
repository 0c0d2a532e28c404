/**
 * Safes served by the coordinator: the same roles, audit log, webhooks and proposal states as Bitcoin
 * wallets. A registered Safe is a `wallets` row of chain `ethereum` (so roles, the audit chain, the
 * webhook outbox and the wallet lock apply unchanged) plus its `safes` row; its proposals and
 * signatures are the Safe tables the local CLI uses, every change audited in its own transaction.
 * The server holds no key: cosigners sign the EIP-712 SafeTx on their side, and any of them sends
 * execTransaction and reports the transaction, which the server checks on chain before believing it.
 */
import { createHash } from 'node:crypto';
import { getAddress, isAddressEqual, isHex, type Address, type Hex } from 'viem';
import { ConflictError, ForbiddenError, InvalidInputError, MofnError, NotFoundError, NotReadyError, createSignatureSet, readinessOf, transition, type Actor, type Proposal, type ProposalEvent, type ProposalState } from '@mofn/core';
import {
  encodeExecTransaction,
  encodeSafeSignatures,
  importSafe,
  isExecTransactionOf,
  readExecutionOutcome,
  readSafe,
  verifySafeSignatures,
  type ImportedSafe,
  type SafeSignature,
} from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { addSafeSignature, storedSignatures, type StoredSignature } from '../safe/signatures.ts';
import { proposeSafeTx, type SafeProposalSpec } from '../safe/propose.ts';
import { changeSafe, getSafeProposal, openSafeClients, parseEvmAddress, safeFromRow, safeTxToJson, assertSafeName, type SafeProposal, type StoredSafe } from '../safe/records.ts';
import { closeNonce, refreshSafeQueue } from '../safe/queue.ts';
import { reviewSafeProposal, type SafeProposalReview } from '../safe/review.ts';
import { refreshStoredSafe, safeRowOf } from '../safe/safes.ts';
import { allows, assertAllowed, rolesOn, type RoleView } from './access.ts';
import { appendAudit } from './audit.ts';
import { inTx } from './tx.ts';
import type { Caller } from './proposals.ts';

/** JSON-RPC endpoints the coordinator uses, by chain id (from MOFN_EVM_RPC or the server options). */
export type EvmRpcUrls = Readonly<Record<number, string>>;

/**
 * Parses `31337=http://127.0.0.1:8545,11155111=https://...` (commas or whitespace between entries).
 * @throws InvalidInputError `config.bad_evm_rpc`
 */
export function parseEvmRpcUrls(text: string | undefined): EvmRpcUrls {
  const out: Record<number, string> = {};
  for (const entry of (text ?? '').split(/[\s,]+/).filter((e) => e !== '')) {
    const m = /^([0-9]{1,12})=(https?:\/\/\S+)$/.exec(entry);
    if (m === null) {
      throw new InvalidInputError('config.bad_evm_rpc', `MOFN_EVM_RPC entry '${entry.slice(0, 80)}' is not CHAINID=URL`, { hint: 'e.g. MOFN_EVM_RPC=31337=http://127.0.0.1:8545,1=https://eth.example' });
    }
    out[Number(m[1])] = m[2]!;
  }
  return Object.freeze(out);
}

/** A coordinated Safe as the API shows it. */
export interface SafeView {
  readonly id: string;
  readonly name: string;
  readonly chainId: number;
  readonly address: Address;
  readonly version: string;
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly createdAt: string;
  readonly myRoles?: readonly { readonly role: string; readonly owner: string | null }[];
}

/** A stored signature as the API shows it. */
export interface SafeSignatureJson {
  readonly owner: Address;
  readonly kind: string;
  readonly signature: Hex;
  /** False when its owner is no longer an owner of the Safe: it does not count. */
  readonly counts: boolean;
  readonly createdAt: string;
}

/** A Safe proposal as the API shows it: core's workflow state, the review, and the signatures. */
export interface SafeProposalJson {
  readonly safe: string;
  readonly id: number;
  /** The workflow state shared with Bitcoin proposals. */
  readonly state: ProposalState;
  readonly kind: string;
  readonly nonce: string;
  readonly safeTxHash: Hex;
  readonly domainSeparator: Hex;
  readonly chainId: number;
  readonly safeAddress: Address;
  readonly tx: Record<string, string | number>;
  readonly summary: string;
  readonly call: unknown;
  readonly outputs: readonly { readonly to: string; readonly amount: string; readonly asset: string; readonly isChange: boolean }[];
  readonly warnings: readonly { readonly code: string; readonly message: string }[];
  readonly dangers: readonly string[];
  readonly threshold: number;
  readonly signatures: readonly SafeSignatureJson[];
  /** Signatures of current owners. */
  readonly validSignatures: number;
  readonly proposer: string | null;
  readonly execTxHash: Hex | null;
  readonly gasUsed: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const hidden = (name: string) => new NotFoundError('safe.not_found', `no Safe '${name.slice(0, 80)}'`);

/** The wallet id of a Safe: its chain and address hashed, so one Safe is registered once. */
function safeWalletId(chainId: number, address: Address): string {
  return createHash('sha256').update(`safe:eip155:${String(chainId)}:${address.toLowerCase()}`).digest('hex').slice(0, 32);
}

function safeJson(safe: StoredSafe, roles?: readonly RoleView[]): SafeView {
  return {
    id: safe.walletId ?? '',
    name: safe.name,
    chainId: safe.chainId,
    address: safe.address,
    version: safe.version,
    owners: safe.owners,
    threshold: safe.threshold,
    createdAt: safe.createdAt,
    ...(roles === undefined ? {} : { myRoles: roles.map((r) => ({ role: r.role, owner: r.cosigner })) }),
  };
}

/** Reads a coordinated Safe by name or wallet id. @throws NotFoundError `safe.not_found` */
async function readCoordinatedSafe(ctx: ServiceContext, nameOrId: string): Promise<StoredSafe> {
  const row = await ctx.db
    .selectFrom('safes')
    .selectAll()
    .where('wallet_id', 'is not', null)
    .where((eb) => eb.or([eb('name', '=', nameOrId), eb('wallet_id', '=', nameOrId)]))
    .executeTakeFirst();
  if (row === undefined) throw hidden(nameOrId);
  return safeFromRow(row);
}

/**
 * The coordinated Safe `nameOrId` if the caller holds a role on it allowing `permission`.
 * @throws NotFoundError `safe.not_found` (also when the caller holds no role: existence does not leak); ForbiddenError `auth.forbidden`
 */
export async function safeAccess(ctx: ServiceContext, caller: Caller, nameOrId: string, permission: 'read' | 'propose' | 'sign' | 'manage'): Promise<{ safe: StoredSafe; roles: RoleView[] }> {
  const safe = await readCoordinatedSafe(ctx, nameOrId);
  const roles = await rolesOn(ctx, safe.walletId!, caller.userId);
  if (roles.length === 0) throw hidden(nameOrId);
  assertAllowed(roles, permission);
  return { safe, roles };
}

/** Parameters of {@link registerSafe}. */
export interface RegisterSafeParams {
  readonly name: string;
  readonly chainId: number;
  readonly address: string;
}

/**
 * Registers an existing Safe with the coordinator: read on chain (singleton allow-listed by address and
 * code hash, version >= 1.3.0), stored, and the caller made its admin. Owners become the keys signer
 * roles bind to.
 * @throws InvalidInputError `safe.bad_name`, `safe.bad_address`, `safe.bad_chain_id`, `safe.chain_not_served`;
 *   ConflictError `safe.name_taken`, `safe.exists`; MofnError from the chain reads (`safe.unknown_singleton`, ...)
 */
export async function registerSafe(ctx: ServiceContext, caller: Caller, rpc: EvmRpcUrls, params: RegisterSafeParams): Promise<SafeView> {
  assertSafeName(params.name);
  if (!Number.isSafeInteger(params.chainId) || params.chainId <= 0) throw new InvalidInputError('safe.bad_chain_id', `chain id must be a positive integer, got ${String(params.chainId)}`);
  const address = parseEvmAddress('address', params.address);
  const rpcUrl = rpc[params.chainId];
  if (rpcUrl === undefined) {
    throw new InvalidInputError('safe.chain_not_served', `this coordinator has no JSON-RPC endpoint for chain ${String(params.chainId)}`, {
      details: { served: Object.keys(rpc).map(Number) },
      hint: 'the server operator adds one with MOFN_EVM_RPC=CHAINID=URL',
    });
  }
  const clients = await openSafeClients({ rpcUrl, chainId: params.chainId });
  const imported: ImportedSafe = await importSafe(clients, address);
  const walletId = safeWalletId(imported.chainId, imported.address);
  await inTx(ctx, async (tx) => {
    const { trx, at } = tx;
    const same = await trx.selectFrom('safes').select('name').where('chain_id', '=', imported.chainId).where('address', '=', imported.address).executeTakeFirst();
    if (same !== undefined) throw new ConflictError('safe.exists', `Safe ${imported.address} on chain ${String(imported.chainId)} is already registered`);
    const walletName = await trx.selectFrom('wallets').select('id').where('name', '=', params.name).executeTakeFirst();
    const safeName = await trx.selectFrom('safes').select('name').where('name', '=', params.name).executeTakeFirst();
    if (walletName !== undefined || safeName !== undefined) throw new ConflictError('safe.name_taken', `the name '${params.name}' is taken`, { hint: 'choose another name' });
    await trx
      .insertInto('wallets')
      .values({
        id: walletId,
        name: params.name,
        chain: 'ethereum',
        network: `eip155:${String(imported.chainId)}`,
        script_type: 'safe',
        threshold: imported.threshold,
        total: imported.owners.length,
        sorted: 0,
        descriptor: `safe(eip155:${String(imported.chainId)}:${imported.address})`,
        created_at: at,
      })
      .execute();
    await trx.insertInto('safes').values(safeRowOf(params.name, rpcUrl, imported, at, walletId)).execute();
    await trx.insertInto('wallet_roles').values({ wallet_id: walletId, user_id: caller.userId, role: 'admin', cosigner: null, created_at: at }).execute();
    await appendAudit(tx, walletId, 'safe.registered', caller.userId, {
      safe: params.name,
      chainId: imported.chainId,
      address: imported.address,
      version: imported.version,
      singleton: imported.singleton.address,
      owners: imported.owners,
      threshold: imported.threshold,
    });
    await appendAudit(tx, walletId, 'role.granted', caller.userId, { user: caller.userId, role: 'admin', cosigner: null });
  });
  const { safe, roles } = await safeAccess(ctx, caller, walletId, 'read');
  return safeJson(safe, roles);
}

/**
 * Points the coordinated Safes of each configured chain at the endpoint configured now (the operator
 * may have moved a chain to another node since the Safe was registered). Returns how many changed.
 */
export async function applyEvmRpcUrls(ctx: ServiceContext, rpc: EvmRpcUrls): Promise<number> {
  let changed = 0;
  for (const [chainId, url] of Object.entries(rpc)) {
    const r = await ctx.db.updateTable('safes').set({ rpc_url: url }).where('wallet_id', 'is not', null).where('chain_id', '=', Number(chainId)).where('rpc_url', '!=', url).executeTakeFirst();
    changed += Number(r.numUpdatedRows);
  }
  return changed;
}

/** A Safe as it is on chain now: what can act on it besides its owners (modules, guard) is what reviewers most need. */
export interface SafeLiveView {
  readonly nonce: string;
  readonly balance: string;
  readonly version: string;
  readonly singleton: { readonly address: Address; readonly name: string };
  /** Enabled modules: each can move the Safe's funds without owner signatures. */
  readonly modules: readonly Address[];
  readonly guard: Address | null;
  readonly fallbackHandler: Address | null;
}

/**
 * The Safe as the caller may see it, with its live state read from the chain (owners and threshold
 * refreshed). When the node cannot answer, or the Safe no longer runs an allow-listed singleton, the
 * stored view comes with `live: null` and the reason, rather than no answer at all.
 * @throws as {@link safeAccess}
 */
export async function getSafeView(ctx: ServiceContext, caller: Caller, nameOrId: string): Promise<SafeView & { readonly live: SafeLiveView | null; readonly liveError?: { readonly code: string; readonly message: string } }> {
  const { safe, roles } = await safeAccess(ctx, caller, nameOrId, 'read');
  try {
    const clients = await openSafeClients(safe);
    const onChain = await refreshStoredSafe(ctx, safe, clients);
    const balance = await clients.public.getBalance({ address: safe.address });
    return {
      // What refreshStoredSafe just saved, without reading the row back.
      ...safeJson({ ...safe, owners: onChain.owners, threshold: onChain.threshold, version: onChain.version, singleton: onChain.singleton.address }, roles),
      live: {
        nonce: onChain.nonce.toString(),
        balance: balance.toString(),
        version: onChain.version,
        singleton: { address: onChain.singleton.address, name: onChain.singleton.name },
        modules: onChain.modules,
        guard: onChain.guard ?? null,
        fallbackHandler: onChain.fallbackHandler ?? null,
      },
    };
  } catch (e) {
    if (!(e instanceof MofnError)) throw e;
    return { ...safeJson(safe, roles), live: null, liveError: { code: e.code, message: e.message } };
  }
}

/** The coordinated Safes the caller holds a role on, by name. */
export async function listSafesOf(ctx: ServiceContext, caller: Caller): Promise<SafeView[]> {
  const rows = await ctx.db
    .selectFrom('safes')
    .innerJoin('wallet_roles', 'wallet_roles.wallet_id', 'safes.wallet_id')
    .selectAll('safes')
    .distinct()
    .where('wallet_roles.user_id', '=', caller.userId)
    .orderBy('safes.name')
    .execute();
  return rows.map((r) => safeJson(safeFromRow(r)));
}

/** The owner a signer role names, as the lowercase address grants store. */
export function safeOwnerKey(safe: Pick<StoredSafe, 'owners'>, owner: number | string): string {
  if (typeof owner === 'number') {
    const a = safe.owners[owner];
    if (a === undefined) throw new InvalidInputError('role.bad_cosigner', `the Safe has ${String(safe.owners.length)} owners: there is no owner ${String(owner)}`);
    return a.toLowerCase();
  }
  return parseEvmAddress('cosigner', owner).toLowerCase();
}

/** The owner keys (lowercase addresses) of a coordinated Safe, for grantRole. */
export async function safeOwnerKeys(ctx: ServiceContext, walletId: string): Promise<{ safe: StoredSafe; keys: string[] }> {
  const safe = await readCoordinatedSafe(ctx, walletId);
  return { safe, keys: safe.owners.map((o) => o.toLowerCase()) };
}

/**
 * A Safe proposal as core's workflow sees it: one "input" (the SafeTx hash), the owners as cosigners,
 * the stored signatures of current owners as the signature set. Safe proposals do not expire (a
 * rejection at their nonce retires them on chain), hence no deadline.
 */
function coreProposalOf(safe: StoredSafe, p: SafeProposal, stored: readonly { readonly owner: string; readonly signature: string }[]): Proposal {
  const cosigners = safe.owners.map((o) => o.toLowerCase());
  const signatures = createSignatureSet(
    stored.filter((x) => cosigners.includes(x.owner.toLowerCase())).map((x) => ({ input: 0, publicKey: x.owner.toLowerCase(), cosigner: x.owner.toLowerCase(), signature: x.signature.toLowerCase().replace(/^0x/, '') })),
  );
  const core: Proposal = {
    id: `${safe.name}#${String(p.id)}`,
    state: 'collecting',
    proposer: p.proposer ?? 'cli',
    threshold: safe.threshold,
    cosigners,
    inputCount: 1,
    signatures,
    declines: [],
    createdAt: Date.parse(p.createdAt),
    updatedAt: Date.parse(p.updatedAt),
    expiresAt: Number.MAX_SAFE_INTEGER,
    version: 0,
  };
  return { ...core, state: workflowState(p, core) };
}

/** The shared workflow state of a stored Safe proposal: an open one is `ready` once core's readiness says so. */
function workflowState(p: SafeProposal, core: Proposal): ProposalState {
  switch (p.state) {
    case 'open':
      return readinessOf(core.signatures, { inputCount: 1, threshold: core.threshold, cosigners: core.cosigners }).ready ? 'ready' : 'collecting';
    case 'broadcast':
      return 'broadcast';
    case 'executed':
      return 'confirmed';
    case 'superseded':
      return 'superseded';
    case 'cancelled':
      return 'cancelled';
  }
}

/**
 * Checks a human move of a coordinated Safe proposal against core's transition table and role rules
 * (the same ones Bitcoin proposals obey). Returns the record's facts for the audit event.
 * @throws ConflictError `proposal.terminal`, `proposal.invalid_transition`; ForbiddenError `proposal.not_allowed`
 */
async function checkMove(ctx: ServiceContext, safe: StoredSafe, p: SafeProposal, event: ProposalEvent, actor: Actor): Promise<{ from: ProposalState; to: ProposalState; role: string }> {
  const stored = await ctx.db.selectFrom('safe_signatures').select(['owner', 'signature']).where('safe_tx_hash', '=', p.safeTxHash).execute();
  const core = coreProposalOf(safe, p, stored);
  const { record } = transition(core, event, actor, Math.max(ctx.now().getTime(), core.updatedAt));
  return { from: record.from, to: record.to, role: record.role };
}

function proposalJson(review: SafeProposalReview, sigs: readonly { owner: Address; kind: string; signature: string; createdAt: string }[]): SafeProposalJson {
  const { safe, proposal: p } = review;
  const signatures = sigs.map((s) => ({ owner: s.owner, kind: s.kind, signature: s.signature as Hex, counts: safe.owners.some((o) => isAddressEqual(o, s.owner)), createdAt: s.createdAt }));
  const valid = signatures.filter((s) => s.counts).length;
  const core = coreProposalOf(safe, p, signatures);
  const bigints = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as unknown;
  return {
    safe: safe.name,
    id: p.id,
    state: core.state,
    kind: p.kind,
    nonce: p.nonce.toString(),
    safeTxHash: review.safeTxHash,
    domainSeparator: review.domainSeparator,
    chainId: safe.chainId,
    safeAddress: safe.address,
    tx: safeTxToJson(review.tx),
    summary: review.summary,
    call: bigints(review.call),
    outputs: review.outputs.map((o) => ({ to: o.to, amount: o.amount.toString(), asset: o.asset, isChange: o.isChange })),
    warnings: review.warnings.map((w) => ({ code: w.code, message: w.message })),
    dangers: review.dangers,
    threshold: review.threshold,
    signatures,
    validSignatures: valid,
    proposer: p.proposer,
    execTxHash: p.execTxHash,
    gasUsed: p.gasUsed === null ? null : p.gasUsed.toString(),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

async function viewOf(ctx: ServiceContext, safe: StoredSafe, id: string | number): Promise<SafeProposalJson> {
  const review = await reviewSafeProposal(ctx, { safe: safe.name, id });
  const rows = await ctx.db.selectFrom('safe_signatures').selectAll().where('safe_tx_hash', '=', review.proposal.safeTxHash).orderBy('owner').execute();
  return proposalJson(review, rows.map((r) => ({ owner: getAddress(r.owner), kind: r.kind, signature: r.signature, createdAt: r.created_at })));
}

/** A proposal the caller may read. @throws NotFoundError `safe.not_found`, `safe.proposal_not_found` */
export async function getSafeProposalView(ctx: ServiceContext, caller: Caller, name: string, id: string): Promise<SafeProposalJson> {
  const { safe } = await safeAccess(ctx, caller, name, 'read');
  return viewOf(ctx, safe, id);
}

/** Every proposal of the Safe, by nonce then number, optionally in one workflow state. */
export async function listSafeProposalViews(ctx: ServiceContext, caller: Caller, name: string, state?: ProposalState): Promise<SafeProposalJson[]> {
  const { safe } = await safeAccess(ctx, caller, name, 'read');
  const rows = await ctx.db.selectFrom('safe_proposals').select(['seq', 'nonce']).where('safe_name', '=', safe.name).execute();
  rows.sort((a, b) => (BigInt(a.nonce) === BigInt(b.nonce) ? a.seq - b.seq : BigInt(a.nonce) < BigInt(b.nonce) ? -1 : 1));
  const out: SafeProposalJson[] = [];
  for (const r of rows) {
    const v = await viewOf(ctx, safe, r.seq);
    if (state === undefined || v.state === state) out.push(v);
  }
  return out;
}

/**
 * Proposes a SafeTx on a coordinated Safe (proposer or admin): built, hashed and reviewed by the server.
 * @throws those of proposeSafeTx; NotFoundError `safe.not_found`; ForbiddenError `auth.forbidden`
 */
export async function proposeCoordinatedSafeTx(ctx: ServiceContext, caller: Caller, name: string, spec: SafeProposalSpec, nonce?: bigint): Promise<SafeProposalJson> {
  const { safe } = await safeAccess(ctx, caller, name, 'propose');
  const review = await proposeSafeTx(ctx, { safe: safe.name, spec, proposer: caller.userId, ...(nonce === undefined ? {} : { nonce }) });
  return viewOf(ctx, safe, review.proposal.id);
}

/**
 * Adds an owner's signature (a signer, for the owner their role is bound to). The server recovers it
 * from the SafeTx hash it recomputes, checks it against the Safe's current owners on chain, and stores
 * at most one per (safeTxHash, owner).
 * @throws ForbiddenError `signature.not_your_key` (the signature is another owner's), `auth.forbidden`;
 *   the errors of addSafeSignature
 */
export async function submitSafeSignature(ctx: ServiceContext, caller: Caller, name: string, id: string, sig: SafeSignature): Promise<{ proposal: SafeProposalJson; added: StoredSignature }> {
  const { safe, roles } = await safeAccess(ctx, caller, name, 'sign');
  const claimed = parseEvmAddress('signer', sig.signer);
  const mine = roles.filter((r) => r.role === 'signer' && r.cosigner !== null).map((r) => r.cosigner!);
  if (!mine.includes(claimed.toLowerCase())) {
    throw new ForbiddenError('signature.not_your_key', `the signature is by ${claimed}, for which you hold no signer role on Safe '${safe.name}'`, {
      hint: 'sign with the owner key your signer role is bound to (GET /v1/safes/{safe} shows myRoles)',
    });
  }
  if (typeof sig.data !== 'string' || !isHex(sig.data)) throw new InvalidInputError('safe.bad_signature', 'the signature must be 0x hex');
  const added = await addSafeSignature(ctx, { safe: safe.name, id, signature: { ...sig, signer: claimed }, actor: caller.userId });
  return { proposal: await viewOf(ctx, safe, id), added };
}

/**
 * Cancels a proposal on the coordinator (its proposer or a Safe admin, by core's rules). Off-chain
 * only: signatures already given could still be executed by whoever holds them; a rejection at the
 * same nonce (`kind: reject`) is what cancels on chain, and `mofn safe cancel` says so.
 * @throws ForbiddenError `proposal.not_allowed`; ConflictError `proposal.terminal`, `proposal.invalid_transition`, `safe.proposal_closed`
 */
export async function cancelSafeProposal(ctx: ServiceContext, caller: Caller, name: string, id: string): Promise<SafeProposalJson> {
  const { safe, roles } = await safeAccess(ctx, caller, name, 'read');
  const p = await getSafeProposal(ctx.db, safe.name, id);
  // Core's rules: the proposer or an admin, from collecting or ready only.
  const move = await checkMove(ctx, safe, p, 'cancel', { kind: 'user', id: caller.userId, admin: allows(roles, 'manage') });
  await changeSafe(ctx, safe, caller.userId, async ({ trx, at }, record) => {
    const now = await trx.selectFrom('safe_proposals').select('state').where('safe_tx_hash', '=', p.safeTxHash).executeTakeFirstOrThrow();
    if (now.state !== 'open') throw new ConflictError('safe.proposal_closed', `proposal ${String(p.id)} is ${now.state}: it can no longer be cancelled`, { details: { state: now.state } });
    await trx.updateTable('safe_proposals').set({ state: 'cancelled', updated_at: at }).where('safe_tx_hash', '=', p.safeTxHash).execute();
    await record('safe.proposal_cancelled', { proposal: p.id, safeTxHash: p.safeTxHash, nonce: p.nonce.toString(), ...move }, 'proposal.cancelled');
  });
  return viewOf(ctx, safe, p.id);
}

/** What an executor sends: execTransaction with the stored signatures, sorted by owner. */
export interface SafeExecutionData {
  readonly to: Address;
  readonly value: '0';
  readonly data: Hex;
  readonly safeTxHash: Hex;
  readonly nonce: string;
  readonly chainId: number;
  /** The signatures as the executor's own checks take them. */
  readonly signatures: readonly SafeSignature[];
}

/**
 * The execTransaction call of a proposal that can execute now: its nonce is the Safe's, and the
 * signatures of current owners reach the threshold (re-read from the chain).
 * @throws NotReadyError `safe.not_enough_signatures`; ConflictError `safe.proposal_closed`, `safe.nonce_used`, `safe.wrong_nonce`
 */
export async function getSafeExecutionData(ctx: ServiceContext, caller: Caller, name: string, id: string): Promise<SafeExecutionData> {
  const { safe } = await safeAccess(ctx, caller, name, 'read');
  const p = await getSafeProposal(ctx.db, safe.name, id);
  if (p.state !== 'open') throw new ConflictError('safe.proposal_closed', `proposal ${String(p.id)} is ${p.state}: nothing to execute`, { details: { state: p.state } });
  const clients = await openSafeClients(safe);
  const state = await readSafe(clients, safe.address);
  if (p.nonce < state.nonce) {
    await refreshSafeQueue(ctx, safe, clients, state.nonce);
    throw new ConflictError('safe.nonce_used', `nonce ${String(p.nonce)} of Safe '${safe.name}' is already used (current nonce ${String(state.nonce)})`, { details: { nonce: p.nonce, current: state.nonce } });
  }
  if (p.nonce > state.nonce) {
    throw new ConflictError('safe.wrong_nonce', `proposal ${String(p.id)} is at nonce ${String(p.nonce)}; the Safe is at nonce ${String(state.nonce)}, which must execute (or be rejected) first`, {
      details: { nonce: p.nonce, current: state.nonce },
    });
  }
  const review = await reviewSafeProposal(ctx, { safe: safe.name, id: p.id });
  const all = await storedSignatures(ctx, safe, p);
  const current = all.filter((s) => state.owners.some((o) => isAddressEqual(o, s.signer)));
  if (current.length < state.threshold) {
    throw new NotReadyError('safe.not_enough_signatures', `proposal ${String(p.id)} has ${String(current.length)} valid owner signature(s), the Safe needs ${String(state.threshold)}`, {
      details: { have: current.length, need: state.threshold },
      hint: `collect ${String(state.threshold - current.length)} more owner signature(s)`,
    });
  }
  const verified = verifySafeSignatures({ chainId: safe.chainId, safeAddress: safe.address, safeTxHash: review.safeTxHash, owners: state.owners }, current);
  return {
    to: safe.address,
    value: '0',
    data: encodeExecTransaction(review.tx, encodeSafeSignatures(verified, state.threshold)),
    safeTxHash: review.safeTxHash,
    nonce: p.nonce.toString(),
    chainId: safe.chainId,
    signatures: current,
  };
}

/**
 * Records that execTransaction for a proposal was sent in Ethereum transaction `txHash` (admin,
 * proposer or signer). Believed only after reading that transaction from the chain: it must call this
 * Safe's execTransaction with exactly the proposal's fields. The proposal becomes `broadcast`, then
 * `confirmed` once its receipt shows ExecutionSuccess for the safeTxHash (now, or from the job).
 * @throws InvalidInputError `safe.bad_tx_hash`, `safe.not_this_execution`; NotFoundError `safe.tx_not_found`;
 *   ConflictError `safe.proposal_closed`; ForbiddenError `auth.forbidden`
 */
export async function recordSafeExecution(ctx: ServiceContext, caller: Caller, name: string, id: string, txHash: string): Promise<SafeProposalJson> {
  const { safe, roles } = await safeAccess(ctx, caller, name, 'read');
  if (!allows(roles, 'propose') && !allows(roles, 'sign')) {
    throw new ForbiddenError('auth.forbidden', `your roles on this Safe (${roles.map((r) => r.role).join(', ')}) do not allow reporting an execution`, { hint: 'ask a Safe admin for the role you need' });
  }
  if (typeof txHash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(txHash)) throw new InvalidInputError('safe.bad_tx_hash', 'txHash must be a 0x-prefixed 32-byte hex transaction hash');
  const hash = txHash.toLowerCase() as Hex;
  const p = await getSafeProposal(ctx.db, safe.name, id);
  if (p.state !== 'open') throw new ConflictError('safe.proposal_closed', `proposal ${String(p.id)} is ${p.state}`, { details: { state: p.state } });
  // Core's rules: only a ready proposal is broadcast; as for Bitcoin, any signer may push it.
  const move = await checkMove(ctx, safe, p, 'broadcast', { kind: 'user', id: caller.userId, admin: allows(roles, 'manage') || allows(roles, 'sign') });
  const clients = await openSafeClients(safe);
  let sent;
  try {
    sent = await clients.public.getTransaction({ hash });
  } catch {
    throw new NotFoundError('safe.tx_not_found', `chain ${String(safe.chainId)} does not know transaction ${hash}`, { hint: 'report the hash once the node has seen the transaction' });
  }
  if (sent.to === null || !isAddressEqual(sent.to, safe.address) || !isExecTransactionOf(sent.input, p.tx)) {
    throw new InvalidInputError('safe.not_this_execution', `transaction ${hash} does not call execTransaction of Safe ${safe.address} with proposal ${String(p.id)}'s fields`);
  }
  await changeSafe(ctx, safe, caller.userId, async ({ trx, at }, record) => {
    const r = await trx.updateTable('safe_proposals').set({ state: 'broadcast', exec_tx_hash: hash, updated_at: at }).where('safe_tx_hash', '=', p.safeTxHash).where('state', '=', 'open').executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new ConflictError('safe.proposal_closed', `proposal ${String(p.id)} changed state meanwhile`);
    await record('safe.proposal_broadcast', { proposal: p.id, safeTxHash: p.safeTxHash, execTxHash: hash, sender: sent.from, ...move }, 'proposal.broadcast');
  });
  await followSafe(ctx, safe);
  return viewOf(ctx, safe, p.id);
}

/**
 * Brings one coordinated Safe's proposals up to date with the chain: a sent execution whose receipt
 * shows ExecutionSuccess becomes `confirmed` (the others at its nonce `superseded`); a failed one goes
 * back to `open`; proposals at nonces the Safe used otherwise are closed; owners and threshold are re-read.
 */
export async function followSafe(ctx: ServiceContext, safe: StoredSafe): Promise<void> {
  const clients = await openSafeClients(safe);
  const rows = await ctx.db.selectFrom('safe_proposals').selectAll().where('safe_name', '=', safe.name).where('state', '=', 'broadcast').execute();
  for (const row of rows) {
    const execTxHash = row.exec_tx_hash as Hex;
    const outcome = await readExecutionOutcome(clients, { safeAddress: safe.address, txHash: execTxHash, safeTxHash: row.safe_tx_hash as Hex });
    if (outcome.status === 'executed') {
      await closeNonce(ctx, safe, BigInt(row.nonce), row.safe_tx_hash as Hex, { txHash: execTxHash, gasUsed: outcome.gasUsed });
    } else if (outcome.status === 'failed') {
      await changeSafe(ctx, safe, 'system', async ({ trx, at }, record) => {
        const r = await trx.updateTable('safe_proposals').set({ state: 'open', exec_tx_hash: null, updated_at: at }).where('safe_tx_hash', '=', row.safe_tx_hash).where('state', '=', 'broadcast').executeTakeFirst();
        if (r.numUpdatedRows > 0n) await record('safe.execution_failed', { proposal: row.seq, safeTxHash: row.safe_tx_hash, execTxHash });
      });
    }
  }
  const state = await readSafe(clients, safe.address);
  await refreshSafeQueue(ctx, safe, clients, state.nonce);
  await refreshStoredSafe(ctx, safe, clients);
}

/**
 * The job: follows every coordinated Safe with a live proposal. One Safe whose node fails does not hold
 * up the others; the first failure is rethrown after all were tried. Returns how many Safes were followed.
 */
export async function followCoordinatedSafes(ctx: ServiceContext): Promise<number> {
  const names = await ctx.db
    .selectFrom('safes')
    .innerJoin('safe_proposals', 'safe_proposals.safe_name', 'safes.name')
    .select('safes.name')
    .distinct()
    .where('safes.wallet_id', 'is not', null)
    .where('safe_proposals.state', 'in', ['open', 'broadcast'])
    .execute();
  let failure: Error | undefined;
  for (const { name } of names) {
    try {
      await followSafe(ctx, await readCoordinatedSafe(ctx, name));
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
  }
  if (failure !== undefined) throw failure;
  return names.length;
}

