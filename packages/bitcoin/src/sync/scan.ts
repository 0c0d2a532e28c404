/**
 * Wallet sync over the chain-backend port: a gap-limit scan of the receive (/0) and change (/1)
 * chains, then the wallet's view of the transactions found (UTXOs, history with net amounts and
 * fees, address reuse).
 *
 * Round trips are what a scan costs on a remote server, so each round asks for a full batch of
 * scripts: first those the gap rule requires, then, speculatively, the next indexes of chains that
 * are still finding coins; and it fetches the transactions found in the previous round in the same
 * round. Speculation never changes the result: an address counts as used only if a sequential
 * scan would have reached it (at most `gap` unused indexes after the previous used one).
 */
import { InvalidInputError } from '@mofn/core';
import { scriptToAddress } from '../address.ts';
import type { AddressDeriver } from '../wallet/deriver.ts';
import type { Branch, WalletUtxo } from '../types.ts';
import { toHex } from '../tx/bytes.ts';
import { transactionVsize, type Transaction } from '../tx/transaction.ts';
import type { ChainBackend, ScriptHistoryEntry } from '../backend/port.ts';
import { parseCheckedTransaction } from '../backend/verify.ts';

/** Progress of a sync, for a progress bar: `done` of `total` requests (the total grows as coins are found). */
export interface SyncProgress {
  readonly done: number;
  readonly total: number;
  /** Scripts checked so far (both chains). */
  readonly scriptsChecked: number;
  /** Transactions fetched so far. */
  readonly transactionsFetched: number;
}

