import { InvalidInputError, NotFoundError, parseSats } from '@mofn/core';
import {
  addressToScript,
  combinePsbts,
  createPsbt,
  extractTransaction,
  finalizePsbt,
  inspectPsbt,
  parsePsbt,
  parseTransaction,
  signPsbt,
  transactionId,
  type Branch,
  type HDPrivateNode,
  type Payment,
  type Psbt,
  type WalletUtxo,
} from '@mofn/bitcoin';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ServiceContext } from './context.ts';
import { assertKnownOutpoints, rememberOutpoints, type ClaimedOutpoint } from './outpoints.ts';
import { listWallets, loadWallet, type LoadedWallet } from './wallets.ts';

/** A coin to spend as the user describes it: outpoint, amount, and the previous tx or the address. */
export interface UtxoSpec {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly prevTx?: Uint8Array;
  readonly address?: string;
}

const TXID_RE = /^[0-9a-f]{64}$/;

/**
 * Parses `TXID:VOUT:SATS[:RAWTXHEX|:ADDRESS]`.
 * @throws InvalidInputError `utxo.bad_spec`.
 */
export function parseUtxoSpec(text: string): UtxoSpec {
  const parts = text.trim().split(':');
  const bad = (why: string) =>
    new InvalidInputError('utxo.bad_spec', `--utxo '${text.slice(0, 90)}${text.length > 90 ? '...' : ''}': ${why}`, { hint: 'write TXID:VOUT:SATS[:RAWTXHEX or :ADDRESS]' });
  if (parts.length < 3 || parts.length > 4) throw bad('expected 3 or 4 fields separated by ":"');
  const [txid, vout, sats, extra] = parts as [string, string, string, string | undefined];
  if (!TXID_RE.test(txid.toLowerCase())) throw bad('TXID must be 64 hex characters');
  if (!/^[0-9]{1,10}$/.test(vout) || Number(vout) > 0xffffffff) throw bad('VOUT must be an output index');
  const amount = parseSats(sats);
  if (amount === 0n) throw bad('amount must be positive');
  const spec = { txid: txid.toLowerCase(), vout: Number(vout), amount };
  if (extra === undefined || extra === '') return spec;
  if (/^([0-9a-fA-F]{2}){60,}$/.test(extra)) return { ...spec, prevTx: hexToBytes(extra.toLowerCase()) };
  return { ...spec, address: extra };
}

/**
 * Parses `ADDRESS:SATS`.
 * @throws InvalidInputError `payment.bad_spec`.
 */
export function parsePaymentSpec(text: string): { address: string; amount: bigint } {
  const at = text.lastIndexOf(':');
  if (at <= 0) throw new InvalidInputError('payment.bad_spec', `--to '${text.slice(0, 90)}': expected ADDRESS:SATS`);
  const amount = parseSats(text.slice(at + 1));
  if (amount === 0n) throw new InvalidInputError('payment.bad_spec', `--to '${text.slice(0, 90)}': amount must be positive`);
  return { address: text.slice(0, at), amount };
}

/** The outpoints (with amount and script) a PSBT claims for its inputs. */
export function claimedOutpoints(psbt: Psbt): ClaimedOutpoint[] {
  const claims: ClaimedOutpoint[] = [];
  psbt.tx.inputs.forEach((input, i) => {
    const map = psbt.inputs[i]!;
    let prevOut = map.witnessUtxo;
    if (!prevOut && map.nonWitnessUtxo) prevOut = parseTransaction(map.nonWitnessUtxo).outputs[input.vout];
    if (prevOut) claims.push({ txid: input.txid, vout: input.vout, amount: prevOut.amount, scriptPubKey: bytesToHex(prevOut.script) });
  });
  return claims;
}

/**
 * Finds the stored wallet a PSBT spends from: the one that re-derives, from its own keys, the most
 * input scripts at the (branch, index) the PSBT's derivation paths name. Fingerprints alone are never
 * trusted (they are attacker-chosen text): a match is a script derived and compared.
 * @throws NotFoundError `psbt.wallet_not_found`.
 */
