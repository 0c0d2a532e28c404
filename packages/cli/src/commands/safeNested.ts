/**
 * `mofn safe sign --via` and `mofn safe add-signature --via`: an owner that is itself a Safe signs
 * through its own owners (EIP-1271). Each owner of the owner Safe signs the child Safe's SafeTx as a
 * SafeMessage of the owner Safe; once the owner Safe's threshold of those partial signatures is
 * reached they are combined into its contract signature, which the local store or the coordinator
 * verifies on chain (isValidSignature) before storing it like any owner's signature.
 */
import { ConflictError, InvalidInputError, MofnError, NotReadyError } from '@mofn/core';
import { createEvmClients, createNestedSafeSignature, readSafe, signSafeTxForOwnerSafe, type EvmClients, type OwnerSafe, type SafeDomain, type SafeSignature, type SafeTx } from '@mofn/ethereum';
import { addSafeSignature, assertProposalOpen, assertReviewAcknowledged, formatSafeSignatureFile, openSafeClients, parseEvmAddress, parseSafeSignatureFile, reviewSafeProposal } from '@mofn/service';
import { deriveEthereumAddress, deriveEthereumPrivateKey } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { remoteClient, type RemoteClient } from '../remote.ts';
import { assertNoLocalRpc, parseKeyIndex, serverUrlOf, withKeystore, type ServerOption } from './safeCommon.ts';
import { assertSignable, fetchForSigning, fetchSafeProposal, parseAdded, proposalPath, signatureBody, type AddedSignature, type CheckedSafeProposal } from './safeRemote.ts';

type Address = SafeTx['to'];

/** Options of `mofn safe sign` (those of plain signing, and those only `--via` takes). */
export interface SignOptions extends ServerOption {
  keystore: string;
  index: string;
  ack: string[];
  via?: string;
  out?: string;
  rpc?: string;
  json?: boolean;
}

/** Options of `mofn safe add-signature`. */
export interface AddSignatureOptions extends ServerOption {
  file: string[];
  via?: string;
  rpc?: string;
  json?: boolean;
}

