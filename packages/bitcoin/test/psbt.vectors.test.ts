/**
 * Public PSBT vectors: BIP-174 (v0), BIP-370 (v2, converted to v0) and BIP-371 (taproot fields).
 * Every case of every list is run; invalid ones must be rejected with a typed InvalidPsbtError.
 */
import { InvalidPsbtError, SigningRefusedError, isMofnError } from '@mofn/core';
import { Transaction as ScureTransaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.ts';
import { hash160 } from '../src/hash.ts';
import { encodeDerSignature, masterFingerprint, parseDerivationPath, parseExtendedPrivateKey, parseWif } from '../src/keys/index.ts';
import {
  assertInputSignable,
  combinePsbts,
  extractTransaction,
  finalizePsbt,
  inputSighash,
  parsePsbt,
  psbtFromUnsignedTx,
  serializePsbt,
  type Psbt,
  type PsbtInput,
} from '../src/psbt/index.ts';
import { sortPartialSigs } from '../src/psbt/sign.ts';
import { secp } from '../src/secp.ts';
import { fromHex, toHex } from '../src/tx/bytes.ts';
import { p2shOutputScript, p2wshOutputScript, witnessProgramOf } from '../src/tx/script.ts';
import { parseTransaction, transactionId } from '../src/tx/transaction.ts';

interface Case {
  description: string;
  hex: string;
  base64: string;
}

const bip174 = readVectorJson<{
  invalid: Case[];
  valid: Case[];
  valid_but_fails_signer_checks: Case[];
  role_workflow: { master_key: { tprv: string }; steps: any[] };
  combiner_unknown_keys: { inputs: Case[]; expected: Case };
}>('BIP-174/bip174_test_vectors.json');
const bip370 = readVectorJson<{ invalid: Case[]; valid: Case[]; timelock_determination: (Case & { expected_locktime: number | null; locktime_computable: boolean })[] }>(
  'BIP-370/bip370_test_vectors.json',
);
const bip371 = readVectorJson<{ invalid: Case[]; valid: Case[] }>('BIP-371/bip371_test_vectors.json');

/** The error code an invalid case must produce, from what its description says is wrong. */
function expectedCode(description: string): string | RegExp {
  const d = description.toLowerCase();
  if (d.includes('not psbt format')) return 'psbt.bad_magic';
  if (d.includes('duplicate key')) return 'psbt.duplicate_key';
  if (d.includes('missing outputs')) return 'psbt.truncated';
  if (d.includes('filled scriptsig')) return 'psbt.unsigned_tx_not_empty';
  if (d.includes('without an unsigned tx')) return 'psbt.missing_unsigned_tx';
  if (d.includes('witness serialization format') || d.includes('not the stated size')) return 'psbt.invalid_value';
  if (d.includes('psbtv0 but with') || d.includes('psbtv2 but with')) return 'psbt.field_not_allowed';
  if (d.startsWith('psbtv2 missing')) return 'psbt.missing_field';
  if (d.includes('locktime')) return 'psbt.invalid_value';
  if (d.includes('typed key') || d.includes('key that is too long') || d.includes('control block')) return 'psbt.invalid_key';
  if (d.includes('signature that is too')) return 'psbt.invalid_value';
  return /^psbt\./;
}

function expectRejected(c: Case): void {
  for (const form of [c.hex, c.base64, fromHex(c.hex)]) {
    let err: unknown;
    try {
      parsePsbt(form);
    } catch (e) {
      err = e;
    }
    expect(err, c.description).toBeInstanceOf(InvalidPsbtError);
    const code = expectedCode(c.description);
    if (typeof code === 'string') expect((err as InvalidPsbtError).code, c.description).toBe(code);
    else expect((err as InvalidPsbtError).code, c.description).toMatch(code);
  }
}

describe('BIP-174 (PSBT v0)', () => {
  it.each(bip174.invalid.map((c) => [c.description, c] as const))('rejects: %s', (_d, c) => expectRejected(c));

  it.each([...bip174.valid, ...bip174.valid_but_fails_signer_checks].map((c) => [c.description, c] as const))(
    'parses and re-serializes byte for byte: %s',
    (_d, c) => {
      const fromHexForm = parsePsbt(c.hex);
      expect(toHex(serializePsbt(fromHexForm))).toBe(c.hex);
      expect(toHex(serializePsbt(parsePsbt(c.base64)))).toBe(c.hex);
    },
  );

  it.each(bip174.valid_but_fails_signer_checks.map((c) => [c.description, c] as const))('a signer refuses: %s', (_d, c) => {
    const psbt = parsePsbt(c.base64);
    const refusals = psbt.inputs.map((_, i) => {
      try {
        assertInputSignable(psbt, i);
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(SigningRefusedError);
        return (e as SigningRefusedError).code;
      }
    });
    expect(refusals.some((r) => r !== undefined)).toBe(true);
    const d = c.description.toLowerCase();
    const expected = d.includes('witness utxo is provided for a non-witness')
      ? 'signing.witness_utxo_non_witness'
      : d.startsWith('redeemscript')
        ? 'signing.redeem_script_mismatch'
        : 'signing.witness_script_mismatch';
    expect(refusals).toContain(expected);
  });

  describe('role workflow', () => {
    const steps = Object.fromEntries(bip174.role_workflow.steps.map((s) => [s.step, s]));
    const master = parseExtendedPrivateKey(bip174.role_workflow.master_key.tprv).node;
    const fingerprint = masterFingerprint(master);
    const hexOf = (p: Psbt): string => toHex(serializePsbt(p));
    const btcToSats = (s: string): bigint => {
      const [whole, frac = ''] = s.split('.');
      return BigInt(whole!) * 100_000_000n + BigInt(frac.padEnd(8, '0'));
    };

    const creator = (): Psbt =>
      psbtFromUnsignedTx({
        version: 2,
        locktime: 0,
        inputs: steps['creator'].inputs.map((i: any) => ({ txid: i.txid, vout: i.vout, sequence: 0xffffffff })),
        outputs: steps['creator'].outputs.map((o: any) => ({ amount: btcToSats(o.amount_btc), script: fromHex(o.scriptPubKey) })),
      });

    // The updater as the BIP describes it, from the given scripts, transactions and keys.
    const updater = (psbt: Psbt): Psbt => {
      const given = steps['updater'].given;
      const prevTxs = given.previous_transactions.map((h: string) => ({ raw: fromHex(h), tx: parseTransaction(h) }));
      const redeems: Uint8Array[] = given.redeem_scripts.map(fromHex);
      const witnesses: Uint8Array[] = given.witness_scripts.map(fromHex);
      const keys = given.public_keys.map((k: any) => ({ pubkey: fromHex(k.pubkey), fingerprint, path: parseDerivationPath(k.path) }));
      const contains = (script: Uint8Array, needle: Uint8Array): boolean => toHex(script).includes(toHex(needle));
      const inputs = psbt.inputs.map((input, i): PsbtInput => {
        const txin = psbt.tx.inputs[i]!;
        const prev = prevTxs.find((p: any) => transactionId(p.tx) === txin.txid)!;
        const out = prev.tx.outputs[txin.vout]!;
        const redeemScript = redeems.find((r) => toHex(p2shOutputScript(r)) === toHex(out.script));
        const segwit = redeemScript !== undefined && witnessProgramOf(redeemScript) !== undefined;
        const witnessScript = segwit ? witnesses.find((w) => toHex(p2wshOutputScript(w)) === toHex(redeemScript)) : undefined;
        const script = witnessScript ?? redeemScript!;
        return {
          ...input,
          ...(segwit ? { witnessUtxo: out } : { nonWitnessUtxo: prev.raw }),
          redeemScript: redeemScript!,
          ...(witnessScript === undefined ? {} : { witnessScript }),
          bip32Derivation: keys.filter((k: any) => contains(script, k.pubkey)).sort((a: any, b: any) => (toHex(a.pubkey) < toHex(b.pubkey) ? -1 : 1)),
        };
      });
      const outputs = psbt.outputs.map((o, i) => ({
        ...o,
        bip32Derivation: keys.filter((k: any) => toHex(witnessProgramOf(psbt.tx.outputs[i]!.script)!.program) === toHex(hash160(k.pubkey))),
      }));
      return { ...psbt, inputs, outputs };
    };

    const withSighash = (psbt: Psbt): Psbt => ({ ...psbt, inputs: psbt.inputs.map((i) => ({ ...i, sighashType: 1 })) });

    const signer = (psbt: Psbt, wifs: { wif: string }[]): Psbt => {
      const keys = wifs.map((k) => {
        const priv = parseWif(k.wif).privateKey;
        return { priv, pub: secp.publicKey(priv) };
      });
      const inputs = psbt.inputs.map((input, i) => {
        let sigs = [...input.partialSigs];
        for (const k of keys) {
          if (!input.bip32Derivation.some((d) => toHex(d.pubkey) === toHex(k.pub))) continue;
          assertInputSignable(psbt, i);
          const digest = inputSighash(psbt, i);
          sigs = [...sigs.filter((s) => toHex(s.pubkey) !== toHex(k.pub)), { pubkey: k.pub, signature: encodeDerSignature(secp.signEcdsa(digest, k.priv), 1) }];
        }
        return { ...input, partialSigs: sortPartialSigs(sigs) };
      });
      return { ...psbt, inputs };
    };

    const created = creator();
    const updated = updater(created);
    const sighashed = withSighash(updated);
    const signed1 = signer(sighashed, steps['signer_1'].signer_keys);
    const signed2 = signer(sighashed, steps['signer_2'].signer_keys);

    it('creator', () => expect(hexOf(created)).toBe(steps['creator'].expected.hex));
    it('updater', () => expect(hexOf(updated)).toBe(steps['updater'].expected.hex));
    it('updater adds SIGHASH_ALL', () => expect(hexOf(sighashed)).toBe(steps['updater_sighash'].expected.hex));
    it('signer 1 (RFC 6979)', () => expect(hexOf(signed1)).toBe(steps['signer_1'].expected.hex));
    it('signer 2 (RFC 6979)', () => expect(hexOf(signed2)).toBe(steps['signer_2'].expected.hex));
    it('combiner, in either order', () => {
      const expected = steps['combiner'].expected.hex;
      const a = parsePsbt(steps['signer_1'].expected.base64);
      const b = parsePsbt(steps['signer_2'].expected.base64);
      expect(hexOf(combinePsbts([a, b]))).toBe(expected);
      expect(hexOf(combinePsbts([b, a]))).toBe(expected);
    });
    it('finalizer (verifies every signature first)', () => {
      expect(hexOf(finalizePsbt(parsePsbt(steps['combiner'].expected.hex)))).toBe(steps['finalizer'].expected.hex);
    });
    it('extractor', () => {
      const tx = extractTransaction(parsePsbt(steps['finalizer'].expected.hex));
      expect(tx.hex).toBe(steps['extractor'].expected_tx_hex);
      expect(tx.txid).toBe(transactionId(parseTransaction(steps['extractor'].expected_tx_hex)));
    });
    it('finalizer rejects a tampered signature with psbt.bad_signature', () => {
      const combined = parsePsbt(steps['combiner'].expected.hex);
      const sig = combined.inputs[0]!.partialSigs[0]!;
      const tampered = sig.signature.slice();
      tampered[10] = tampered[10]! ^ 1;
      const bad: Psbt = { ...combined, inputs: combined.inputs.map((inp, i) => (i === 0 ? { ...inp, partialSigs: [{ ...sig, signature: tampered }, ...inp.partialSigs.slice(1)] } : inp)) };
      expect(() => finalizePsbt(bad)).toThrow(expect.objectContaining({ code: 'psbt.bad_signature' }));
    });
  });

  it('combiner orders unknown keys lexicographically', () => {
    const c = bip174.combiner_unknown_keys;
    const parsed = c.inputs.map((i) => parsePsbt(i.hex));
    expect(toHex(serializePsbt(combinePsbts(parsed)))).toBe(c.expected.hex);
    expect(toHex(serializePsbt(combinePsbts([...parsed].reverse())))).toBe(c.expected.hex);
  });
});

describe('BIP-370 (PSBT v2)', () => {
  it.each(bip370.invalid.map((c) => [c.description, c] as const))('rejects: %s', (_d, c) => expectRejected(c));

  it.each(bip370.valid.map((c) => [c.description, c] as const))('parses and converts to v0: %s', (_d, c) => {
    const psbt = parsePsbt(c.base64);
    // The v0 form is stable and equals what @scure/btc-signer converts it to, where scure can.
    const v0 = serializePsbt(psbt);
    expect(toHex(serializePsbt(parsePsbt(v0)))).toBe(toHex(v0));
    expect(psbt.global.version).toBeUndefined();
    let scure: string | undefined;
    try {
      scure = toHex(ScureTransaction.fromPSBT(fromHex(c.hex), { allowUnknownInputs: true, allowUnknownOutputs: true }).toPSBT(0));
    } catch {
      // scure refuses to write v0 when PSBT_IN_REQUIRED_*_LOCKTIME is present; our conversion applies it instead.
      expect(c.description).toMatch(/locktime|all PSBTv2 fields/i);
    }
    if (scure !== undefined) expect(toHex(v0)).toBe(scure);
  });

  it.each(bip370.timelock_determination.map((c) => [c.description, c] as const))('locktime determination: %s', (_d, c) => {
    if (c.locktime_computable) expect(parsePsbt(c.hex).tx.locktime).toBe(c.expected_locktime);
    else expect(() => parsePsbt(c.hex)).toThrow(expect.objectContaining({ code: 'psbt.locktime_conflict' }));
  });
});

describe('BIP-371 (taproot fields)', () => {
  it.each(bip371.invalid.map((c) => [c.description, c] as const))('rejects: %s', (_d, c) => {
    let err: unknown;
    try {
      parsePsbt(c.hex);
    } catch (e) {
      err = e;
    }
    expect(isMofnError(err)).toBe(true);
    const d = c.description;
    // "key that is too long (incorrectly serialized as compressed DER)" is a value for internal keys.
    const code = /INTERNAL_KEY/.test(d) || /signature that is too/.test(d) ? 'psbt.invalid_value' : 'psbt.invalid_key';
    expect((err as InvalidPsbtError).code, d).toBe(code);
  });

  it.each(bip371.valid.map((c) => [c.description, c] as const))('parses and re-serializes byte for byte: %s', (_d, c) => {
    const psbt = parsePsbt(c.hex);
    expect(toHex(serializePsbt(psbt))).toBe(c.hex);
    const hasTaproot = psbt.inputs.some((i) => i.tapInternalKey !== undefined || i.tapLeafScripts.length > 0) || psbt.outputs.some((o) => o.tapInternalKey !== undefined);
    expect(hasTaproot).toBe(true);
  });
});