export async function findWalletForPsbt(ctx: ServiceContext, psbt: Psbt): Promise<LoadedWallet> {
  const claims = new Map(claimedOutpoints(psbt).map((c) => [`${c.txid}:${c.vout}`, c.scriptPubKey]));
  let best: { wallet: LoadedWallet; matches: number } | undefined;
  for (const view of await listWallets(ctx)) {
    const wallet = await loadWallet(ctx, view.id);
    let matches = 0;
    psbt.tx.inputs.forEach((input, i) => {
      const script = claims.get(`${input.txid}:${input.vout}`);
      if (script === undefined) return;
      const map = psbt.inputs[i]!;
      const candidates = new Set<string>();
      for (const d of [...map.bip32Derivation, ...map.tapBip32Derivation]) {
        const [branch, index] = d.path.slice(-2);
        if ((branch === 0 || branch === 1) && index !== undefined && index < 0x80000000) candidates.add(`${branch}/${index}`);
      }
      for (const c of candidates) {
        const [branch, index] = c.split('/').map(Number) as [Branch, number];
        if (bytesToHex(wallet.deriver.derive(branch, index).scriptPubKey) === script) {
          matches++;
          break;
        }
      }
    });
    if (matches > 0 && (!best || matches > best.matches)) best = { wallet, matches };
  }
  if (!best) {
    throw new NotFoundError('psbt.wallet_not_found', 'no stored wallet owns any input of this PSBT', {
      hint: 'import the wallet first (mofn wallet import FILE); mofn signs only for wallets it knows',
    });
  }
  return best.wallet;
}

/** Parameters of {@link createSpend}. */
export interface CreateSpendParams {
  readonly utxos: readonly UtxoSpec[];
  readonly payments: readonly { address: string; amount: bigint }[];
  readonly feeRate: number;
}

async function resolveUtxo(ctx: ServiceContext, wallet: LoadedWallet, spec: UtxoSpec): Promise<WalletUtxo> {
  let script: Uint8Array | undefined;
  if (spec.prevTx) {
    const tx = parseTransaction(spec.prevTx);
    const id = transactionId(tx);
    if (id !== spec.txid) {
      throw new InvalidInputError('utxo.prev_tx_mismatch', `the raw transaction given for ${spec.txid}:${spec.vout} hashes to ${id}`);
    }
    const out = tx.outputs[spec.vout];
    if (!out) throw new InvalidInputError('utxo.prev_tx_mismatch', `transaction ${spec.txid} has no output ${spec.vout}`);
    if (out.amount !== spec.amount) {
      throw new InvalidInputError('utxo.prev_tx_mismatch', `output ${spec.txid}:${spec.vout} holds ${out.amount} sats, not ${spec.amount}`);
    }
    script = out.script;
  } else if (spec.address !== undefined) {
    script = addressToScript(spec.address, wallet.view.network);
  } else {
    const known = await ctx.db.selectFrom('outpoints').select(['script_pubkey']).where('txid', '=', spec.txid).where('vout', '=', spec.vout).executeTakeFirst();
    if (known) script = hexToBytes(known.script_pubkey);
  }
  if (!script) {
    throw new InvalidInputError('utxo.unknown_script', `mofn does not know which address holds ${spec.txid}:${spec.vout}`, {
      hint: 'append the raw previous transaction hex (best) or the address: TXID:VOUT:SATS:RAWTX',
    });
  }
  const found = wallet.deriver.findScript?.(script, { gap: 10_000 });
  if (!found) {
    throw new InvalidInputError('utxo.not_in_wallet', `${spec.txid}:${spec.vout} is not paid to an address of wallet '${wallet.view.name}' (searched 10000 indexes per branch)`);
  }
  return { txid: spec.txid, vout: spec.vout, amount: spec.amount, branch: found.branch, index: found.index, ...(spec.prevTx ? { prevTx: spec.prevTx } : {}) };
}

/** Next change index: one past the highest change address this store handed out or spent to. */
async function nextChangeIndex(ctx: ServiceContext, walletId: string): Promise<number> {
  const row = await ctx.db.selectFrom('addresses').select((eb) => eb.fn.max('idx').as('max')).where('wallet_id', '=', walletId).where('branch', '=', 1).executeTakeFirst();
  return row?.max === null || row?.max === undefined ? 0 : row.max + 1;
}

/**
 * Builds an unsigned PSBT spending the given coins of a wallet, with change back to its next change
 * address, and remembers the input amounts.
 * @throws InvalidInputError for bad coins, InsufficientFundsError, ConflictError `outpoint.amount_mismatch`.
 */
