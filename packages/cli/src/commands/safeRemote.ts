/**
 * Remote mode of `mofn safe`: the Safe commands against a coordinator's /v1 API (`--server`, token in
 * MOFN_TOKEN). The coordinator holds no keys and is not trusted for what a cosigner signs: every
 * proposal it shows is rebuilt here from its SafeTx fields, its safeTxHash and domain separator are
 * recomputed and compared, and its danger flags are recomputed (then merged with the coordinator's,
 * which alone knows the Safe's payment history) before any key is unlocked.
 */
import { ConflictError, InvalidInputError, MofnError, SigningRefusedError, type ReviewWarning } from '@mofn/core';
import {
  createEvmClients,
  createSafeTx,
  executeSafeTx,
  getSafeDomainSeparator,
  getSafeTxHash,
  reviewSafeTx,
  type DecodedCall,
  type SafeDomain,
  type SafeSignature,
  type SafeTx,
  type SafeTxReview,
} from '@mofn/ethereum';
import {
  assertReviewAcknowledged,
  listStoredSafes,
  parseEvmAddress,
  parseSafeSignatureFile,
  resolveSender,
  safeTypedDataJson,
  type SafeProposalJson,
  type SafeProposalSpec,
  type SafeView,
  type StoredSafe,
} from '@mofn/service';
import { createEthereumKeySigner } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { remoteClient, type RemoteClient } from '../remote.ts';
import { dangerText, parseKeyIndex, parseNonce, serverUrlOf, specOf, withKeystore, withSender, type ProposeOptions, type ServerOption } from './safeCommon.ts';

type Address = SafeTx['to'];
type Hex = SafeTx['data'];

/** A proposal view of the coordinator, checked here: what signing, approving and executing act on. */
export interface CheckedSafeProposal {
  /** The coordinator's view; its safeTxHash and domain separator equal those computed here. */
  readonly view: SafeProposalJson;
  readonly tx: SafeTx;
  readonly domain: SafeDomain;
  readonly safeTxHash: Hex;
  readonly domainSeparator: Hex;
  /** The SafeTx decoded and flagged here. */
  readonly review: SafeTxReview;
  /** The warnings raised here, then the coordinator's of codes not raised here. */
  readonly warnings: readonly ReviewWarning[];
  /** Every danger code raised here or by the coordinator: each must be acknowledged to sign. */
  readonly dangers: readonly string[];
  /** The Safe as stored on this machine for this chain, when it is. */
  readonly stored: StoredSafe | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const enc = encodeURIComponent;

/** The API path of one proposal. */
export function proposalPath(safe: string, id: string): string {
  return `/safes/${enc(safe)}/proposals/${enc(id)}`;
}

function badAnswer(what: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError('remote.bad_response', `the coordinator's answer ${what}`, {
    hint: 'the coordinator runs an incompatible mofn version, or is not to be trusted: act on nothing it shows',
    ...(cause === undefined ? {} : { cause }),
  });
}

function text(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw badAnswer(`has no string "${key}" in ${where}`);
  return v;
}

function integer(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badAnswer(`has no non-negative integer "${key}" in ${where}`);
  return v;
}

function uint(o: Record<string, unknown>, key: string, where: string): bigint {
  const v = o[key];
  const s = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
  if (typeof s !== 'string' || !/^[0-9]{1,78}$/.test(s)) throw badAnswer(`has no unsigned integer "${key}" in ${where}`);
  return BigInt(s);
}

function address(o: Record<string, unknown>, key: string, where: string): Address {
  try {
    return parseEvmAddress(`${where} ${key}`, o[key]);
  } catch (cause) {
    throw badAnswer(`has no valid address "${key}" in ${where}`, cause);
  }
}

function list(o: Record<string, unknown>, key: string, where: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw badAnswer(`has no array "${key}" in ${where}`);
  return v;
}

/** A SafeTx from the decimal-string JSON the API uses (view `tx`, typed-data `message`), validated. */
function txFromJson(t: unknown, where: string): SafeTx {
  if (!isRecord(t)) throw badAnswer(`has no ${where}`);
  const data = text(t, 'data', where);
  if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(data)) throw badAnswer(`has ${where} data that is not 0x hex`);
  const op = t['operation'];
  if (op !== 0 && op !== 1 && op !== '0' && op !== '1') throw badAnswer(`has ${where} operation that is neither 0 (CALL) nor 1 (DELEGATECALL)`);
  return createSafeTx({
    to: address(t, 'to', where),
    value: uint(t, 'value', where),
    data: data as Hex,
    operation: Number(op) as 0 | 1,
    safeTxGas: uint(t, 'safeTxGas', where),
    baseGas: uint(t, 'baseGas', where),
    gasPrice: uint(t, 'gasPrice', where),
    gasToken: address(t, 'gasToken', where),
    refundReceiver: address(t, 'refundReceiver', where),
    nonce: uint(t, 'nonce', where),
  });
}

