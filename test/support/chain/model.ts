/**
 * An in-memory Bitcoin chain for loopback backend servers: blocks of real transactions, a
 * mempool, reorganisations and replacements. Transactions are parsed with bitcoinjs-lib (not
 * mofn's own parser) and spends are checked by bitcore-lib's script interpreter, so the servers
 * judge what the code under test sends with implementations independent of it.
 */
import * as bitcoin from 'bitcoinjs-lib';
import { createHash } from 'node:crypto';
import { verifyWithBitcore } from '../bitcore.ts';

export interface ModelOutput {
  readonly script: Uint8Array;
  readonly scriptHex: string;
  readonly amount: bigint;
}

export interface ModelTx {
  readonly txid: string;
  readonly raw: Uint8Array;
  readonly hex: string;
  readonly inputs: readonly { readonly txid: string; readonly vout: number }[];
  readonly outputs: readonly ModelOutput[];
  readonly vsize: number;
  /** True for made-up funding transactions whose inputs are outside the model. */
  readonly external: boolean;
}

export interface HistoryItem {
  readonly txid: string;
  /** Block height; 0 in the mempool; -1 in the mempool with an unconfirmed parent (Electrum's convention). */
  readonly height: number;
}

export interface ModelUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly amount: bigint;
  readonly script: Uint8Array;
  /** 0 when unconfirmed. */
  readonly height: number;
}

export type AcceptResult = { readonly allowed: true; readonly txid: string; readonly vsize: number; readonly fee: bigint } | { readonly allowed: false; readonly txid: string; readonly reason: string };

export type TxState = { readonly state: 'confirmed'; readonly height: number } | { readonly state: 'mempool' } | { readonly state: 'unknown' };

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Electrum script hash: sha256 reversed (computed here independently of mofn). */
export function electrumHashOf(script: Uint8Array): string {
  return hexOf(sha256(script).reverse());
}
/** Esplora script hash: sha256 in natural order. */
export function esploraHashOf(script: Uint8Array): string {
  return hexOf(sha256(script));
}

/** Parses a raw transaction with bitcoinjs-lib. */
export function parseModelTx(raw: Uint8Array, external = false): ModelTx {
  const tx = bitcoin.Transaction.fromBuffer(Buffer.from(raw));
  return {
    txid: tx.getId(),
    raw: new Uint8Array(raw),
    hex: hexOf(raw),
    inputs: tx.ins.map((i) => ({ txid: hexOf(Buffer.from(i.hash).reverse()), vout: i.index })),
    outputs: tx.outs.map((o) => ({ script: new Uint8Array(o.script), scriptHex: hexOf(o.script), amount: o.value })),
    vsize: tx.virtualSize(),
    external,
  };
}

interface ChainIndex {
  readonly version: number;
  readonly byScript: Map<string, Set<string>>;
  readonly scriptOf: Map<string, string>;
  readonly spentBy: Map<string, string>;
  readonly position: Map<string, number>;
}

interface Block {
  readonly height: number;
  readonly hash: string;
  readonly txids: readonly string[];
}

/** See the module comment. */
export class ChainModel {
  /** Blocks above `baseHeight`; the chain below is empty filler. */
  private blocks: Block[] = [];
  readonly baseHeight: number;
  private readonly txs = new Map<string, ModelTx>();
  private readonly heightOf = new Map<string, number>();
  private mempool = new Set<string>();
  private version = 0;
  private index: ChainIndex | undefined;
  private readonly listeners: (() => void)[] = [];
  /** Fee estimates in sat/vB by target. */
  feeRates: Record<number, number> = { 1: 25.5, 2: 20.1, 3: 15, 6: 8.4, 12: 4.2, 25: 2.0, 144: 1.0, 1008: 1.0 };
  /** Whether spends are checked with bitcore's interpreter (off for bulk test chains). */
  verifyScripts = true;

  constructor(baseHeight = 800) {
    this.baseHeight = baseHeight;
  }

  get tipHeight(): number {
    return this.baseHeight + this.blocks.length;
  }

  /** A fake 80-byte header for a height (Electrum's headers.subscribe wants hex). */
  headerHex(height: number): string {
    const h = Buffer.alloc(80);
    h.writeUInt32LE(0x20000000, 0);
    sha256(Buffer.from(`block-${height}-${this.blocks[height - this.baseHeight - 1]?.hash ?? ''}`)).copy(h, 4);
    h.writeUInt32LE(height, 68);
    return h.toString('hex');
  }

