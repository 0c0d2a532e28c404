/**
 * Proposal use cases: create, submit signatures, decline, cancel, finalize, broadcast, and the
 * background jobs (expiry, confirmations). Cryptographic checks run before the transaction; each
 * change then runs under the wallet lock, re-reads the proposal, applies core's rules, and writes
 * the change, its audit event and its webhook events in one database transaction.
 */
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  InvalidPsbtError,
  NotFoundError,
  PreconditionFailedError,
  SYSTEM_ACTOR,
  addSignatures,
  createProposal as coreCreateProposal,
  declineProposal as coreDecline,
  pendingSystemEvent,
  readinessOf,
  transition,
  type Actor,
  type Proposal,
  type ProposalEvent,
  type ProposalState,
  type SignatureEntry,
  type TransitionRecord,
} from '@mofn/core';
import { createBitcoinAdapter, createRbfPsbt, parsePsbt, psbtToBase64, type BitcoinAdapter, type Psbt, type PsbtSummary } from '@mofn/bitcoin';
import { sql } from 'kysely';
import type { ServiceContext } from '../context.ts';
import type { ProposalTable } from '../store/schema.ts';
import { assertKnownOutpoints, rememberOutpoints } from '../outpoints.ts';
import { claimedOutpoints } from '../spend.ts';
import { loadWallet, type LoadedWallet } from '../wallets.ts';
import { allows, assertAllowed, roleViewOf, rolesOn, type RoleView } from './access.ts';
import { appendAudit } from './audit.ts';
import { enqueueEvent } from './outbox.ts';
import { appendRows, inSnapshot, inWalletTx, newId, type TxContext } from './tx.ts';

/** Default time to live of a proposal: 7 days. */
export const DEFAULT_PROPOSAL_TTL_MS = 7 * 24 * 3600 * 1000;
const MAX_TTL_MS = 365 * 24 * 3600 * 1000;

/** Who is calling: a user id (with the roles looked up per wallet). */
export interface Caller {
  readonly userId: string;
}

/** A JSON-safe review (amounts as decimal strings). */
export interface ReviewView {
  readonly txid: string;
  readonly inputs: readonly { index: number; txid: string; vout: number; amount: string | null; address: string | null; branch: number | null; addressIndex: number | null }[];
  readonly outputs: readonly { index: number; address: string | null; script: string; amount: string; kind: string; change: boolean }[];
  readonly totalIn: string | null;
  readonly totalOut: string;
  readonly sent: string;
  readonly change: string;
  readonly fee: string | null;
  readonly feeRate: number | null;
  readonly vsize: number;
  readonly rbf: boolean;
  readonly locktime: number;
  readonly warnings: readonly string[];
}

/** A cosigner's progress on a proposal. */
export interface CosignerStatus {
  readonly id: string;
  readonly position: number;
  readonly fingerprint: string;
  /** Inputs this cosigner signed. */
  readonly signedInputs: number;
  readonly signed: boolean;
  readonly declined: boolean;
}

/** A proposal as APIs show it. */
export interface ProposalView {
  readonly id: string;
  readonly walletId: string;
  readonly chain: string;
  readonly state: ProposalState;
  /** The ETag: increments on every change. */
  readonly version: number;
  readonly proposer: string;
  readonly memo: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly expiresAt: string;
  readonly threshold: number;
  readonly inputCount: number;
  readonly review: ReviewView;
  readonly cosigners: readonly CosignerStatus[];
  /** Cosigner ids still needed (those who have not signed every input and have not declined). */
  readonly missing: readonly string[];
  readonly signatureCount: number;
  readonly txid: string | null;
  readonly confirmations: number | null;
}

/** What a submission did. */
export interface SubmitResult {
  readonly proposal: ProposalView;
  /** Signatures newly recorded (0 for a resubmission: a no-op). */
  readonly added: number;
  readonly duplicates: number;
}

/**
 * The chain-side operations the coordinator needs. `walletId` names the wallet whose backend to use
 * (gateways with one backend per chain ignore it).
 */
export interface ChainGateway {
  /** Sends a raw transaction; returns its txid. */
  broadcast(chain: string, rawTx: string, walletId?: string): Promise<{ txid: string }>;
  /** Confirmations of a txid (0 in the mempool), or undefined when the backend does not know it. */
  confirmations(chain: string, txid: string, walletId?: string): Promise<number | undefined>;
  /**
   * The txid of a transaction (in the mempool or the chain) that spends `outpoint`, whose output
   * script is `script` (hex), or undefined when none is known. Optional: without it, proposals are
   * superseded only by a sibling proposal's broadcast.
   */
  spenderOf?(chain: string, outpoint: { readonly txid: string; readonly vout: number; readonly script: string }, walletId?: string): Promise<string | undefined>;
  /** Releases the backends (connections) the gateway opened. */
  close?(): Promise<void>;
}

/** A wallet's adapter, cached per wallet id (wallets never change). */
const adapters = new Map<string, BitcoinAdapter>();
/** Parsed payloads, cached per proposal id (payloads never change). */
const payloads = new Map<string, Psbt>();
const PAYLOAD_CACHE = 256;

function adapterOf(wallet: LoadedWallet): BitcoinAdapter {
  let a = adapters.get(wallet.view.id);
  if (a === undefined) {
    a = createBitcoinAdapter({ deriver: wallet.deriver });
    adapters.set(wallet.view.id, a);
  }
  return a;
}