function hashMismatch(id: number, what: string, claimed: string, computed: string, domain: SafeDomain): SigningRefusedError {
  return new SigningRefusedError(
    what === 'safeTxHash' ? 'safe.server_hash_mismatch' : 'safe.server_domain_mismatch',
    `the coordinator says proposal ${id} has ${what} ${claimed}, but its SafeTx for Safe ${domain.safeAddress} on chain ${domain.chainId} gives ${computed} here`,
    { details: { id, claimed, computed }, hint: 'sign, approve or execute nothing from this coordinator: it shows a transaction other than the one it names; tell your Safe admin' },
  );
}

/**
 * Checks a proposal view from the coordinator: rebuilds the SafeTx from `view.tx`, recomputes the
 * safeTxHash and domain separator from (chainId, safeAddress, tx) and compares them with the view's,
 * checks the chain against a Safe of that address stored here, and reviews the SafeTx here.
 * Pure: reads nothing but its arguments.
 * @param value the JSON the coordinator answered
 * @param stored the Safes stored on this machine
 * @throws SigningRefusedError `safe.server_hash_mismatch`, `safe.server_domain_mismatch`, `safe.chain_mismatch`;
 *   InvalidInputError `remote.bad_response` (a view without the fields a check needs), `safe.bad_transaction`
 */
export function parseSafeProposalView(value: unknown, stored: readonly StoredSafe[]): CheckedSafeProposal {
  const where = 'the proposal';
  if (!isRecord(value)) throw badAnswer('is not a proposal object');
  const id = integer(value, 'id', where);
  for (const key of ['safe', 'state', 'kind', 'summary']) text(value, key, where);
  const chainId = integer(value, 'chainId', where);
  if (chainId === 0) throw badAnswer('names chain id 0');
  const safeAddress = address(value, 'safeAddress', where);
  const tx = txFromJson(value['tx'], 'the proposal tx');
  if (uint(value, 'nonce', where) !== tx.nonce) throw badAnswer(`says proposal ${id} is at nonce ${String(value['nonce'])} but its SafeTx has nonce ${tx.nonce}`);
  integer(value, 'threshold', where);
  integer(value, 'validSignatures', where);
  for (const s of list(value, 'signatures', where)) {
    if (!isRecord(s)) throw badAnswer('has a signature that is not an object');
    text(s, 'owner', 'a signature');
    text(s, 'kind', 'a signature');
    if (typeof s['counts'] !== 'boolean') throw badAnswer('has a signature without a boolean "counts"');
  }
  const serverWarnings = list(value, 'warnings', where).map((w): ReviewWarning => {
    if (!isRecord(w)) throw badAnswer('has a warning that is not an object');
    return { code: text(w, 'code', 'a warning'), message: text(w, 'message', 'a warning') };
  });
  const serverDangers = list(value, 'dangers', where).map((d) => {
    if (typeof d !== 'string') throw badAnswer('has a danger code that is not a string');
    return d;
  });

  const domain: SafeDomain = { chainId, safeAddress };
  const safeTxHash = getSafeTxHash(domain, tx);
  const domainSeparator = getSafeDomainSeparator(domain);
  const claimedHash = text(value, 'safeTxHash', where);
  if (claimedHash.toLowerCase() !== safeTxHash.toLowerCase()) throw hashMismatch(id, 'safeTxHash', claimedHash, safeTxHash, domain);
  const claimedDomain = text(value, 'domainSeparator', where);
  if (claimedDomain.toLowerCase() !== domainSeparator.toLowerCase()) throw hashMismatch(id, 'domain separator', claimedDomain, domainSeparator, domain);

  const same = stored.filter((s) => s.address === safeAddress);
  const local = same.find((s) => s.chainId === chainId);
  if (same.length > 0 && local === undefined) {
    throw new SigningRefusedError(
      'safe.chain_mismatch',
      `Safe ${safeAddress} is stored on this machine as ${same.map((s) => `'${s.name}' on chain ${s.chainId}`).join(', ')}, but the coordinator's proposal ${id} is for chain ${chainId}`,
      { details: { chainId, stored: same.map((s) => s.chainId) }, hint: 'a signature counts on the chain it names: if the Safe really lives on that chain too, store it for that chain first (`mofn safe import`)' },
    );
  }
  // The coordinator's threshold is not trusted: without a stored Safe, any threshold an owner change sets counts as a change.
  const review = reviewSafeTx(tx, { safeAddress, ...(local === undefined ? {} : { threshold: local.threshold }) });
  const raisedHere = new Set(review.warnings.map((w) => w.code));
  const warnings = [...review.warnings, ...serverWarnings.filter((w) => !raisedHere.has(w.code))];
  const dangers: string[] = [...review.dangers];
  for (const d of serverDangers) if (!dangers.includes(d)) dangers.push(d);
  return Object.freeze({
    view: value as unknown as SafeProposalJson,
    tx,
    domain,
    safeTxHash,
    domainSeparator,
    review,
    warnings: Object.freeze(warnings),
    dangers: Object.freeze(dangers),
    stored: local,
  });
}