  /** Called after every change (new tx, block, reorg). */
  onChange(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  private changed(): void {
    this.version++;
    for (const l of [...this.listeners]) l();
  }

  tx(txid: string): ModelTx | undefined {
    return this.txs.get(txid);
  }

  state(txid: string): TxState {
    const h = this.heightOf.get(txid);
    if (h !== undefined) return { state: 'confirmed', height: h };
    return this.mempool.has(txid) ? { state: 'mempool' } : { state: 'unknown' };
  }

  /** Every transaction in the best chain or the mempool. */
  liveTxids(): string[] {
    return [...this.blocks.flatMap((b) => b.txids), ...this.mempool];
  }

  /** Adds a funding transaction whose inputs are outside the model (made-up outpoints). */
  fund(raw: Uint8Array): ModelTx {
    const tx = parseModelTx(raw, true);
    this.txs.set(tx.txid, tx);
    this.mempool.add(tx.txid);
    this.changed();
    return tx;
  }

  /** Bulk funding without per-tx change notifications (large test chains). */
  fundMany(raws: readonly Uint8Array[]): ModelTx[] {
    const out = raws.map((raw) => {
      const tx = parseModelTx(raw, true);
      this.txs.set(tx.txid, tx);
      this.mempool.add(tx.txid);
      return tx;
    });
    this.changed();
    return out;
  }

  private spentByLive(): Map<string, string> {
    return this.buildIndex().spentBy;
  }

  private prevout(txid: string, vout: number): ModelOutput | undefined {
    const live = this.heightOf.has(txid) || this.mempool.has(txid);
    return live ? this.txs.get(txid)?.outputs[vout] : undefined;
  }

  /** What Bitcoin Core's testmempoolaccept would say (missing inputs, conflicts, scripts, fee). */
  testAccept(raw: Uint8Array, options: { allowReplacement?: boolean } = {}): AcceptResult {
    let tx: ModelTx;
    try {
      tx = parseModelTx(raw);
    } catch {
      return { allowed: false, txid: '', reason: 'TX decode failed' };
    }
    if (this.heightOf.has(tx.txid) || this.mempool.has(tx.txid)) return { allowed: false, txid: tx.txid, reason: 'txn-already-known' };
    const spentBy = this.spentByLive();
    const prevouts: ModelOutput[] = [];
    for (const i of tx.inputs) {
      const p = this.prevout(i.txid, i.vout);
      if (p === undefined) return { allowed: false, txid: tx.txid, reason: 'bad-txns-inputs-missingorspent' };
      const spender = spentBy.get(`${i.txid}:${i.vout}`);
      if (spender !== undefined) {
        if (this.heightOf.has(spender)) return { allowed: false, txid: tx.txid, reason: 'bad-txns-inputs-missingorspent' };
        if (!options.allowReplacement) return { allowed: false, txid: tx.txid, reason: 'txn-mempool-conflict' };
      }
      prevouts.push(p);
    }
    const fee = prevouts.reduce((s, p) => s + p.amount, 0n) - tx.outputs.reduce((s, o) => s + o.amount, 0n);
    if (fee < 0n) return { allowed: false, txid: tx.txid, reason: 'bad-txns-in-belowout' };
    if (this.verifyScripts) {
      const verdicts = verifyWithBitcore(tx.hex, prevouts.map((p) => ({ scriptPubKey: p.script, amount: p.amount })));
      const bad = verdicts.find((v) => !v.ok);
      if (bad !== undefined) return { allowed: false, txid: tx.txid, reason: `mandatory-script-verify-flag-failed (${bad.error ?? 'script failed'})` };
    }
    return { allowed: true, txid: tx.txid, vsize: tx.vsize, fee };
  }

  /**
   * Accepts a spend into the mempool like sendrawtransaction, or returns why not. A spend of an
   * output already spent in the mempool replaces that spender (and its descendants) when it pays
   * a higher absolute fee (BIP-125 rule 3; full-RBF, as Bitcoin Core 28 does by default).
   * With `dryRun`, only judges (testmempoolaccept).
   */
  submit(raw: Uint8Array, options: { dryRun?: boolean } = {}): AcceptResult {
    const verdict = this.testAccept(raw, { allowReplacement: true });
    if (!verdict.allowed) return verdict;
    const tx = parseModelTx(raw);
    const spentBy = this.spentByLive();
    const conflicts = new Set(tx.inputs.map((i) => spentBy.get(`${i.txid}:${i.vout}`)).filter((t): t is string => t !== undefined));
    for (const c of conflicts) {
      const old = this.txs.get(c)!;
      const oldFee = old.inputs.reduce((s, i) => s + (this.prevout(i.txid, i.vout)?.amount ?? 0n), 0n) - old.outputs.reduce((s, o) => s + o.amount, 0n);
      if (verdict.fee <= oldFee) return { allowed: false, txid: tx.txid, reason: `insufficient fee, rejecting replacement ${tx.txid}` };
    }
    if (options.dryRun) return verdict;
    for (const c of conflicts) this.evict(c);
    this.txs.set(tx.txid, tx);
    this.mempool.add(tx.txid);
    this.changed();
    return verdict;
  }

  private evict(txid: string): void {
    if (!this.mempool.delete(txid)) return;
    for (const child of [...this.mempool]) if (this.txs.get(child)!.inputs.some((i) => i.txid === txid)) this.evict(child);
  }

  /** Mines a block with every mempool transaction (or those given); returns its height. */
  mine(txids?: readonly string[]): number {
    const take = txids === undefined ? [...this.mempool] : txids.filter((t) => this.mempool.has(t));
    for (const t of take) this.mempool.delete(t);
    const height = this.tipHeight + 1;
    const hash = sha256(Buffer.from(`${height}:${take.join(',')}:${this.version}`)).toString('hex');
    this.blocks.push({ height, hash, txids: take });
    for (const t of take) this.heightOf.set(t, height);
    this.changed();
    return height;
  }

  /** Mines `n` empty blocks. */
  mineEmpty(n: number): void {
    for (let i = 0; i < n; i++) this.mine([]);
  }

  /**
   * Drops the last block (a one-block reorganisation). Its transactions go back to the mempool
   * unless `dropTransactions`, which models a competing block that conflicts with them.
   */
  reorg(options: { dropTransactions?: boolean } = {}): void {
    const block = this.blocks.pop();
    if (block === undefined) throw new Error('no block to drop');
    for (const t of block.txids) this.heightOf.delete(t);
    if (!options.dropTransactions) this.mempool = new Set([...block.txids, ...this.mempool]);
    this.changed();
  }

  private buildIndex(): ChainIndex {
    if (this.index?.version === this.version) return this.index;
    const byScript = new Map<string, Set<string>>();
    const scriptOf = new Map<string, string>();
    const spentBy = new Map<string, string>();
    const add = (scriptHex: string, txid: string): void => {
      let s = byScript.get(scriptHex);
      if (s === undefined) {
        s = new Set();
        byScript.set(scriptHex, s);
        const script = Buffer.from(scriptHex, 'hex');
        scriptOf.set(`e:${electrumHashOf(script)}`, scriptHex);
        scriptOf.set(`s:${esploraHashOf(script)}`, scriptHex);
      }
      s.add(txid);
    };
    const live = this.liveTxids();
    const position = new Map(live.map((t, i) => [t, i]));
    for (const txid of live) {
      const tx = this.txs.get(txid)!;
      for (const o of tx.outputs) add(o.scriptHex, txid);
      if (tx.external) continue;
      for (const i of tx.inputs) {
        spentBy.set(`${i.txid}:${i.vout}`, txid);
        const prev = this.txs.get(i.txid)?.outputs[i.vout];
        if (prev !== undefined) add(prev.scriptHex, txid);
      }
    }
    this.index = { version: this.version, byScript, scriptOf, spentBy, position };
    return this.index;
  }

  /** The script (hex) behind an Electrum (`e`) or Esplora (`s`) script hash, if the chain has seen it. */
  scriptOfHash(kind: 'e' | 's', hash: string): string | undefined {
    return this.buildIndex().scriptOf.get(`${kind}:${hash}`);
  }

  /** Transactions touching a script: confirmed by height and block order, then the mempool. */
  history(scriptHex: string): HistoryItem[] {
    const { byScript, position: pos } = this.buildIndex();
    const set = byScript.get(scriptHex);
    if (set === undefined) return [];
    return [...set]
      .sort((a, b) => pos.get(a)! - pos.get(b)!)
      .map((txid) => {
        const h = this.heightOf.get(txid);
        if (h !== undefined) return { txid, height: h };
        const unconfirmedParent = this.txs.get(txid)!.inputs.some((i) => this.mempool.has(i.txid));
        return { txid, height: unconfirmedParent ? -1 : 0 };
      });
  }

  /** Unspent outputs paying a script (mempool included; outputs spent in the mempool excluded). */
  utxos(scriptHex: string): ModelUtxo[] {
    const spentBy = this.buildIndex().spentBy;
    const out: ModelUtxo[] = [];
    for (const { txid } of this.history(scriptHex)) {
      const tx = this.txs.get(txid)!;
      tx.outputs.forEach((o, vout) => {
        if (o.scriptHex === scriptHex && !spentBy.has(`${txid}:${vout}`)) out.push({ txid, vout, amount: o.amount, script: o.script, height: this.heightOf.get(txid) ?? 0 });
      });
    }
    return out;
  }

  /** Electrum's status of a script: sha256 of `txid:height:` for each history item, or null. */
  electrumStatus(scriptHex: string): string | null {
    const h = this.history(scriptHex);
    if (h.length === 0) return null;
    return sha256(Buffer.from(h.map((i) => `${i.txid}:${i.height}:`).join(''))).toString('hex');
  }

  /** The fee rate (sat/vB) for a target: that of the largest known target not above it. */
  feeRate(target: number): number | undefined {
    const keys = Object.keys(this.feeRates).map(Number).sort((a, b) => a - b);
    const k = [...keys].reverse().find((t) => t <= target) ?? keys[0];
    return k === undefined ? undefined : this.feeRates[k];
  }
}