function payloadOf(row: Pick<ProposalTable, 'id' | 'payload'>): Psbt {
  let p = payloads.get(row.id);
  if (p === undefined) {
    p = parsePsbt(row.payload);
    if (payloads.size >= PAYLOAD_CACHE) payloads.delete(payloads.keys().next().value!);
    payloads.set(row.id, p);
  }
  return p;
}

function reviewOf(s: PsbtSummary): ReviewView {
  const str = (v: bigint | undefined) => (v === undefined ? null : v.toString());
  return {
    txid: s.txid,
    inputs: s.inputs.map((i) => ({
      index: i.index,
      txid: i.txid,
      vout: i.vout,
      amount: str(i.amount),
      address: i.address ?? null,
      branch: i.wallet?.branch ?? null,
      addressIndex: i.wallet?.index ?? null,
    })),
    outputs: s.outputs.map((o) => ({ index: o.index, address: o.address ?? null, script: o.script, amount: o.amount.toString(), kind: o.kind, change: o.change })),
    totalIn: str(s.totalIn),
    totalOut: s.totalOut.toString(),
    sent: s.sent.toString(),
    change: s.change.toString(),
    fee: str(s.fee),
    feeRate: s.feeRate ?? null,
    vsize: s.vsize,
    rbf: s.rbf,
    locktime: s.locktime,
    warnings: s.warnings,
  };
}

interface Loaded {
  readonly row: ProposalTable;
  readonly proposal: Proposal;
}