async function storedSafes(): Promise<readonly StoredSafe[]> {
  return withStore((ctx) => listStoredSafes(ctx));
}

/** Downloads proposal `id` of Safe `safe` and checks it ({@link parseSafeProposalView}). */
export async function fetchSafeProposal(api: RemoteClient, safe: string, id: string): Promise<CheckedSafeProposal> {
  const { body } = await api.get<unknown>(proposalPath(safe, id));
  return parseSafeProposalView(body, await storedSafes());
}

function formatEth(wei: bigint): string {
  const digits = wei.toString().padStart(19, '0');
  const fraction = digits.slice(-18).replace(/0+$/, '');
  return fraction === '' ? digits.slice(0, -18) : `${digits.slice(0, -18)}.${fraction}`;
}

/** One line saying what a decoded call does, from the bytes alone. */
function describeCall(c: DecodedCall, safeAddress: Address): string {
  switch (c.kind) {
    case 'eth_transfer':
      if (c.value === 0n && c.to.toLowerCase() === safeAddress.toLowerCase()) return 'reject: use the nonce doing nothing';
      return `send ${formatEth(c.value)} ETH (${c.value} wei) to ${c.to}`;
    case 'erc20': {
      const a = c.args;
      if (c.method === 'transfer') return `ERC-20 transfer of ${String(a['amount'])} units of token ${c.token} to ${String(a['to'])}`;
      if (c.method === 'approve') return `ERC-20 approval of ${String(a['amount'])} units of token ${c.token} to spender ${String(a['spender'])}`;
      return `ERC-20 transferFrom of ${String(a['amount'])} units of token ${c.token} from ${String(a['from'])} to ${String(a['to'])}`;
    }
    case 'multisend':
      return `batch of ${c.calls.length} calls through ${c.callOnly ? 'MultiSendCallOnly' : `MultiSend at ${c.to}`}`;
    case 'safe_admin':
      return `${c.method} on Safe ${c.to}: ${Object.entries(c.args)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ')}`;
    case 'unknown':
      return `call ${c.to}${c.value > 0n ? ` with ${formatEth(c.value)} ETH` : ''} with ${(c.data.length - 2) / 2} bytes of calldata mofn does not decode`;
  }
}

/** The review of a checked proposal, as lines (the layout of the local `mofn safe review`). */
export function formatCheckedProposal(c: CheckedSafeProposal, server: string): string[] {
  const v = c.view;
  const t = c.tx;
  const lines = [
    `proposal ${v.id} of Safe '${v.safe}' (${c.domain.safeAddress}, chain ${c.domain.chainId}) at ${server}: ${v.state}, nonce ${t.nonce}`,
    `  coordinator's summary: ${v.summary}`,
    `  decoded here:          ${describeCall(c.review.call, c.domain.safeAddress)}`,
    `  safeTxHash        ${c.safeTxHash}`,
    `  domain separator  ${c.domainSeparator}`,
    '  both recomputed here from the SafeTx: check them against what your signing device shows',
    `  to ${t.to}  value ${t.value}  operation ${t.operation === 0 ? 'CALL' : 'DELEGATECALL'}  data ${t.data.length > 74 ? `${t.data.slice(0, 74)}... (${(t.data.length - 2) / 2} bytes)` : t.data}`,
    `  safeTxGas ${t.safeTxGas}  baseGas ${t.baseGas}  gasPrice ${t.gasPrice}  gasToken ${t.gasToken}  refundReceiver ${t.refundReceiver}`,
  ];
  const call = c.review.call;
  if (call.kind === 'multisend') {
    for (const [i, b] of call.calls.entries()) lines.push(`  batch call ${i + 1}: ${describeCall(b, c.domain.safeAddress)}`);
  }
  for (const o of c.review.outputs) lines.push(`  pays ${o.amount} ${o.asset === 'ETH' ? 'wei' : `units of ${o.asset}`} to ${o.to}${o.isChange ? ' (the Safe itself)' : ''}`);
  const mine = new Set(c.review.warnings.map((w) => w.code));
  for (const w of c.warnings) lines.push(`  ${c.dangers.includes(w.code) ? 'DANGER' : 'note'} [${w.code}] ${w.message}${mine.has(w.code) ? '' : ' (from the coordinator)'}`);
  for (const code of c.dangers) lines.push(`  to sign, acknowledge with --ack ${code}${dangerText(code) === undefined ? '' : ` (${dangerText(code)})`}`);
  lines.push(`  signatures ${v.validSignatures} of ${v.threshold}${v.signatures.map((s) => `\n    ${s.owner} (${s.kind}${s.counts ? '' : ', no longer an owner'})`).join('')}`);
  if (c.stored === undefined) {
    lines.push(`  note: Safe ${c.domain.safeAddress} on chain ${c.domain.chainId} is not stored on this machine; check that address (\`mofn safe import\` pins it here)`);
  }
  return lines;
}

