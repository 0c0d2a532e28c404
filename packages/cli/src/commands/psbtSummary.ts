import { formatBtc } from '@mofn/core';
import type { PsbtSummary } from '@mofn/bitcoin';

function sats(amount: bigint | undefined): string {
  return amount === undefined ? 'unknown' : `${amount.toLocaleString('en-US')} sats (${formatBtc(amount)} BTC)`;
}

/** The human review of a PSBT: what leaves the wallet, what comes back, the fee, who signed. */
export function formatSummary(walletName: string, s: PsbtSummary): string {
  const lines: string[] = [];
  lines.push(`PSBT spending from wallet '${walletName}' (${s.threshold} signatures required)`);
  lines.push(`txid ${s.txid}${s.rbf ? '  (replaceable: RBF)' : ''}`);
  lines.push('', 'inputs:');
  for (const i of s.inputs) {
    const where = i.wallet ? `wallet ${i.wallet.branch === 0 ? 'receive' : 'change'}/${i.wallet.index}` : `NOT THIS WALLET${i.mismatch ? `: ${i.mismatch}` : ''}`;
    lines.push(`  #${i.index} ${i.txid}:${i.vout}  ${sats(i.amount)}  ${where}  signatures ${i.signatures}/${i.threshold}${i.finalized ? ' (final)' : ''}`);
  }
  lines.push('', 'outputs:');
  for (const o of s.outputs) {
    const kind = o.change ? `CHANGE (verified: change/${o.wallet?.index ?? '?'})` : o.kind === 'internal receive' ? `to this wallet's receive/${o.wallet?.index ?? '?'}` : 'PAYMENT';
    lines.push(`  #${o.index} ${o.address ?? `script ${o.script}`}  ${sats(o.amount)}  ${kind}${o.mismatch ? `  (${o.mismatch})` : ''}`);
  }
  lines.push('');
  lines.push(`sent      ${sats(s.sent)}`);
  lines.push(`change    ${sats(s.change)}`);
  lines.push(`fee       ${sats(s.fee)}${s.feeRate === undefined ? '' : `, ${s.feeRate} sat/vB`} (${s.vsizeIsEstimate ? 'estimated ' : ''}${s.vsize} vB)`);
  lines.push('', 'cosigners:');
  for (const c of s.cosigners) {
    const state = c.missing.length === 0 ? 'signed all inputs' : c.signed.length === 0 ? 'not signed' : `signed ${c.signed.length}, missing inputs ${c.missing.join(', ')}`;
    lines.push(`  #${c.cosigner + 1} ${c.fingerprint}  ${state}`);
  }
  lines.push('', s.finalized ? 'status: finalized' : s.readyToFinalize ? 'status: ready to finalize' : 'status: collecting signatures');
  for (const w of s.warnings) lines.push(`WARNING: ${w}`);
  return lines.join('\n');
}