/** The proposal an owner Safe signs, wherever it is kept, with a client of its chain. */
interface NestedTarget {
  /** The child Safe's name and the proposal id, as the user gave them (for the commands printed). */
  readonly name: string;
  readonly id: string;
  readonly domain: SafeDomain;
  readonly tx: SafeTx;
  /** Owners whose signatures the proposal already holds. */
  readonly signed: readonly string[];
  readonly clients: EvmClients;
  /** What a printed command needs to reach the same proposal again: '' locally, the remote flags otherwise. */
  readonly flags: string;
  /** Stores the owner Safe's contract signature, which is then verified on chain by the store or coordinator. */
  readonly store: (sig: SafeSignature) => Promise<AddedSignature>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function viaRequired(message: string): InvalidInputError {
  return new InvalidInputError('option.via_required', message, {
    hint: 'add --via OWNER_SAFE (the owner of the Safe that is itself a Safe), or drop the option to act as an owner key',
  });
}

/** @throws InvalidInputError `option.via_required` when plain `sign` is given an option only `--via` takes. */
export function assertPlainSign(opts: SignOptions): void {
  if (opts.out !== undefined) throw viaRequired("--out writes the partial signature of an owner Safe's owner: it goes with --via");
  if (opts.rpc !== undefined) throw viaRequired('--rpc of `mofn safe sign` reads an owner Safe on chain: it goes with --via and --server');
}

/**
 * The one signature file of plain `add-signature`.
 * @throws InvalidInputError `option.file_required`, `option.via_required`
 */
export function singleSignatureFile(opts: AddSignatureOptions): string {
  if (opts.rpc !== undefined) throw viaRequired('--rpc of `mofn safe add-signature` reads an owner Safe on chain: it goes with --via and --server');
  const [file, ...more] = opts.file;
  if (file === undefined) throw new InvalidInputError('option.file_required', '`mofn safe add-signature` needs --file FILE', { hint: 'give the signature file, or - for standard input' });
  if (more.length > 0) throw viaRequired(`${opts.file.length} --file options are partial signatures of an owner Safe's owners, to combine: that needs --via`);
  return file;
}

/**
 * Reads the owner Safe `via` on chain after checking it may sign the proposal: it is a current owner
 * of the child Safe, has not signed yet, and the proposal's nonce is still open.
 * @throws InvalidInputError `safe.wrong_owner`, `safe.via_not_a_safe`; ConflictError `safe.duplicate_signer`, `safe.nonce_used`
 */
async function readOwnerSafe(t: NestedTarget, via: Address): Promise<OwnerSafe> {
  const child = await readSafe(t.clients, t.domain.safeAddress);
  if (!child.owners.some((o) => same(o, via))) {
    throw new InvalidInputError('safe.wrong_owner', `${via} (--via) is not an owner of Safe '${t.name}' (${t.domain.safeAddress}) on chain ${t.domain.chainId}`, {
      details: { via, owners: child.owners },
      hint: `--via names the owner Safe signing; the owners of '${t.name}' are ${child.owners.join(', ')}`,
    });
  }
  if (t.tx.nonce < child.nonce) {
    throw new ConflictError('safe.nonce_used', `nonce ${t.tx.nonce} of Safe '${t.name}' is already used (current nonce ${child.nonce}): proposal ${t.id} can never execute`, {
      details: { nonce: t.tx.nonce, current: child.nonce },
    });
  }
  if (t.signed.some((s) => same(s, via))) throw new ConflictError('safe.duplicate_signer', `owner Safe ${via} has already signed proposal ${t.id}`, { details: { signer: via } });
  try {
    const owner = await readSafe(t.clients, via);
    return { address: owner.address, owners: owner.owners, threshold: owner.threshold };
  } catch (cause) {
    if (cause instanceof MofnError && (cause.code === 'safe.not_deployed' || cause.code === 'safe.not_a_safe')) {
      throw new InvalidInputError('safe.via_not_a_safe', `owner ${via} of Safe '${t.name}' is not a Safe: it has no owners to sign for it`, {
        cause,
        hint: `an owner key signs without --via: mofn safe sign ${t.name} ${t.id} --keystore FILE${t.flags}`,
      });
    }
    throw cause;
  }
}

function combineCommand(t: NestedTarget, via: Address, first: string): string {
  return `mofn safe add-signature ${t.name} ${t.id} --via ${via} --file ${first} --file ...${t.flags}`;
}

function printStored(io: Io, added: AddedSignature, owner: OwnerSafe, byOwners: readonly Address[], json: boolean | undefined): void {
  if (json) io.out(toJson({ ...added, ownerSafe: owner.address, signedBy: byOwners }));
  else io.out(`contract signature of owner Safe ${owner.address} (signed by ${byOwners.join(', ')}) verified and stored: ${added.count} of ${added.threshold} (safeTxHash ${added.safeTxHash})`);
}

/**
 * Signs the proposal as one owner of the owner Safe `via`: stores the owner Safe's contract signature
 * at once when its threshold is 1 and no --out is given, writes the partial signature to --out otherwise.
 * @throws InvalidInputError `option.out_required`, `safe.wrong_owner`, and those of {@link readOwnerSafe} and the store
 */
async function signVia(io: Io, t: NestedTarget, via: Address, index: number, opts: SignOptions): Promise<void> {
  const owner = await readOwnerSafe(t, via);
  const out = opts.out;
  // Known before the password is asked: one key alone cannot give this owner Safe's signature.
  if (owner.threshold > 1 && out === undefined) {
    throw new InvalidInputError('option.out_required', `owner Safe ${owner.address} needs ${owner.threshold} of its ${owner.owners.length} owners' signatures: one key cannot sign for it alone`, {
      details: { threshold: owner.threshold },
      hint: `write this owner's partial signature with --out FILE, have ${owner.threshold - 1} more owner(s) of ${owner.address} do the same, then combine them: ${combineCommand(t, via, 'FILE')}`,
    });
  }
  const partial = await withKeystore(opts.keystore, (unlocked) => {
    const signer = deriveEthereumAddress(unlocked, index);
    if (!owner.owners.some((o) => same(o, signer))) {
      throw new InvalidInputError('safe.wrong_owner', `${signer} is not an owner of owner Safe ${owner.address} (owners ${owner.owners.join(', ')})`, {
        details: { signer, ownerSafe: owner.address },
        hint: 'check --keystore and --index (`mofn key eth-address` shows its address), or --via',
      });
    }
    return signSafeTxForOwnerSafe(deriveEthereumPrivateKey(unlocked, index), owner.address, t.domain, t.tx);
  });
  if (out === undefined) {
    const contract = createNestedSafeSignature({ ownerSafe: owner, childDomain: t.domain, tx: t.tx, signatures: [partial] });
    printStored(io, await t.store(contract), owner, [partial.signer], opts.json);
    return;
  }
  writeOutput(out, formatSafeSignatureFile(partial));
  const more = owner.threshold - 1;
  if (opts.json) {
    io.out(toJson({ file: out, signer: partial.signer, ownerSafe: owner.address, messageHash: partial.safeTxHash, threshold: owner.threshold, more }));
    return;
  }
  io.out(`partial signature of ${partial.signer} for owner Safe ${owner.address} written to ${out} (SafeMessage hash ${partial.safeTxHash})`);
  io.out(`  1 of the ${owner.threshold} owner signature(s) owner Safe ${owner.address} needs${more > 0 ? `: ${more} more owner(s) of it sign the same way (mofn safe sign ${t.name} ${t.id} --via ${via} --keystore FILE --out FILE${t.flags})` : ''}`);
  io.out(`  then combine and store them: ${combineCommand(t, via, out)}`);
}

/**
 * Combines partial signature files into the owner Safe's contract signature and stores it. The owner
 * Safe as read on chain decides: partials of non-owners, of another proposal or Safe, duplicates and
 * too few are refused, and nothing is stored.
 * @throws NotReadyError `safe.not_enough_signatures`; InvalidInputError the codes of verifySafeSignature, `safe.duplicate_signer`
 */
async function combineVia(io: Io, t: NestedTarget, via: Address, files: readonly string[], json: boolean | undefined): Promise<void> {
  const partials = files.map((f) => parseSafeSignatureFile(readInput(f)));
  const owner = await readOwnerSafe(t, via);
  let contract: SafeSignature;
  try {
    contract = createNestedSafeSignature({ ownerSafe: owner, childDomain: t.domain, tx: t.tx, signatures: partials });
  } catch (cause) {
    if (cause instanceof NotReadyError && cause.code === 'safe.not_enough_signatures') {
      throw new NotReadyError('safe.not_enough_signatures', `owner Safe ${owner.address} needs ${owner.threshold} of its owners' signatures, the files hold ${partials.length}`, {
        cause,
        details: { have: partials.length, need: owner.threshold },
        hint: `collect ${owner.threshold - partials.length} more with mofn safe sign ${t.name} ${t.id} --via ${via} --keystore FILE --out FILE${t.flags}`,
      });
    }
    if (cause instanceof InvalidInputError && cause.hint === undefined) {
      throw new InvalidInputError(cause.code, cause.message, {
        cause,
        ...(cause.details === undefined ? {} : { details: cause.details }),
        hint: `each --file must be a partial signature of an owner of ${owner.address} for this proposal, as \`mofn safe sign ${t.name} ${t.id} --via ${via} --out FILE\` writes it`,
      });
    }
    throw cause;
  }
  const signedBy = partials.map((p) => parseEvmAddress('signer', p.signer));
  printStored(io, await t.store(contract), owner, signedBy, json);
}

/** The local proposal as a target; `ack` is checked (before any key or chain access) when given. */
async function localTarget(name: string, id: string, ack: readonly string[] | undefined): Promise<NestedTarget> {
  const review = await withStore((ctx) => reviewSafeProposal(ctx, { safe: name, id }));
  assertProposalOpen(review.proposal);
  if (ack !== undefined) assertReviewAcknowledged(review, ack);
  const pid = String(review.proposal.id);
  return {
    name,
    id: pid,
    domain: { chainId: review.safe.chainId, safeAddress: review.safe.address },
    tx: review.tx,
    signed: review.signatures.map((s) => s.owner),
    clients: await openSafeClients(review.safe),
    flags: '',
    store: (signature) => withStore((ctx) => addSafeSignature(ctx, { safe: name, id: pid, signature })),
  };
}

/** @throws InvalidInputError `option.rpc_required` */
function assertViaRpc(rpc: string | undefined, command: string): asserts rpc is string {
  if (rpc === undefined) {
    throw new InvalidInputError('option.rpc_required', `remote \`mofn safe ${command} --via\` reads the owner Safe on chain and needs the JSON-RPC URL of the Safe's chain`, {
      hint: 'add --rpc http://HOST:8545 (its chain id must be the proposal\'s)',
    });
  }
}

/** A proposal of the coordinator, checked here, as a target; the owner Safe is read through `rpc`, which must serve the proposal's chain. */
async function remoteTarget(name: string, c: CheckedSafeProposal, rpc: string, api: RemoteClient): Promise<NestedTarget> {
  const pid = String(c.view.id);
  return {
    name,
    id: pid,
    domain: c.domain,
    tx: c.tx,
    signed: c.view.signatures.map((s) => s.owner),
    clients: await createEvmClients(rpc, c.domain.chainId),
    flags: ' --rpc URL --server',
    store: async (sig) => parseAdded((await api.post<unknown>(`${proposalPath(name, pid)}/signatures`, signatureBody(c, sig))).body),
  };
}

/** `mofn safe sign NAME ID --via OWNER_SAFE`, locally or with --server. */
export async function signViaOwnerSafe(io: Io, name: string, id: string, opts: SignOptions & { via: string }): Promise<void> {
  const via = parseEvmAddress('--via', opts.via);
  const index = parseKeyIndex(opts.index);
  if (opts.server === undefined) {
    assertNoLocalRpc(opts.rpc);
    await signVia(io, await localTarget(name, id, opts.ack), via, index, opts);
    return;
  }
  assertViaRpc(opts.rpc, 'sign');
  const rpc = opts.rpc;
  // Review and acknowledgement are checked here before the password is asked, as for plain signing.
  const { api, c } = await fetchForSigning(io, name, id, opts);
  await signVia(io, await remoteTarget(name, c, rpc, api), via, index, opts);
}

/** `mofn safe add-signature NAME ID --via OWNER_SAFE --file P1 --file P2 ...`, locally or with --server. */
export async function addSignatureViaOwnerSafe(io: Io, name: string, id: string, opts: AddSignatureOptions & { via: string }): Promise<void> {
  const via = parseEvmAddress('--via', opts.via);
  if (opts.file.length === 0) throw new InvalidInputError('option.file_required', '`mofn safe add-signature --via` needs a --file for each partial signature', { hint: 'repeat --file, one per owner of the owner Safe' });
  if (opts.server === undefined) {
    assertNoLocalRpc(opts.rpc);
    await combineVia(io, await localTarget(name, id, undefined), via, opts.file, opts.json);
    return;
  }
  assertViaRpc(opts.rpc, 'add-signature');
  const rpc = opts.rpc;
  const api = remoteClient(serverUrlOf(opts));
  const c = await fetchSafeProposal(api, name, id);
  assertSignable(c);
  await combineVia(io, await remoteTarget(name, c, rpc, api), via, opts.file, opts.json);
}