/** @throws ConflictError `safe.proposal_closed` unless the proposal still collects signatures. */
export function assertSignable(c: CheckedSafeProposal): void {
  if (c.view.state !== 'collecting' && c.view.state !== 'ready') {
    throw new ConflictError('safe.proposal_closed', `proposal ${c.view.id} of Safe '${c.view.safe}' is ${c.view.state}: it can no longer be signed or executed`, { details: { state: c.view.state } });
  }
}

/** @throws ConflictError `safe.duplicate_signer` when `owner` already signed the proposal on the coordinator. */
export function assertNotSigned(c: CheckedSafeProposal, owner: Address): void {
  if (c.view.signatures.some((s) => s.owner.toLowerCase() === owner.toLowerCase())) {
    throw new ConflictError('safe.duplicate_signer', `${owner} has already signed proposal ${c.view.id}`, { details: { signer: owner } });
  }
}

/** @throws InvalidInputError `option.rpc_required` */
export function assertRpcGiven(rpc: string | undefined, command: string): asserts rpc is string {
  if (rpc === undefined) {
    throw new InvalidInputError('option.rpc_required', `remote \`mofn safe ${command}\` sends an Ethereum transaction itself and needs the JSON-RPC URL of the Safe's chain`, {
      hint: 'add --rpc http://HOST:8545 (the coordinator holds no keys and sends nothing)',
    });
  }
}

/** A signature the coordinator stored, as its answer to POST .../signatures says. */
export interface AddedSignature {
  readonly owner: string;
  readonly kind: string;
  readonly safeTxHash: string;
  readonly count: number;
  readonly threshold: number;
}

/** The `added` part of the answer to POST .../signatures. */
export function parseAdded(body: unknown): AddedSignature {
  const added = isRecord(body) ? body['added'] : undefined;
  if (!isRecord(added)) throw badAnswer('to a signature has no "added" object');
  const where = 'the added signature';
  return { owner: text(added, 'owner', where), kind: text(added, 'kind', where), safeTxHash: text(added, 'safeTxHash', where), count: integer(added, 'count', where), threshold: integer(added, 'threshold', where) };
}

/** The body of POST .../signatures for `sig`, with the context this machine computed. */
export function signatureBody(c: CheckedSafeProposal, sig: Pick<SafeSignature, 'signer' | 'data'>): Record<string, unknown> {
  return { signer: sig.signer, data: sig.data, chainId: c.domain.chainId, safeAddress: c.domain.safeAddress, safeTxHash: c.safeTxHash };
}

function parseSafeView(body: unknown): SafeView {
  const where = 'the Safe';
  if (!isRecord(body)) throw badAnswer('is not a Safe object');
  for (const key of ['id', 'name', 'version']) text(body, key, where);
  integer(body, 'chainId', where);
  address(body, 'address', where);
  integer(body, 'threshold', where);
  for (const o of list(body, 'owners', where)) if (typeof o !== 'string') throw badAnswer('has an owner that is not a string');
  const roles = body['myRoles'];
  if (roles !== undefined) {
    if (!Array.isArray(roles)) throw badAnswer('has "myRoles" that is not an array');
    for (const r of roles) if (!isRecord(r) || typeof r['role'] !== 'string') throw badAnswer('has a role that is not { role, owner }');
  }
  return body as unknown as SafeView;
}

function rolesLine(s: SafeView): string {
  const roles = s.myRoles ?? [];
  return roles.length === 0 ? 'none' : roles.map((r) => (r.owner === null ? r.role : `${r.role} for ${r.owner}`)).join(', ');
}