async function loadProposalRows(tx: Pick<TxContext, 'trx'>, id: string): Promise<Loaded | undefined> {
  const row = await tx.trx.selectFrom('proposals').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  // Signatures and declines in one statement (a round trip less on PostgreSQL): declines have input -1.
  const marks = await tx.trx
    .selectFrom('proposal_signatures')
    .select(['input_index', 'public_key', 'cosigner', 'signature'])
    .where('proposal_id', '=', id)
    .unionAll(
      tx.trx
        .selectFrom('proposal_declines')
        .select([sql<number>`-1`.as('input_index'), sql<string>`''`.as('public_key'), 'cosigner', sql<string>`''`.as('signature')])
        .where('proposal_id', '=', id),
    )
    .execute();
  const signatures = marks
    .filter((s) => s.input_index >= 0)
    .map((s) => ({ input: s.input_index, publicKey: s.public_key, cosigner: s.cosigner, signature: s.signature }))
    .sort((a, b) => a.input - b.input || (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  const declines = marks.filter((s) => s.input_index < 0);
  const proposal: Proposal = {
    id: row.id,
    state: row.state as ProposalState,
    proposer: row.proposer,
    threshold: row.threshold,
    cosigners: JSON.parse(row.cosigners) as string[],
    inputCount: row.input_count,
    signatures,
    declines: declines.map((d) => d.cosigner).sort(),
    createdAt: Date.parse(row.created_at),
    updatedAt: Date.parse(row.updated_at),
    expiresAt: Date.parse(row.expires_at),
    version: row.version,
  };
  return { row, proposal };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('proposal.not_found', `no proposal '${id.slice(0, 80)}'`, { hint: 'list proposals with GET /v1/wallets/{id}/proposals' });
}

function viewOf(row: ProposalTable, proposal: Proposal, wallet: LoadedWallet): ProposalView {
  const readiness = readinessOf(proposal.signatures, { inputCount: proposal.inputCount, threshold: proposal.threshold, cosigners: proposal.cosigners });
  const perCosigner = new Map<string, number>();
  for (const r of readiness.inputs) for (const c of r.signers) perCosigner.set(c, (perCosigner.get(c) ?? 0) + 1);
  const cosigners = proposal.cosigners.map((id, position) => {
    const signedInputs = perCosigner.get(id) ?? 0;
    return {
      id,
      position,
      fingerprint: wallet.view.cosigners[position]?.fingerprint ?? '',
      signedInputs,
      signed: signedInputs === proposal.inputCount,
      declined: proposal.declines.includes(id),
    };
  });
  return {
    id: row.id,
    walletId: row.wallet_id,
    chain: row.chain,
    state: proposal.state,
    version: proposal.version,
    proposer: row.proposer,
    memo: row.memo,
    createdAt: row.created_at,
    updatedAt: new Date(proposal.updatedAt).toISOString(),
    expiresAt: row.expires_at,
    threshold: proposal.threshold,
    inputCount: proposal.inputCount,
    review: JSON.parse(row.review) as ReviewView,
    cosigners,
    missing: cosigners.filter((c) => !c.signed && !c.declined).map((c) => c.id),
    signatureCount: proposal.signatures.length,
    txid: row.txid,
    confirmations: row.confirmations,
  };
}

/** Writes the state machine's view of a proposal back to its row (state, version, updated_at). */
async function saveState(tx: TxContext, p: Proposal, extra: Partial<Pick<ProposalTable, 'final_tx' | 'txid' | 'confirmations'>> = {}): Promise<void> {
  await tx.trx
    .updateTable('proposals')
    .set({ state: p.state, version: p.version, updated_at: new Date(p.updatedAt).toISOString(), ...extra })
    .where('id', '=', p.id)
    .execute();
}

const WEBHOOK_OF_STATE: Partial<Record<ProposalState, string>> = {
  ready: 'proposal.ready',
  broadcast: 'proposal.broadcast',
  confirmed: 'proposal.confirmed',
  rejected: 'proposal.rejected',
  expired: 'proposal.expired',
  cancelled: 'proposal.cancelled',
  superseded: 'proposal.superseded',
};

/** Audits a transition and emits its webhook event. */
async function recordTransition(tx: TxContext, walletId: string, record: TransitionRecord, extra: Record<string, unknown> = {}): Promise<void> {
  await appendAudit(tx, walletId, 'proposal.transition', record.actor.id, {
    proposal: record.proposalId,
    event: record.event,
    from: record.from,
    to: record.to,
    role: record.role,
    version: record.version,
    ...extra,
  });
  const type = WEBHOOK_OF_STATE[record.to];
  if (type !== undefined) await enqueueEvent(tx, walletId, type, { proposalId: record.proposalId, state: record.to, version: record.version, ...extra });
}

/** Applies the system's own pending event (expire, reject, complete) if any; returns the proposal after it. */
async function settle(tx: TxContext, walletId: string, p: Proposal): Promise<Proposal> {
  const now = Math.max(tx.atMs, p.updatedAt);
  const event = pendingSystemEvent(p, now);
  if (event === undefined) return p;
  const { proposal, record } = transition(p, event, SYSTEM_ACTOR, now);
  await saveState(tx, proposal);
  await recordTransition(tx, walletId, record);
  return proposal;
}

/**
 * The caller's roles on the wallet of a proposal or wallet id; a caller without any role gets the
 * same not-found error as a missing resource, so existence does not leak.
 */
async function rolesOrHide(ctx: ServiceContext, walletId: string, caller: Caller, hide: () => Error): Promise<RoleView[]> {
  const roles = await rolesOn(ctx, walletId, caller.userId);
  if (roles.length === 0) throw hide();
  return roles;
}

function assertIfMatch(version: number, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (ifMatch.trim() === '*') return;
  const tags = ifMatch.split(',').map((t) => t.trim());
  if (!tags.includes(etagOf(version))) {
    throw new PreconditionFailedError('proposal.stale', `the proposal changed (it is at version ${String(version)}): reload it and decide again`, {
      details: { version, etag: etagOf(version) },
    });
  }
}

/** The ETag of a proposal version. */
export function etagOf(version: number): string {
  return `"${String(version)}"`;
}

/** Parameters of {@link createProposal}. */
export interface CreateProposalParams {
  readonly walletId: string;
  /** Base64 (or hex, or bytes) PSBT spending the wallet's coins; signatures it carries are verified and kept. */
  readonly psbt: string | Uint8Array;
  readonly memo?: string;
  /** Time to live in ms (default 7 days). */
  readonly ttlMs?: number;
}

/**
 * Creates a proposal from a PSBT of the wallet.
 * @throws NotFoundError `wallet.not_found` (also when the caller has no role); ForbiddenError
 *   `auth.forbidden`; InvalidPsbtError for malformed or foreign PSBTs; InvalidInputError
 *   `proposal.bad_memo`, `proposal.bad_ttl`, `signature.invalid`; ConflictError `outpoint.amount_mismatch`.
 */
export async function createProposal(ctx: ServiceContext, caller: Caller, params: CreateProposalParams): Promise<ProposalView> {
  const wallet = await loadWallet(ctx, params.walletId);
  const roles = await rolesOrHide(ctx, wallet.view.id, caller, () => new NotFoundError('wallet.not_found', `no wallet '${params.walletId.slice(0, 80)}'`));
  assertAllowed(roles, 'propose');
  if (params.memo !== undefined && (typeof params.memo !== 'string' || params.memo.length > 1000)) {
    throw new InvalidInputError('proposal.bad_memo', 'a memo is text of at most 1000 characters');
  }
  const ttlMs = params.ttlMs ?? DEFAULT_PROPOSAL_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 60_000 || ttlMs > MAX_TTL_MS) {
    throw new InvalidInputError('proposal.bad_ttl', 'the time to live is between 1 minute and 365 days', { details: { ttlMs } });
  }
  const adapter = adapterOf(wallet);
  const { payload, signatures } = adapter.preparePayload(parsePsbt(params.psbt));
  const summary = adapter.inspect(payload);
  if (summary.fee === undefined) {
    throw new InvalidInputError('proposal.unknown_fee', 'the fee cannot be computed: some input has no UTXO data', { hint: 'include witness_utxo (and the previous transaction) for every input' });
  }
  if (summary.fee < 0n) {
    throw new InvalidPsbtError('psbt.negative_fee', `the outputs (${summary.totalOut.toString()} sats) are worth more than the inputs (${String(summary.totalIn)} sats)`, {
      hint: 'such a transaction is invalid: lower the payments',
    });
  }
  const review = adapter.describe(payload);
  assertVerified(adapter, payload, signatures);
  const claims = claimedOutpoints(payload);
  await assertKnownOutpoints(ctx, claims);
  await rememberOutpoints(ctx, claims, wallet.view.id);
  const id = newId();
  const payloadText = psbtToBase64(payload);
  const created = await inWalletTx(ctx, wallet.view.id, async (tx) => {
    let p = coreCreateProposal({
      id,
      proposer: caller.userId,
      threshold: wallet.policy.threshold,
      cosigners: adapter.cosigners,
      inputCount: review.inputCount,
      now: tx.atMs,
      ttlMs,
    });
    const row: ProposalTable = {
      id,
      wallet_id: wallet.view.id,
      chain: adapter.chain,
      state: p.state,
      version: p.version,
      proposer: caller.userId,
      memo: params.memo ?? null,
      payload: payloadText,
      review: JSON.stringify(reviewOf(summary)),
      threshold: p.threshold,
      cosigners: JSON.stringify(p.cosigners),
      input_count: p.inputCount,
      created_at: tx.at,
      updated_at: tx.at,
      expires_at: new Date(p.expiresAt).toISOString(),
      final_tx: null,
      txid: null,
      confirmations: null,
    };
    await tx.trx.insertInto('proposals').values(row).execute();
    await tx.trx.insertInto('proposal_spends').values(review.spends.map((spend) => ({ proposal_id: id, spend }))).execute();
    await appendAudit(tx, wallet.view.id, 'proposal.created', caller.userId, {
      proposal: id,
      txid: summary.txid,
      fee: summary.fee?.toString() ?? null,
      outputs: review.outputs.map((o) => ({ to: o.to, amount: o.amount.toString(), change: o.isChange })),
    });
    await enqueueEvent(tx, wallet.view.id, 'proposal.created', { proposalId: id, state: p.state, version: p.version, txid: summary.txid });
    if (signatures.length > 0) p = await mergeVerified(tx, wallet.view.id, p, signatures, caller.userId);
    return { row, proposal: await settle(tx, wallet.view.id, p) };
  });
  payloads.set(id, payload);
  const fresh = await inSnapshot(ctx, (trx) => loadProposalRows({ trx }, id));
  return viewOf(fresh?.row ?? created.row, fresh?.proposal ?? created.proposal, wallet);
}

function assertVerified(adapter: BitcoinAdapter, payload: Psbt, entries: readonly SignatureEntry[]): void {
  for (const e of entries) {
    if (!adapter.verifySignature(payload, e)) {
      throw new InvalidInputError('signature.invalid', `the signature on input ${String(e.input)} by key ${e.publicKey} does not verify against this proposal`, {
        details: { input: e.input, publicKey: e.publicKey },
        hint: 'the cosigner must sign this exact proposal with SIGHASH_ALL',
      });
    }
  }
}

async function mergeVerified(tx: TxContext, walletId: string, p: Proposal, entries: readonly SignatureEntry[], userId: string): Promise<Proposal> {
  const { proposal, merge } = addSignatures(p, entries, Math.max(tx.atMs, p.updatedAt));
  if (merge.added.length === 0) return p;
  for (let i = 0; i < merge.added.length; i += 200) {
    await appendRows(
      tx,
      tx.trx.insertInto('proposal_signatures').values(
        merge.added.slice(i, i + 200).map((e) => ({
          proposal_id: p.id,
          input_index: e.input,
          public_key: e.publicKey,
          cosigner: e.cosigner,
          signature: e.signature,
          submitted_by: userId,
          created_at: tx.at,
        })),
      ),
    );
  }
  await saveState(tx, proposal);
  const byCosigner = new Map<string, number>();
  for (const e of merge.added) byCosigner.set(e.cosigner, (byCosigner.get(e.cosigner) ?? 0) + 1);
  for (const [cosigner, count] of byCosigner) {
    await appendAudit(tx, walletId, 'signature.added', userId, { proposal: p.id, cosigner, inputs: count, version: proposal.version });
    await enqueueEvent(tx, walletId, 'signature.added', { proposalId: p.id, cosigner, inputs: count, version: proposal.version });
  }
  return proposal;
}

/** Loads a proposal with the caller's roles on its wallet (not-found when it has none). */
async function loadForCaller(ctx: ServiceContext, caller: Caller, id: string): Promise<{ loaded: Loaded; wallet: LoadedWallet; roles: RoleView[] }> {
  const loaded = await inSnapshot(ctx, (trx) => loadProposalRows({ trx }, id));
  if (loaded === undefined) throw notFound(id);
  const roles = await rolesOrHide(ctx, loaded.row.wallet_id, caller, () => notFound(id));
  const wallet = await loadWallet(ctx, loaded.row.wallet_id);
  return { loaded, wallet, roles };
}

/** Reads one proposal. @throws NotFoundError `proposal.not_found`. */
export async function getProposal(ctx: ServiceContext, caller: Caller, id: string): Promise<ProposalView> {
  const { loaded, wallet } = await loadForCaller(ctx, caller, id);
  return viewOf(loaded.row, loaded.proposal, wallet);
}

/** The proposal's PSBT with every recorded signature (what a cosigner signs or combines next). */
export async function getProposalPsbt(ctx: ServiceContext, caller: Caller, id: string): Promise<{ psbt: string; version: number; finalTx: string | null }> {
  const { loaded, wallet } = await loadForCaller(ctx, caller, id);
  const adapter = adapterOf(wallet);
  const psbt = adapter.withSignatures(payloadOf(loaded.row), loaded.proposal.signatures);
  return { psbt: psbtToBase64(psbt), version: loaded.proposal.version, finalTx: loaded.row.final_tx };
}

/** Parameters of {@link listProposals}. */
export interface ListProposalsParams {
  readonly walletId: string;
  readonly state?: ProposalState;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  readonly limit?: number;
}

/** A page of a wallet's proposals, newest first. */
export async function listProposals(ctx: ServiceContext, caller: Caller, params: ListProposalsParams): Promise<{ items: ProposalView[]; nextCursor: string | null }> {
  const wallet = await loadWallet(ctx, params.walletId);
  await rolesOrHide(ctx, wallet.view.id, caller, () => new NotFoundError('wallet.not_found', `no wallet '${params.walletId.slice(0, 80)}'`));
  const limit = params.limit ?? 50;
  let q = ctx.db.selectFrom('proposals').select(['id', 'created_at']).where('wallet_id', '=', wallet.view.id);
  if (params.state !== undefined) q = q.where('state', '=', params.state);
  if (params.cursor !== undefined) {
    const [at, id] = decodeCursor(params.cursor);
    q = q.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
  }
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
  const items: ProposalView[] = [];
  for (const r of rows.slice(0, limit)) {
    const l = await inSnapshot(ctx, (trx) => loadProposalRows({ trx }, r.id));
    if (l !== undefined) items.push(viewOf(l.row, l.proposal, wallet));
  }
  const last = rows[limit - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.created_at, last.id) : null };
}

