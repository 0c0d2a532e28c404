/**
 * W2 / W4 with mofn: createPolicy + createAddressDeriver, createPsbt (coinSelection 'all' at the
 * fixture's fee rate), and per cosigner parsePsbt + signPsbt({ root }) + serializePsbt, then
 * parsePsbt + combinePsbts, finalizePsbt (which verifies every signature), extractTransaction.
 * The coordinator builds and finalizes with its deriver; each signer builds its own wallet deriver
 * from the policy, as a cosigner's device would (a deriver's caches never serve another party).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { FEE_RATE, LOCKTIME, SEQUENCE, TX_VERSION, sha256Hex } from '../common/fixtures.ts';
import type { Cosigner, SpendFixture } from '../common/fixtures.ts';
import { PhaseTimer } from '../common/harness.ts';
import type { RunOutput } from '../common/harness.ts';
import { keyExpression, loadMofnModule } from './load.ts';
import type * as Keys from '../../packages/bitcoin/src/keys/index.ts';
import type * as Psbt from '../../packages/bitcoin/src/psbt/index.ts';
import type * as Wallet from '../../packages/bitcoin/src/wallet/index.ts';

/** The mofn modules a spend needs. */
export interface Mofn {
  readonly keys: typeof Keys;
  readonly wallet: typeof Wallet;
  readonly psbt: typeof Psbt;
}

/** Loads mofn (or reports it not available) and checks it sees the fixture's keys as the fixture does. */
export async function loadMofn(cosigners: readonly Cosigner[]): Promise<Mofn> {
  const keys = await loadMofnModule<typeof Keys>('keys/index.ts', [
    'hdNodeFromSeed', 'derivePrivatePath', 'neuterNode', 'encodeExtendedPublicKey', 'masterFingerprint',
  ]);
  const wallet = await loadMofnModule<typeof Wallet>('wallet/index.ts', ['createPolicy', 'createAddressDeriver']);
  const psbt = await loadMofnModule<typeof Psbt>('psbt/index.ts', [
    'createPsbt', 'signPsbt', 'combinePsbts', 'finalizePsbt', 'extractTransaction', 'parsePsbt', 'serializePsbt',
  ]);
  // Untimed cross-check: mofn's own BIP-32 must give the fixture's fingerprints and tpubs.
  for (const c of cosigners) {
    const master = keys.hdNodeFromSeed(c.seed);
    const tpub = keys.encodeExtendedPublicKey(keys.neuterNode(keys.derivePrivatePath(master, c.accountPath), 'test'), 'test');
    const fingerprint = keys.masterFingerprint(master);
    if (tpub !== c.tpub || fingerprint !== c.fingerprint) {
      throw new Error(`mofn derives cosigner ${c.index} as [${fingerprint}]${tpub}, expected [${c.fingerprint}]${c.tpub}`);
    }
  }
  return { keys, wallet, psbt };
}

function deriverOf(m: Mofn, fx: SpendFixture): Wallet.AddressDeriver {
  const policy = m.wallet.createPolicy({
    type: fx.kind,
    threshold: fx.threshold,
    keys: fx.cosigners.map(keyExpression),
    network: 'test',
    sorted: true,
  });
  return m.wallet.createAddressDeriver(policy);
}

/** One full run: build, sign (each signer parses, HD-signs, serializes), combine, finalize, extract. */
export function runSpend(m: Mofn, fx: SpendFixture): RunOutput & { readonly raw: Uint8Array } {
  const { psbt } = m;
  const timer = new PhaseTimer();
  const coordinator = deriverOf(m, fx);
  const created = psbt.createPsbt(coordinator, {
    utxos: fx.utxos.map((u) => ({ txid: u.txid, vout: u.vout, amount: u.amount, branch: 0, index: u.index })),
    payments: [{ address: fx.paymentAddress, amount: fx.paymentAmount }],
    feeRate: FEE_RATE,
    changeIndex: fx.changeIndex,
    rbf: true,
    locktime: LOCKTIME,
    coinSelection: 'all',
    // 800 inputs (the scaling target) weigh ~447,000 WU, above the 400,000 WU standardness limit createPsbt enforces by default.
    maxWeight: 500_000,
  });
  const unsigned = psbt.serializePsbt(created.psbt);
  timer.lap('build');
  // The shape every library must build (a few comparisons; negligible next to the phases).
  const tx = created.psbt.tx;
  if (created.fee !== fx.fee || created.change?.amount !== fx.changeAmount || tx.version !== TX_VERSION
    || tx.inputs.some((i) => i.sequence !== SEQUENCE) || tx.inputs.length !== fx.utxos.length) {
    throw new Error(`mofn built a different spend: fee ${created.fee} (fixture ${fx.fee}), change ${created.change?.amount} (fixture ${fx.changeAmount}), version ${tx.version}, ${tx.inputs.length} inputs`);
  }

  const signed = fx.signers.map((s) => {
    const own = psbt.parsePsbt(unsigned);
    const root = m.keys.hdNodeFromSeed(fx.cosigners[s]!.seed);
    const result = psbt.signPsbt(own, deriverOf(m, fx), { root });
    if (result.signedInputs.length !== fx.utxos.length) {
      throw new Error(`mofn: signer ${s} signed ${result.signedInputs.length} of ${fx.utxos.length} inputs`);
    }
    return psbt.serializePsbt(result.psbt);
  });
  timer.lap('sign');

  const combined = psbt.combinePsbts(signed.map((b) => psbt.parsePsbt(b)));
  timer.lap('combine');
  const finalized = psbt.finalizePsbt(combined, coordinator);
  timer.lap('finalize');
  const extracted = psbt.extractTransaction(finalized);
  const raw = extracted.bytes;
  timer.lap('extract');
  if (bytesToHex(raw) !== extracted.hex) throw new Error('mofn: extracted hex and bytes differ');
  return { raw, digest: sha256Hex(raw), phases: timer.phases, info: { txid: extracted.txid, bytes: raw.length } };
}