/** `mofn safe register`: registers an existing Safe with the coordinator (the caller becomes its admin). */
export async function remoteRegister(io: Io, name: string, opts: ServerOption & { address: string; chainId: number; json?: boolean }): Promise<void> {
  const asked = parseEvmAddress('--address', opts.address);
  const api = remoteClient(serverUrlOf(opts));
  const { body } = await api.post<unknown>('/safes', { name, chainId: opts.chainId, address: asked });
  const s = parseSafeView(body);
  if (parseEvmAddress('address', s.address) !== asked || s.chainId !== opts.chainId) {
    throw new SigningRefusedError('safe.server_mismatch', `the coordinator registered ${s.address} on chain ${s.chainId}, not ${asked} on chain ${opts.chainId}`, { hint: 'tell the coordinator operator' });
  }
  if (opts.json) {
    io.out(toJson(s));
    return;
  }
  io.out(`Safe '${s.name}' registered at ${api.baseUrl}: ${s.address} on chain ${s.chainId}, Safe ${s.version}, ${s.threshold}-of-${s.owners.length} (id ${s.id})`);
  io.out(`  owners ${s.owners.join(', ')}`);
  io.out(`  your roles: ${rolesLine(s)}; grant others theirs with POST /v1/wallets/${s.id}/roles`);
}

/** `mofn safe show --server`: the Safe as the coordinator serves it, with your roles. */
export async function remoteShow(io: Io, name: string, opts: ServerOption & { json?: boolean }): Promise<void> {
  const api = remoteClient(serverUrlOf(opts));
  const s = parseSafeView((await api.get<unknown>(`/safes/${enc(name)}`)).body);
  if (opts.json) {
    io.out(toJson(s));
    return;
  }
  io.out(`Safe '${s.name}': ${s.address} on chain ${s.chainId} (coordinator ${api.baseUrl}, id ${s.id})`);
  io.out(`  Safe ${s.version}`);
  io.out(`  threshold ${s.threshold} of ${s.owners.length} owners:`);
  for (const o of s.owners) io.out(`    ${o}`);
  io.out(`  your roles: ${rolesLine(s)}`);
}

/** The body of POST /v1/safes/:safe/proposals for a proposal spec. @throws InvalidInputError `option.bad_json`, `option.bad_proposal` */
function proposeBody(spec: SafeProposalSpec, nonce: bigint | undefined): Record<string, unknown> {
  const at = nonce === undefined ? {} : { nonce: nonce.toString() };
  switch (spec.kind) {
    case 'eth':
      return { kind: 'eth', to: spec.to, value: spec.value.toString(), ...at };
    case 'erc20':
      return { kind: 'erc20', token: spec.token, to: spec.to, amount: spec.amount, ...at };
    case 'call': {
      // The API takes the ABI as an array; a build artifact carries it under "abi".
      const abi = Array.isArray(spec.abi) ? spec.abi : isRecord(spec.abi) ? spec.abi['abi'] : undefined;
      if (!Array.isArray(abi)) throw new InvalidInputError('option.bad_json', 'the ABI file must hold a JSON array, or an object with an "abi" array');
      if (!Array.isArray(spec.args)) throw new InvalidInputError('option.bad_json', '--args must be a JSON array');
      return { kind: 'call', to: spec.to, abi, function: spec.function, args: spec.args, ...(spec.value === undefined ? {} : { value: spec.value.toString() }), ...at };
    }
    case 'batch':
      return { kind: 'batch', calls: spec.calls.map((c) => ({ to: c.to, ...(c.value === undefined ? {} : { value: c.value.toString() }), ...(c.data === undefined ? {} : { data: c.data }) })), ...at };
    case 'add_owner':
    case 'remove_owner':
      return { kind: spec.kind, owner: spec.owner, ...(spec.threshold === undefined ? {} : { threshold: spec.threshold }), ...at };
    case 'swap_owner':
      return { kind: 'swap_owner', oldOwner: spec.oldOwner, newOwner: spec.newOwner, ...at };
    case 'threshold':
      return { kind: 'threshold', threshold: spec.threshold, ...at };
    case 'reject':
      if (nonce !== undefined && nonce !== spec.nonce) throw new InvalidInputError('option.bad_proposal', `--reject ${spec.nonce} is a proposal at nonce ${spec.nonce}: drop --nonce ${nonce}`);
      return { kind: 'reject', nonce: spec.nonce.toString() };
  }
}

/**
 * Refuses a proposal the coordinator built otherwise than asked, for the kinds whose SafeTx follows
 * from the options alone (the others are shown decoded for the proposer to read).
 * @throws SigningRefusedError `safe.server_mismatch`
 */