/** An opaque pagination cursor over (created_at, id). */
export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** @throws InvalidInputError `page.bad_cursor`. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through to the typed error
  }
  throw new InvalidInputError('page.bad_cursor', 'the cursor is not one this server handed out', { hint: 'use nextCursor from the previous page as is' });
}

/**
 * Records the signatures of a cosigner's signed copy of the proposal's PSBT. Each is verified against
 * the sighash recomputed here; the set merges by (input, key), so concurrent and repeated submissions
 * lose nothing and change nothing twice.
 * @throws ConflictError `proposal.payload_mismatch` (409) when anything but signatures changed,
 *   `proposal.terminal`, `proposal.signature_conflict`; InvalidInputError `signature.invalid`,
 *   `signature.none`; ForbiddenError `signature.not_your_key`, `auth.forbidden`.
 */
export async function submitSignatures(ctx: ServiceContext, caller: Caller, id: string, psbtText: string | Uint8Array, ifMatch?: string): Promise<SubmitResult> {
  // The hot path of the coordinator: one read before the lock (the immutable payload and the wallet
  // are cached), the merge under the lock, and the answer built from the state the lock saw.
  // The proposal and the caller's roles on its wallet in one statement (one row per role, or one without).
  const rows = await ctx.db
    .selectFrom('proposals')
    .leftJoin('wallet_roles', (join) => join.onRef('wallet_roles.wallet_id', '=', 'proposals.wallet_id').on('wallet_roles.user_id', '=', caller.userId))
    .selectAll('proposals')
    .select(['wallet_roles.role as caller_role', 'wallet_roles.cosigner as caller_cosigner', 'wallet_roles.created_at as caller_role_at'])
    .where('proposals.id', '=', id)
    .execute();
  const head = rows[0];
  if (head === undefined) throw notFound(id);
  const roles: RoleView[] = rows.flatMap((r) =>
    r.caller_role === null || r.caller_role_at === null
      ? []
      : [roleViewOf({ wallet_id: r.wallet_id, user_id: caller.userId, role: r.caller_role, cosigner: r.caller_cosigner, created_at: r.caller_role_at })],
  );
  if (roles.length === 0) throw notFound(id);
  assertAllowed(roles, 'sign');
  const wallet = await loadWallet(ctx, head.wallet_id);
  const adapter = adapterOf(wallet);
  const payload = payloadOf(head);
  const entries = adapter.signaturesOf(payload, parsePsbt(psbtText));
  if (entries.length === 0) throw new InvalidInputError('signature.none', 'the submitted PSBT carries no signatures', { hint: 'sign the proposal PSBT first' });
  const mine = new Set(roles.filter((r) => r.role === 'signer').map((r) => r.cosigner));
  // Signatures of other cosigners are accepted only if already recorded (a re-uploaded combined PSBT): checked under the lock.
  assertVerified(adapter, payload, entries.filter((e) => mine.has(e.cosigner)));
  const signatureKey = (e: SignatureEntry): string => `${String(e.input)}:${e.publicKey}:${e.signature}`;
  const result = await inWalletTx(ctx, head.wallet_id, async (tx) => {
    const now = await loadProposalRows(tx, id);
    if (now === undefined) throw notFound(id);
    assertIfMatch(now.proposal.version, ifMatch);
    const recorded = new Set(now.proposal.signatures.map(signatureKey));
    const fresh = entries.filter((e) => !recorded.has(signatureKey(e)));
    const foreign = fresh.find((e) => !mine.has(e.cosigner));
    if (foreign !== undefined) {
      throw new ForbiddenError('signature.not_your_key', `the PSBT carries a new signature of cosigner ${foreign.cosigner}, for which you hold no signer role`, {
        details: { cosigner: foreign.cosigner },
        hint: 'each cosigner submits only their own signatures',
      });
    }
    const expired = await expireIfDue(tx, now.row.wallet_id, now.proposal);
    if (expired !== undefined) return { expired };
    const before = now.proposal.signatures.length;
    let p = await mergeVerified(tx, now.row.wallet_id, now.proposal, fresh, caller.userId);
    const added = p.signatures.length - before;
    p = await settle(tx, now.row.wallet_id, p);
    return { added, proposal: p, row: now.row };
  });
  if ('expired' in result) throw expiredError(id);
  const row: ProposalTable = { ...result.row, state: result.proposal.state, version: result.proposal.version, updated_at: new Date(result.proposal.updatedAt).toISOString() };
  return { proposal: viewOf(row, result.proposal, wallet), added: result.added, duplicates: entries.length - result.added };
}