/** Options of {@link syncWallet}. */
export interface SyncOptions {
  /** Unused addresses after the last used one before a chain is considered exhausted (default 20). */
  readonly gap?: number;
  /** Scripts asked per round (default 100); transactions found ride along in the same round. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: SyncProgress) => void;
}

/** A used address of the wallet. */
export interface UsedAddress {
  readonly branch: Branch;
  readonly index: number;
  readonly address: string;
  readonly scriptPubKey: Uint8Array;
  /** Transactions touching it (paying or spending), oldest first. */
  readonly txids: readonly string[];
  /** Total received by it over its history, in satoshis. */
  readonly received: bigint;
  /** Paid by more than one transaction: a privacy leak worth showing. */
  readonly reused: boolean;
}

/** A spendable output of the wallet, with its previous transaction (verified against its txid). */
export interface SyncedUtxo extends WalletUtxo {
  readonly prevTx: Uint8Array;
  readonly address: string;
  /** Confirming height, 0 while in the mempool. */
  readonly height: number;
  readonly confirmations: number;
}

/** One transaction of the wallet's history. */
export interface WalletTransaction {
  readonly txid: string;
  /** Confirming height, 0 while in the mempool. */
  readonly height: number;
  readonly confirmations: number;
  /** Paid to the wallet's addresses. */
  readonly received: bigint;
  /** Spent from the wallet's outputs. */
  readonly sent: bigint;
  /** received - sent: positive for incoming, negative for outgoing (fee included). */
  readonly net: bigint;
  /** Fee, when the amount of every input is known (all inputs are the wallet's own outputs). */
  readonly fee?: bigint;
  readonly vsize: number;
}

/** Result of {@link syncWallet}. */
export interface SyncResult {
  readonly tipHeight: number;
  readonly gap: number;
  /** Used addresses, receive chain first, by index. */
  readonly addresses: readonly UsedAddress[];
  readonly utxos: readonly SyncedUtxo[];
  /** Oldest first, mempool last. */
  readonly history: readonly WalletTransaction[];
  readonly balance: { readonly confirmed: bigint; readonly unconfirmed: bigint };
  /** First receive index after the last used one. */
  readonly nextReceiveIndex: number;
  readonly nextChangeIndex: number;
  readonly stats: { readonly rounds: number; readonly scriptsChecked: number; readonly transactionsFetched: number };
}

const BRANCHES: readonly Branch[] = [0, 1];
const MAX_GAP = 100_000;

/** Per-chain scan state. */
interface Chain {
  /** Next index not yet asked for. */
  scanned: number;
  /** Last used index a sequential scan would have reached (-1: none). */
  lastUsed: number;
  /** Histories and scripts of used indexes, accepted or not yet reached. */
  readonly used: Map<number, { readonly history: readonly ScriptHistoryEntry[]; readonly script: Uint8Array }>;
}

function positiveInt(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new InvalidInputError('sync.bad_option', `${name} ${String(value)} must be an integer in 1..${max}`);
  return value;
}

/** How many scripts of each chain to ask for this round. */
function allocate(chains: readonly Chain[], gap: number, budget: number): number[] {
  const need = chains.map((c) => Math.max(0, c.lastUsed + gap + 1 - c.scanned));
  const open = need.filter((n) => n > 0).length;
  if (open === 0) return need;
  const take = need.map(() => 0);
  let left = budget;
  // Required indexes first (split fairly when they do not all fit)...
  for (let pass = 0; pass < 2 && left > 0; pass++) {
    const share = Math.max(1, Math.floor(left / open));
    for (let b = 0; b < need.length && left > 0; b++) {
      const add = Math.min(need[b]! - take[b]!, share, left);
      take[b]! += add;
      left -= add;
    }
  }
  // ...then speculation on the chains still open: their next indexes are likely used too.
  if (left > 0) {
    const share = Math.floor(left / open);
    let extra = left - share * open;
    for (let b = 0; b < need.length; b++) {
      if (need[b] === 0) continue;
      take[b]! += share + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
    }
  }
  return take;
}

/**
 * Scans a wallet's receive and change chains with a gap limit and builds its UTXO set and history.
 * Amounts come only from transactions checked against their txids, never from the backend's claims.
 * @throws InvalidInputError `sync.bad_option`; BackendError from the backend
 * @example const { utxos, nextReceiveIndex } = await syncWallet(backend, createAddressDeriver(policy));
 */
export async function syncWallet(backend: ChainBackend, deriver: AddressDeriver, options: SyncOptions = {}): Promise<SyncResult> {
  const gap = positiveInt(options.gap ?? 20, 'gap', MAX_GAP);
  const batchSize = positiveInt(options.batchSize ?? 100, 'batchSize', 10_000);
  const chains: Chain[] = BRANCHES.map(() => ({ scanned: 0, lastUsed: -1, used: new Map() }));
  const txs = new Map<string, { raw: Uint8Array; tx: Transaction }>();
  const heights = new Map<string, number>();
  const pending = new Set<string>();
  let tip: number | undefined;
  let rounds = 0;
  let scriptsChecked = 0;

  /** Advances lastUsed as a sequential scan would, queueing the transactions of each address reached. */
  function advance(chain: Chain): void {
    for (;;) {
      let next = -1;
      for (let i = chain.lastUsed + 1; i <= chain.lastUsed + gap && i < chain.scanned; i++) {
        if (chain.used.has(i)) {
          next = i;
          break;
        }
      }
      if (next < 0) return;
      chain.lastUsed = next;
      for (const e of chain.used.get(next)!.history) {
        heights.set(e.txid, e.height);
        if (!txs.has(e.txid)) pending.add(e.txid);
      }
    }
  }

  const report = (need: number): void =>
    options.onProgress?.({ done: scriptsChecked + txs.size, total: scriptsChecked + need + txs.size + pending.size, scriptsChecked, transactionsFetched: txs.size });

  for (;;) {
    const take = allocate(chains, gap, batchSize);
    const ask = take.flatMap((n, b) => Array.from({ length: n }, (_, k) => ({ b, index: chains[b]!.scanned + k })));
    const fetch = [...pending].slice(0, batchSize * 4);
    if (ask.length === 0 && fetch.length === 0 && tip !== undefined) break;
    rounds++;
    const scripts = ask.map(({ b, index }) => deriver.scriptPubKeyAt(b as Branch, index));
    // One round: the histories, the transactions found last round, the tip (first round only).
    const [histories, raws, height] = await Promise.all([
      scripts.length > 0 ? backend.getHistories(scripts) : [],
      fetch.length > 0 ? backend.getTransactions(fetch) : [],
      tip === undefined ? backend.getTipHeight() : tip,
    ]);
    tip = height;
    fetch.forEach((txid, i) => {
      txs.set(txid, { raw: raws[i]!, tx: parseCheckedTransaction(backend.label, txid, raws[i]!) });
      pending.delete(txid);
    });
    ask.forEach(({ b, index }, i) => {
      const h = histories[i]!;
      if (h.length > 0) chains[b]!.used.set(index, { history: h, script: scripts[i]! });
    });
    take.forEach((n, b) => {
      chains[b]!.scanned += n;
      advance(chains[b]!);
    });
    scriptsChecked += ask.length;
    report(chains.reduce((s, c) => s + Math.max(0, c.lastUsed + gap + 1 - c.scanned), 0));
  }
  return buildResult(deriver, chains, txs, heights, tip, gap, { rounds, scriptsChecked, transactionsFetched: txs.size });
}

function buildResult(
  deriver: AddressDeriver,
  chains: readonly Chain[],
  txs: ReadonlyMap<string, { raw: Uint8Array; tx: Transaction }>,
  heights: ReadonlyMap<string, number>,
  tip: number,
  gap: number,
  stats: SyncResult['stats'],
): SyncResult {
  // The wallet's scripts: used addresses a sequential scan reaches.
  const ours = new Map<string, { branch: Branch; index: number; scriptPubKey: Uint8Array; history: readonly ScriptHistoryEntry[] }>();
  chains.forEach((chain, b) => {
    for (const [index, { history, script: scriptPubKey }] of [...chain.used].sort((x, y) => x[0] - y[0])) {
      if (index > chain.lastUsed) break;
      ours.set(toHex(scriptPubKey), { branch: b as Branch, index, scriptPubKey, history });
    }
  });
  const confirmationsAt = (height: number): number => (height > 0 ? Math.max(1, tip - height + 1) : 0);

  const spent = new Set<string>();
  for (const { tx } of txs.values()) for (const i of tx.inputs) spent.add(`${i.txid}:${i.vout}`);

  const receivedBy = new Map<string, { amount: bigint; txids: Set<string> }>();
  const history: WalletTransaction[] = [];
  const utxos: SyncedUtxo[] = [];
  const addressOf = new Map<string, string>();
  // From the script already derived: deriving the address again would cost N EC operations per address.
  const address = (key: string, script: Uint8Array): string => {
    let a = addressOf.get(key);
    if (a === undefined) {
      a = scriptToAddress(script, deriver.policy.network);
      addressOf.set(key, a);
    }
    return a;
  };

  for (const [txid, { raw, tx }] of txs) {
    const height = heights.get(txid) ?? 0;
    let received = 0n;
    tx.outputs.forEach((o, vout) => {
      const key = toHex(o.script);
      const mine = ours.get(key);
      if (mine === undefined) return;
      received += o.amount;
      const r = receivedBy.get(key) ?? { amount: 0n, txids: new Set<string>() };
      r.amount += o.amount;
      r.txids.add(txid);
      receivedBy.set(key, r);
      if (!spent.has(`${txid}:${vout}`)) {
        utxos.push({ txid, vout, amount: o.amount, branch: mine.branch, index: mine.index, prevTx: raw, address: address(key, mine.scriptPubKey), height, confirmations: confirmationsAt(height) });
      }
    });
    let sent = 0n;
    let inputsKnown = 0n;
    let allKnown = true;
    for (const input of tx.inputs) {
      const prev = txs.get(input.txid)?.tx.outputs[input.vout];
      if (prev === undefined) {
        allKnown = false;
        continue;
      }
      inputsKnown += prev.amount;
      if (ours.has(toHex(prev.script))) sent += prev.amount;
    }
    const outputs = tx.outputs.reduce((s, o) => s + o.amount, 0n);
    history.push({
      txid,
      height,
      confirmations: confirmationsAt(height),
      received,
      sent,
      net: received - sent,
      ...(allKnown ? { fee: inputsKnown - outputs } : {}),
      vsize: transactionVsize(tx),
    });
  }

  const rank = (h: number): number => (h === 0 ? Infinity : h);
  history.sort((a, b) => rank(a.height) - rank(b.height) || (a.txid < b.txid ? -1 : 1));
  utxos.sort((a, b) => rank(a.height) - rank(b.height) || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
  const addresses: UsedAddress[] = [...ours].map(([key, m]) => {
    const r = receivedBy.get(key);
    return {
      branch: m.branch,
      index: m.index,
      address: address(key, m.scriptPubKey),
      scriptPubKey: m.scriptPubKey,
      txids: m.history.map((h) => h.txid),
      received: r?.amount ?? 0n,
      reused: (r?.txids.size ?? 0) > 1,
    };
  });
  let confirmed = 0n;
  let unconfirmed = 0n;
  for (const u of utxos) {
    if (u.height > 0) confirmed += u.amount;
    else unconfirmed += u.amount;
  }
  return {
    tipHeight: tip,
    gap,
    addresses,
    utxos,
    history,
    balance: { confirmed, unconfirmed },
    nextReceiveIndex: chains[0]!.lastUsed + 1,
    nextChangeIndex: chains[1]!.lastUsed + 1,
    stats,
  };
}