export async function createSpend(ctx: ServiceContext, walletName: string, params: CreateSpendParams) {
  const wallet = await loadWallet(ctx, walletName);
  if (params.utxos.length === 0) throw new InvalidInputError('spend.no_utxos', 'no coins to spend', { hint: 'give at least one --utxo' });
  if (params.payments.length === 0) throw new InvalidInputError('spend.no_payments', 'no payments', { hint: 'give at least one --to ADDRESS:SATS' });
  const seen = new Set<string>();
  for (const u of params.utxos) {
    const key = `${u.txid}:${u.vout}`;
    if (seen.has(key)) throw new InvalidInputError('utxo.duplicate', `coin ${key} is listed twice`);
    seen.add(key);
  }
  const utxos: WalletUtxo[] = [];
  for (const spec of params.utxos) utxos.push(await resolveUtxo(ctx, wallet, spec));
  const payments: Payment[] = params.payments.map((p) => ({ address: p.address, amount: p.amount }));
  const changeIndex = await nextChangeIndex(ctx, wallet.view.id);
  const result = createPsbt(wallet.deriver, { utxos, payments, feeRate: params.feeRate, changeIndex });
  await rememberOutpoints(ctx, claimedOutpoints(result.psbt), wallet.view.id);
  if (result.change) {
    const change = wallet.deriver.derive(1, changeIndex);
    await ctx.db
      .insertInto('addresses')
      .values({ wallet_id: wallet.view.id, branch: 1, idx: changeIndex, address: change.address, script_pubkey: bytesToHex(change.scriptPubKey), created_at: ctx.now().toISOString() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return { wallet: wallet.view, ...result };
}

/**
 * Reviews a PSBT against the wallet it spends from: outputs (change verified), fee, who signed.
 * @throws NotFoundError `psbt.wallet_not_found`, ConflictError `outpoint.amount_mismatch`.
 */
export async function inspectSpend(ctx: ServiceContext, psbtInput: Uint8Array | string) {
  const psbt = parsePsbt(psbtInput);
  const wallet = await findWalletForPsbt(ctx, psbt);
  await assertKnownOutpoints(ctx, claimedOutpoints(psbt));
  return { wallet: wallet.view, summary: inspectPsbt(psbt, wallet.deriver) };
}

/**
 * Signs every input of the wallet this key cosigns, after the store's amount check and the
 * signer's own safety checks; remembers the input amounts.
 * @throws SigningRefusedError, ConflictError `outpoint.amount_mismatch`, NotFoundError `psbt.wallet_not_found`.
 */
export async function signSpend(ctx: ServiceContext, psbtInput: Uint8Array | string, root: HDPrivateNode) {
  const psbt = parsePsbt(psbtInput);
  const wallet = await findWalletForPsbt(ctx, psbt);
  const claims = claimedOutpoints(psbt);
  await assertKnownOutpoints(ctx, claims);
  const result = signPsbt(psbt, wallet.deriver, { root });
  await rememberOutpoints(ctx, claims, wallet.view.id);
  return { wallet: wallet.view, ...result };
}

/** Merges signatures of several copies of one PSBT. @throws InvalidPsbtError `psbt.mismatch` / `psbt.conflict`. */
export function combineSpends(inputs: readonly (Uint8Array | string)[]): Psbt {
  if (inputs.length === 0) throw new InvalidInputError('psbt.none', 'nothing to combine', { hint: 'give two or more PSBT files' });
  return combinePsbts(inputs.map((p) => parsePsbt(p)));
}

/**
 * Finalizes with exactly M signatures and extracts the raw transaction.
 * @throws NotReadyError `psbt.missing_signatures` naming the cosigners still missing.
 */
export async function finalizeSpend(ctx: ServiceContext, psbtInput: Uint8Array | string) {
  const psbt = parsePsbt(psbtInput);
  const wallet = await findWalletForPsbt(ctx, psbt);
  await assertKnownOutpoints(ctx, claimedOutpoints(psbt));
  const finalized = finalizePsbt(psbt, wallet.deriver);
  const tx = extractTransaction(finalized);
  return { wallet: wallet.view, psbt: finalized, tx };
}