async function expireIfDue(tx: TxContext, walletId: string, p: Proposal): Promise<Proposal | undefined> {
  if (p.state !== 'collecting' && p.state !== 'ready') return undefined;
  const now = Math.max(tx.atMs, p.updatedAt);
  if (now < p.expiresAt) return undefined;
  const { proposal, record } = transition(p, 'expire', SYSTEM_ACTOR, now);
  await saveState(tx, proposal);
  await recordTransition(tx, walletId, record);
  return proposal;
}

function expiredError(id: string): ConflictError {
  return new ConflictError('proposal.expired', `proposal ${id} expired`, { hint: 'create a new proposal' });
}

/**
 * A cosigner declines to sign; once so many declined that M cannot be reached, the proposal is rejected.
 * @throws ForbiddenError `auth.forbidden`; ConflictError `proposal.already_signed`, `proposal.terminal`.
 */
export async function declineProposal(ctx: ServiceContext, caller: Caller, id: string, reason?: string): Promise<ProposalView> {
  const { loaded, roles } = await loadForCaller(ctx, caller, id);
  assertAllowed(roles, 'sign');
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1000)) throw new InvalidInputError('proposal.bad_reason', 'a reason is text of at most 1000 characters');
  const cosigner = roles.find((r) => r.role === 'signer')?.cosigner;
  if (cosigner === undefined || cosigner === null) throw new InvalidInputError('proposal.no_cosigner', 'you hold no signer role on this wallet');
  const out = await inWalletTx(ctx, loaded.row.wallet_id, async (tx) => {
    const now = await loadProposalRows(tx, id);
    if (now === undefined) throw notFound(id);
    if ((await expireIfDue(tx, now.row.wallet_id, now.proposal)) !== undefined) return 'expired' as const;
    const p = coreDecline(now.proposal, cosigner, Math.max(tx.atMs, now.proposal.updatedAt));
    if (p === now.proposal) return 'noop' as const;
    await tx.trx.insertInto('proposal_declines').values({ proposal_id: id, cosigner, user_id: caller.userId, reason: reason ?? null, created_at: tx.at }).execute();
    await saveState(tx, p);
    await appendAudit(tx, now.row.wallet_id, 'proposal.declined', caller.userId, { proposal: id, cosigner, reason: reason ?? null, version: p.version });
    await settle(tx, now.row.wallet_id, p);
    return 'done' as const;
  });
  if (out === 'expired') throw expiredError(id);
  return getProposal(ctx, caller, id);
}