function assertBuiltAsAsked(c: CheckedSafeProposal, spec: SafeProposalSpec, nonce: bigint | undefined): void {
  const t = c.tx;
  const wrong = (what: string) =>
    new SigningRefusedError('safe.server_mismatch', `the coordinator built proposal ${c.view.id} as ${what}, not as asked`, {
      hint: `cancel it (mofn safe cancel ${c.view.safe} ${c.view.id} --server) and tell your Safe admin`,
    });
  if (nonce !== undefined && t.nonce !== nonce) throw wrong(`a SafeTx at nonce ${t.nonce} instead of ${nonce}`);
  const plain = t.data === '0x' && t.operation === 0;
  if (spec.kind === 'eth' && !(plain && t.to === parseEvmAddress('--to', spec.to) && t.value === spec.value)) throw wrong(`"${describeCall(c.review.call, c.domain.safeAddress)}"`);
  if (spec.kind === 'reject' && !(plain && t.to === c.domain.safeAddress && t.value === 0n && t.nonce === spec.nonce)) throw wrong(`"${describeCall(c.review.call, c.domain.safeAddress)}" at nonce ${t.nonce}`);
  if (spec.kind === 'erc20') {
    const call = c.review.call;
    const ok =
      call.kind === 'erc20' && call.method === 'transfer' && t.operation === 0 && t.value === 0n && call.token === parseEvmAddress('--erc20', spec.token) && call.args['to'] === parseEvmAddress('--to', spec.to);
    if (!ok) throw wrong(`"${describeCall(call, c.domain.safeAddress)}"`);
  }
}

/** `mofn safe propose --server`: the coordinator builds the SafeTx; it is checked here before it is shown. */
export async function remotePropose(io: Io, name: string, opts: ProposeOptions & ServerOption): Promise<void> {
  const spec = specOf(opts);
  const nonce = opts.nonce === undefined ? undefined : parseNonce('--nonce', opts.nonce);
  const body = proposeBody(spec, nonce);
  const api = remoteClient(serverUrlOf(opts));
  const made = await api.post<unknown>(`/safes/${enc(name)}/proposals`, body);
  const c = parseSafeProposalView(made.body, await storedSafes());
  assertBuiltAsAsked(c, spec, nonce);
  printChecked(io, c, api.baseUrl, opts.json);
}

function printChecked(io: Io, c: CheckedSafeProposal, server: string, json: boolean | undefined): void {
  // The dangers to acknowledge are those raised on either side.
  if (json) io.out(toJson({ ...c.view, dangers: c.dangers }));
  else for (const l of formatCheckedProposal(c, server)) io.out(l);
}

/** `mofn safe review --server`. */
export async function remoteReview(io: Io, name: string, id: string, opts: ServerOption & { json?: boolean }): Promise<void> {
  const api = remoteClient(serverUrlOf(opts));
  printChecked(io, await fetchSafeProposal(api, name, id), api.baseUrl, opts.json);
}

/** `mofn safe list --server`: the coordinator's proposals of a Safe by nonce, each checked. */
export async function remoteList(io: Io, name: string, opts: ServerOption & { json?: boolean }): Promise<void> {
  const api = remoteClient(serverUrlOf(opts));
  const safe = parseSafeView((await api.get<unknown>(`/safes/${enc(name)}`)).body);
  const { body } = await api.get<unknown>(`/safes/${enc(name)}/proposals`);
  if (!isRecord(body)) throw badAnswer('to the proposal list is not an object');
  const stored = await storedSafes();
  const items = list(body, 'items', 'the proposal list').map((item) => parseSafeProposalView(item, stored));
  if (opts.json) {
    io.out(toJson({ safe, items: items.map((c) => ({ ...c.view, dangers: c.dangers })) }));
    return;
  }
  io.out(`Safe '${safe.name}' at ${api.baseUrl}: ${safe.address} on chain ${safe.chainId}, threshold ${safe.threshold}`);
  const nonces = [...new Set(items.map((c) => c.tx.nonce))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of nonces) {
    io.out(`nonce ${n}`);
    for (const c of items.filter((x) => x.tx.nonce === n)) {
      const v = c.view;
      io.out(`  ${String(v.id).padStart(3)} ${v.state.padEnd(10)} ${v.kind.padEnd(12)} ${v.validSignatures}/${v.threshold} sigs  ${c.safeTxHash}`);
    }
  }
}