function humanActor(caller: Caller, roles: readonly RoleView[], event: ProposalEvent): Actor {
  // Cancelling is the proposer's or an admin's right; pushing a ready transaction is open to any signer too.
  const admin = allows(roles, 'manage') || (event === 'broadcast' && allows(roles, 'sign'));
  return { kind: 'user', id: caller.userId, admin };
}

/**
 * Cancels a proposal (its proposer or a wallet admin). Needs the current ETag in `ifMatch`.
 * @throws PreconditionFailedError `proposal.stale`; ForbiddenError `proposal.not_allowed`; ConflictError `proposal.terminal`.
 */
export async function cancelProposal(ctx: ServiceContext, caller: Caller, id: string, ifMatch: string): Promise<ProposalView> {
  const { loaded, roles } = await loadForCaller(ctx, caller, id);
  await inWalletTx(ctx, loaded.row.wallet_id, async (tx) => {
    const now = await loadProposalRows(tx, id);
    if (now === undefined) throw notFound(id);
    assertIfMatch(now.proposal.version, ifMatch);
    const { proposal, record } = transition(now.proposal, 'cancel', humanActor(caller, roles, 'cancel'), Math.max(tx.atMs, now.proposal.updatedAt));
    await saveState(tx, proposal);
    await recordTransition(tx, now.row.wallet_id, record);
  });
  return getProposal(ctx, caller, id);
}

/**
 * Builds the final transaction of a ready proposal (stored; the state stays `ready` until broadcast).
 * @throws NotReadyError `proposal.not_ready`; PreconditionFailedError `proposal.stale`.
 */
export async function finalizeProposal(ctx: ServiceContext, caller: Caller, id: string, ifMatch: string): Promise<{ proposal: ProposalView; txid: string; hex: string }> {
  const { loaded, wallet, roles } = await loadForCaller(ctx, caller, id);
  if (!allows(roles, 'sign') && !allows(roles, 'propose')) assertAllowed(roles, 'sign');
  const adapter = adapterOf(wallet);
  const out = await inWalletTx(ctx, loaded.row.wallet_id, async (tx) => {
    const now = await loadProposalRows(tx, id);
    if (now === undefined) throw notFound(id);
    assertIfMatch(now.proposal.version, ifMatch);
    if (now.proposal.state !== 'ready') {
      throw new ConflictError('proposal.not_ready', `proposal ${id} is ${now.proposal.state}: only a ready proposal can be finalized`, { details: { state: now.proposal.state } });
    }
    if (now.row.final_tx !== null && now.row.txid !== null) return { hex: now.row.final_tx, txid: now.row.txid };
    const final = adapter.finalize(payloadOf(now.row), now.proposal.signatures);
    const p: Proposal = { ...now.proposal, version: now.proposal.version + 1, updatedAt: Math.max(tx.atMs, now.proposal.updatedAt) };
    await saveState(tx, p, { final_tx: final.hex, txid: final.txid });
    await appendAudit(tx, now.row.wallet_id, 'proposal.finalized', caller.userId, { proposal: id, txid: final.txid, version: p.version });
    return { hex: final.hex, txid: final.txid };
  });
  return { proposal: await getProposal(ctx, caller, id), ...out };
}

/**
 * Broadcasts a ready proposal through the gateway (finalizing it first if needed), then marks it
 * `broadcast` and supersedes the other open proposals spending any of the same inputs.
 * @throws MofnError from the backend (`backend.*`); the proposal stays `ready` when the broadcast fails.
 */
export async function broadcastProposal(ctx: ServiceContext, gateway: ChainGateway | undefined, caller: Caller, id: string, ifMatch: string): Promise<ProposalView> {
  const { loaded, roles } = await loadForCaller(ctx, caller, id);
  if (gateway === undefined) {
    throw new InvalidInputError('backend.not_configured', 'no chain backend is configured on this server', { hint: 'start the server with a backend (MOFN_ESPLORA_URL, ...)' });
  }
  const actor = humanActor(caller, roles, 'broadcast');
  assertIfMatch(loaded.proposal.version, ifMatch);
  if (loaded.proposal.state === 'collecting') {
    throw new ConflictError('proposal.not_ready', `proposal ${id} is collecting: it needs M signatures on every input before it can be broadcast`, { details: { state: 'collecting' } });
  }
  // Dry-run the transition so a refused caller never reaches the network.
  transition(loaded.proposal, 'broadcast', actor, Math.max(ctx.now().getTime(), loaded.proposal.updatedAt));
  const fin = await finalizeProposal(ctx, caller, id, etagOf(loaded.proposal.version)).catch(async (e: unknown) => {
    // A proposal finalized in between has a new version; finalizing again is a no-op then.
    if (e instanceof PreconditionFailedError) return finalizeProposal(ctx, caller, id, '*');
    throw e;
  });
  const sent = await gateway.broadcast(loaded.row.chain, fin.hex, loaded.row.wallet_id);
  if (sent.txid !== fin.txid) {
    throw new ConflictError('backend.txid_mismatch', `the backend reported txid ${sent.txid} for transaction ${fin.txid}`);
  }
  await inWalletTx(ctx, loaded.row.wallet_id, async (tx) => {
    const now = await loadProposalRows(tx, id);
    if (now === undefined) throw notFound(id);
    if (now.proposal.state === 'broadcast' || now.proposal.state === 'confirmed') return;
    const { proposal, record } = transition(now.proposal, 'broadcast', actor, Math.max(tx.atMs, now.proposal.updatedAt));
    await saveState(tx, proposal, { confirmations: 0 });
    await recordTransition(tx, now.row.wallet_id, record, { txid: fin.txid });
    await supersedeSiblings(tx, now.row.wallet_id, id);
  });
  return getProposal(ctx, caller, id);
}

/** Marks every other open proposal sharing a spend with `id` as superseded. */
async function supersedeSiblings(tx: TxContext, walletId: string, id: string): Promise<void> {
  const spends = await tx.trx.selectFrom('proposal_spends').select('spend').where('proposal_id', '=', id).execute();
  if (spends.length === 0) return;
  const others = await tx.trx
    .selectFrom('proposal_spends')
    .select('proposal_id')
    .distinct()
    .where(
      'spend',
      'in',
      spends.map((s) => s.spend),
    )
    .where('proposal_id', '!=', id)
    .execute();
  for (const o of others) {
    const l = await loadProposalRows(tx, o.proposal_id);
    // A broadcast sibling is a transaction the new one replaced (RBF) or double-spent: it will never confirm.
    if (l === undefined || (l.proposal.state !== 'collecting' && l.proposal.state !== 'ready' && l.proposal.state !== 'broadcast')) continue;
    const { proposal, record } = transition(l.proposal, 'supersede', SYSTEM_ACTOR, Math.max(tx.atMs, l.proposal.updatedAt));
    await saveState(tx, proposal);
    await recordTransition(tx, walletId, record, { by: id });
  }
}

/** Expires every proposal past its TTL. Safe to run on every instance at once. Returns how many it expired. */
export async function expireDueProposals(ctx: ServiceContext): Promise<number> {
  const now = ctx.now().toISOString();
  const due = await ctx.db.selectFrom('proposals').select(['id', 'wallet_id']).where('state', 'in', ['collecting', 'ready']).where('expires_at', '<=', now).limit(500).execute();
  let n = 0;
  for (const d of due) {
    await inWalletTx(ctx, d.wallet_id, async (tx) => {
      const l = await loadProposalRows(tx, d.id);
      if (l !== undefined && (await expireIfDue(tx, d.wallet_id, l.proposal)) !== undefined) n++;
    });
  }
  return n;
}

/** Follows broadcast proposals on the chain: `confirmed` from the first confirmation. Returns how many it confirmed. */
export async function refreshConfirmations(ctx: ServiceContext, gateway: ChainGateway): Promise<number> {
  const open = await ctx.db.selectFrom('proposals').select(['id', 'wallet_id', 'chain', 'txid']).where('state', '=', 'broadcast').limit(500).execute();
  let n = 0;
  for (const o of open) {
    if (o.txid === null) continue;
    const confirmations = await gateway.confirmations(o.chain, o.txid, o.wallet_id);
    if (confirmations === undefined || confirmations < 1) continue;
    await inWalletTx(ctx, o.wallet_id, async (tx) => {
      const l = await loadProposalRows(tx, o.id);
      if (l === undefined || l.proposal.state !== 'broadcast') return;
      const { proposal, record } = transition(l.proposal, 'confirm', SYSTEM_ACTOR, Math.max(tx.atMs, l.proposal.updatedAt));
      await saveState(tx, proposal, { confirmations });
      await recordTransition(tx, o.wallet_id, record, { txid: o.txid, confirmations });
      n++;
    });
  }
  return n;
}

/** A comment as APIs show it. */
export interface CommentView {
  readonly id: string;
  readonly proposalId: string;
  readonly userId: string;
  readonly body: string;
  readonly createdAt: string;
}