/** `mofn safe cancel --server`: withdraws a proposal on the coordinator (proposer or Safe admin). */
export async function remoteCancel(io: Io, name: string, id: string, opts: ServerOption & { json?: boolean }): Promise<void> {
  const api = remoteClient(serverUrlOf(opts));
  const { body } = await api.post<unknown>(`${proposalPath(name, id)}/cancel`, {});
  const c = parseSafeProposalView(body, await storedSafes());
  if (opts.json) {
    io.out(toJson(c.view));
    return;
  }
  io.out(`proposal ${c.view.id} of Safe '${c.view.safe}': ${c.view.state} on the coordinator`);
  if (c.view.signatures.length > 0) {
    // Cancelling is off-chain only: whoever holds enough of the signatures could still execute it.
    io.out(`  its ${c.view.signatures.length} signature(s) could still execute it: to cancel on chain, propose a rejection (mofn safe propose ${c.view.safe} --reject ${c.tx.nonce} --server)`);
  }
}

/**
 * The coordinator client and a proposal checked here, shown on stderr, still open, with every danger
 * acknowledged: what signing and approving act on.
 */
export async function fetchForSigning(io: Io, name: string, id: string, opts: ServerOption & { ack: string[] }): Promise<{ api: RemoteClient; c: CheckedSafeProposal }> {
  const api = remoteClient(serverUrlOf(opts));
  const c = await fetchSafeProposal(api, name, id);
  for (const l of formatCheckedProposal(c, api.baseUrl)) io.err(l);
  assertSignable(c);
  assertReviewAcknowledged(c, opts.ack);
  return { api, c };
}

/** `mofn safe sign --server`: checks the proposal here, signs it with the keystore's Ethereum key, uploads the signature. */
export async function remoteSign(io: Io, name: string, id: string, opts: ServerOption & { keystore: string; index: string; ack: string[]; json?: boolean }): Promise<void> {
  const index = parseKeyIndex(opts.index);
  // Review and acknowledgement are checked before the password is asked.
  const { api, c } = await fetchForSigning(io, name, id, opts);
  const sig = await withKeystore(opts.keystore, (unlocked) => {
    const signer = createEthereumKeySigner(unlocked, index);
    assertNotSigned(c, signer.address);
    return signer.signSafeTx(c.domain, c.tx);
  });
  const { body } = await api.post<unknown>(`${proposalPath(name, String(c.view.id))}/signatures`, signatureBody(c, sig));
  const added = parseAdded(body);
  if (opts.json) io.out(toJson(added));
  else io.out(`signed by ${added.owner}: ${added.count} of ${added.threshold} signature(s) (safeTxHash ${c.safeTxHash})`);
}

/**
 * `mofn safe typed-data --server`: the EIP-712 typed data of a checked proposal. The coordinator's typed
 * data must hash to the proposal's safeTxHash; the file written is rebuilt here from the checked SafeTx,
 * so nothing else the coordinator put in it reaches the signing device.
 */
export async function remoteTypedData(io: Io, name: string, id: string, opts: ServerOption & { out?: string }): Promise<void> {
  const api = remoteClient(serverUrlOf(opts));
  const c = await fetchSafeProposal(api, name, id);
  const { body } = await api.get<unknown>(`${proposalPath(name, String(c.view.id))}/typed-data`);
  const typed = isRecord(body) ? body['typedData'] : undefined;
  if (!isRecord(body) || !isRecord(typed) || !isRecord(typed['domain'])) throw badAnswer('to typed-data has no typedData with a domain');
  const domain: SafeDomain = { chainId: integer(typed['domain'], 'chainId', 'the typed data domain'), safeAddress: address(typed['domain'], 'verifyingContract', 'the typed data domain') };
  const theirs = getSafeTxHash(domain, txFromJson(typed['message'], 'the typed data message'));
  const claimed = text(body, 'safeTxHash', 'the typed data answer');
  if (theirs.toLowerCase() !== c.safeTxHash.toLowerCase()) throw hashMismatch(c.view.id, 'safeTxHash', theirs, c.safeTxHash, c.domain);
  if (claimed.toLowerCase() !== c.safeTxHash.toLowerCase()) throw hashMismatch(c.view.id, 'safeTxHash', claimed, c.safeTxHash, c.domain);
  const typedData = safeTypedDataJson(c.domain, c.tx);
  const out = toJson(typedData);
  if (opts.out === undefined) io.out(out);
  else writeOutput(opts.out, `${out}\n`);
  io.err(`safeTxHash ${c.safeTxHash}: your signing device must show this hash`);
}