/** Adds a comment (any role on the wallet). @throws InvalidInputError `comment.bad_body`. */
export async function addComment(ctx: ServiceContext, caller: Caller, id: string, body: string): Promise<CommentView> {
  const { loaded } = await loadForCaller(ctx, caller, id);
  if (typeof body !== 'string' || body.trim().length === 0 || body.length > 4000) throw new InvalidInputError('comment.bad_body', 'a comment is 1 to 4000 characters of text');
  return inWalletTx(ctx, loaded.row.wallet_id, async (tx) => {
    const cid = newId();
    await tx.trx.insertInto('comments').values({ id: cid, proposal_id: id, user_id: caller.userId, body, created_at: tx.at }).execute();
    await appendAudit(tx, loaded.row.wallet_id, 'comment.added', caller.userId, { proposal: id, comment: cid });
    return { id: cid, proposalId: id, userId: caller.userId, body, createdAt: tx.at };
  });
}

/** Lists a proposal's comments, oldest first. */
export async function listComments(ctx: ServiceContext, caller: Caller, id: string): Promise<CommentView[]> {
  await loadForCaller(ctx, caller, id);
  const rows = await ctx.db.selectFrom('comments').selectAll().where('proposal_id', '=', id).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, proposalId: r.proposal_id, userId: r.user_id, body: r.body, createdAt: r.created_at }));
}

/** Signatures recorded on a proposal (public data: keys and signatures), per input. */
export async function listSignatures(ctx: ServiceContext, caller: Caller, id: string): Promise<{ input: number; publicKey: string; cosigner: string; signature: string; submittedBy: string; createdAt: string }[]> {
  await loadForCaller(ctx, caller, id);
  const rows = await ctx.db.selectFrom('proposal_signatures').selectAll().where('proposal_id', '=', id).orderBy('input_index').orderBy('public_key').execute();
  return rows.map((r) => ({ input: r.input_index, publicKey: r.public_key, cosigner: r.cosigner, signature: r.signature, submittedBy: r.submitted_by, createdAt: r.created_at }));
}

/**
 * Proposes a fee bump (BIP-125 replace-by-fee) of a broadcast, unconfirmed proposal: a new proposal
 * spending the same inputs to the same payments at a higher fee rate, its change reduced. It needs
 * M signatures again; once it is broadcast, the original becomes `superseded`.
 * @throws ConflictError `proposal.not_broadcast`; InvalidInputError `proposal.prev_tx_required`,
 *   and the fee-bump errors of createRbfPsbt (`bump.*`).
 */
export async function replaceProposal(ctx: ServiceContext, caller: Caller, id: string, feeRate: number, memo?: string): Promise<ProposalView> {
  const { loaded, wallet, roles } = await loadForCaller(ctx, caller, id);
  assertAllowed(roles, 'propose');
  if (loaded.proposal.state !== 'broadcast' || loaded.row.final_tx === null) {
    throw new ConflictError('proposal.not_broadcast', `proposal ${id} is ${loaded.proposal.state}: only a broadcast, unconfirmed proposal can be replaced by fee`, { details: { state: loaded.proposal.state } });
  }
  const payload = payloadOf(loaded.row);
  const prevTxs = payload.inputs.map((i) => i.nonWitnessUtxo);
  if (prevTxs.some((t) => t === undefined)) {
    throw new InvalidInputError('proposal.prev_tx_required', 'the original proposal does not carry the previous transactions of its inputs', { hint: 'create proposals with non_witness_utxo (the full previous transaction) for every input' });
  }
  const bump = createRbfPsbt(wallet.deriver, { tx: Buffer.from(loaded.row.final_tx, 'hex'), prevTxs: prevTxs as Uint8Array[], feeRate });
  return createProposal(ctx, caller, { walletId: wallet.view.id, psbt: psbtToBase64(bump.psbt), memo: memo ?? `fee bump of ${id} to ${String(feeRate)} sat/vB` });
}

/**
 * Finds open proposals (collecting, ready, or broadcast but not confirmed) whose inputs a transaction
 * other than their own has spent, and marks them `superseded`: their transaction can never confirm.
 * Safe to run on every instance at once. Returns how many it superseded.
 */
export async function supersedeConflicted(ctx: ServiceContext, gateway: ChainGateway): Promise<number> {
  if (gateway.spenderOf === undefined) return 0;
  const open = await ctx.db
    .selectFrom('proposals')
    .select(['id', 'wallet_id', 'chain', 'payload', 'txid', 'state', 'review'])
    .where('state', 'in', ['collecting', 'ready', 'broadcast'])
    .limit(200)
    .execute();
  let n = 0;
  for (const o of open) {
    const payload = payloadOf(o);
    // The proposal's own transaction, broadcast by anyone (its segwit txid is fixed before signing), is no conflict.
    const own = new Set([o.txid, (JSON.parse(o.review) as ReviewView).txid]);
    let conflict: string | undefined;
    for (const [i, input] of payload.tx.inputs.entries()) {
      const script = payload.inputs[i]?.witnessUtxo?.script;
      if (script === undefined) continue;
      const spender = await gateway.spenderOf(o.chain, { txid: input.txid, vout: input.vout, script: Buffer.from(script).toString('hex') }, o.wallet_id);
      if (spender !== undefined && !own.has(spender)) {
        conflict = spender;
        break;
      }
    }
    if (conflict === undefined) continue;
    await inWalletTx(ctx, o.wallet_id, async (tx) => {
      const l = await loadProposalRows(tx, o.id);
      if (l === undefined || !['collecting', 'ready', 'broadcast'].includes(l.proposal.state)) return;
      const { proposal, record } = transition(l.proposal, 'supersede', SYSTEM_ACTOR, Math.max(tx.atMs, l.proposal.updatedAt));
      await saveState(tx, proposal);
      await recordTransition(tx, o.wallet_id, record, { spentBy: conflict });
      n++;
    });
  }
  return n;
}