/** `mofn safe add-signature --server`: uploads an owner signature made elsewhere; the coordinator verifies it. */
export async function remoteAddSignature(io: Io, name: string, id: string, opts: ServerOption & { file: string; json?: boolean }): Promise<void> {
  const sig = parseSafeSignatureFile(readInput(opts.file));
  const api = remoteClient(serverUrlOf(opts));
  const c = await fetchSafeProposal(api, name, id);
  if (sig.safeTxHash !== undefined && sig.safeTxHash.toLowerCase() !== c.safeTxHash.toLowerCase()) {
    throw new InvalidInputError('safe.wrong_transaction', `the signature file is for safeTxHash ${sig.safeTxHash}; proposal ${c.view.id} has ${c.safeTxHash}`, { hint: 'sign the typed data of this proposal (mofn safe typed-data)' });
  }
  const body = {
    signer: sig.signer,
    data: sig.data,
    ...(sig.chainId === undefined ? {} : { chainId: sig.chainId }),
    ...(sig.safeAddress === undefined ? {} : { safeAddress: sig.safeAddress }),
    ...(sig.safeTxHash === undefined ? {} : { safeTxHash: sig.safeTxHash }),
  };
  const added = parseAdded((await api.post<unknown>(`${proposalPath(name, String(c.view.id))}/signatures`, body)).body);
  if (opts.json) io.out(toJson(added));
  else io.out(`signature of ${added.owner} (${added.kind}) verified and stored: ${added.count} of ${added.threshold}`);
}

/** The signatures of GET .../execution, once its safeTxHash and Safe are those checked here. */
function executionSignatures(body: unknown, c: CheckedSafeProposal): SafeSignature[] {
  const where = 'the execution data';
  if (!isRecord(body)) throw badAnswer('to execution is not an object');
  const hash = text(body, 'safeTxHash', where);
  if (hash.toLowerCase() !== c.safeTxHash.toLowerCase()) throw hashMismatch(c.view.id, 'safeTxHash', hash, c.safeTxHash, c.domain);
  if (address(body, 'to', where) !== c.domain.safeAddress || integer(body, 'chainId', where) !== c.domain.chainId) {
    throw new SigningRefusedError('safe.server_mismatch', `the coordinator's execution data of proposal ${c.view.id} is for another Safe or chain than the proposal`, { hint: 'execute nothing from this coordinator; tell your Safe admin' });
  }
  // Only signer and bytes are taken: each is recovered against the safeTxHash computed here before sending.
  return list(body, 'signatures', where).map((s) => {
    if (!isRecord(s)) throw badAnswer('has a signature that is not an object');
    return { signer: text(s, 'signer', 'a signature') as Address, data: text(s, 'data', 'a signature') as Hex };
  });
}

/**
 * `mofn safe exec --server --rpc URL`: sends execTransaction with the coordinator's signatures (each
 * re-verified here against the chain's owners, the call simulated first), then reports the transaction.
 */
export async function remoteExec(io: Io, name: string, id: string, opts: ServerOption & { rpc?: string; fromKeystore?: string; index: string; json?: boolean }): Promise<void> {
  assertRpcGiven(opts.rpc, 'exec');
  const rpc = opts.rpc;
  const api = remoteClient(serverUrlOf(opts));
  const c = await fetchSafeProposal(api, name, id);
  assertSignable(c);
  const clients = await createEvmClients(rpc, c.domain.chainId);
  const path = proposalPath(name, String(c.view.id));
  const signatures = executionSignatures((await api.get<unknown>(`${path}/execution`)).body, c);
  const done = await withSender(opts, async (sender) => executeSafeTx(clients, { safeAddress: c.domain.safeAddress, tx: c.tx, signatures, account: await resolveSender(clients, sender) }));
  let state: string;
  let view: unknown;
  try {
    view = (await api.post<unknown>(`${path}/execution`, { txHash: done.txHash })).body;
    state = isRecord(view) && typeof view['state'] === 'string' ? view['state'] : 'unknown';
  } catch (cause) {
    throw new MofnError('safe.report_failed', `proposal ${c.view.id} was executed in tx ${done.txHash}, but the coordinator was not told: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      details: { txHash: done.txHash },
      hint: `nothing is lost: the coordinator's job finds executions made elsewhere, or report it with POST /v1${path}/execution {"txHash":"${done.txHash}"}`,
    });
  }
  if (opts.json) {
    io.out(toJson({ id: c.view.id, ...done, state, proposal: view }));
    return;
  }
  io.out(`executed proposal ${c.view.id}: tx ${done.txHash} in block ${done.blockNumber}, gas used ${done.gasUsed} (estimate ${done.gasEstimate})`);
  io.out(`  coordinator ${api.baseUrl}: proposal ${c.view.id} is ${state}`);
}
