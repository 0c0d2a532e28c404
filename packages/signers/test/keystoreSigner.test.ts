/**
 * The keystore behind the signer port: two keystores co-sign a 2-of-3 PSBT; signatures are
 * checked and the transaction finalized by bitcoinjs-lib (independent of mofn's PSBT code).
 */
import { describe, expect, it } from 'vitest';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { SigningRefusedError } from '@mofn/core';
import { createAddressDeriver, createPolicy, createPsbt, defaultAccountPath, extractTransaction, finalizePsbt, parsePsbt, serializePsbt } from '@mofn/bitcoin';
import type { MultisigPolicy, ScriptType } from '@mofn/bitcoin';
import { testCosigner } from '../../../test/support/cosigners.ts';
import { fundingTransaction } from '../../../test/support/funding.ts';
import { createKeystore, createKeystoreSigner, keystoreXpub, lockKeystore, unlockKeystore } from '../src/index.ts';
import type { BitcoinSigner, UnlockedKeystore } from '../src/index.ts';

const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 };
const MNEMONICS = [
  'legal winner thank year wave sausage worth useful legal winner thank yellow',
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage above',
];

async function unlocked(mnemonic: string, network: 'main' | 'test' = 'test'): Promise<UnlockedKeystore> {
  return unlockKeystore(await createKeystore({ mnemonic, password: 'pw', network, kdf: FAST_KDF }), 'pw');
}

async function setup(type: ScriptType) {
  const keystores = await Promise.all(MNEMONICS.map((m) => unlocked(m)));
  const other = testCosigner('signer-test-third', { path: type === 'sh' ? "m/45'" : type === 'sh-wsh' ? "m/48'/1'/0'/1'" : "m/48'/1'/0'/2'" });
  const keys = [...keystores.map((k) => keystoreXpub(k, defaultAccountPath(type, 'test'))), other.key];
  const policy = createPolicy({ type, threshold: 2, keys, network: 'test' });
  const deriver = createAddressDeriver(policy);
  const funding = fundingTransaction([
    { address: deriver.derive(0, 0).address, amount: 150_000n, network: 'test' },
    { address: deriver.derive(0, 3).address, amount: 80_000n, network: 'test' },
  ]);
  const utxos = [
    { txid: funding.txid, vout: 0, amount: 150_000n, branch: 0 as const, index: 0, prevTx: funding.raw },
    { txid: funding.txid, vout: 1, amount: 80_000n, branch: 0 as const, index: 3, prevTx: funding.raw },
  ];
  const payTo = testCosigner('signer-test-payee');
  const payee = bitcoin.payments.p2wpkh({ pubkey: payTo.account.deriveChild(0).publicKey!, network: bitcoin.networks.testnet }).address!;
  const { psbt } = createPsbt(deriver, { utxos, payments: [{ address: payee, amount: 200_000n }], feeRate: 2, changeIndex: 0, coinSelection: 'all' });
  return { keystores, policy, psbt: serializePsbt(psbt) };
}

function validateAll(bytes: Uint8Array): boolean {
  return bitcoin.Psbt.fromBuffer(Buffer.from(bytes), { network: bitcoin.networks.testnet }).validateSignaturesOfAllInputs((pubkey, msghash, signature) =>
    ecc.verify(msghash, pubkey, signature),
  );
}

async function sign(signer: BitcoinSigner, psbt: Uint8Array, policy: MultisigPolicy): Promise<Uint8Array> {
  return signer.signPsbt(psbt, { policy });
}

describe.each(['wsh', 'sh-wsh', 'sh'] as const)('keystore signer, 2-of-3 %s', (type) => {
  it('each keystore adds one valid signature per input; two finalize to the same transaction bitcoinjs-lib builds', async () => {
    const { keystores, policy, psbt } = await setup(type);
    const [a, b] = keystores.map((k) => createKeystoreSigner(k));
    expect(a!.fingerprint).toBe(keystores[0]!.fingerprint);
    expect(a!.kind).toBe('software');

    const once = await sign(a!, psbt, policy);
    const parsed = parsePsbt(once);
    for (const input of parsed.inputs) expect(input.partialSigs).toHaveLength(1);
    expect(validateAll(once)).toBe(true);

    const twice = await sign(b!, once, policy);
    for (const input of parsePsbt(twice).inputs) expect(input.partialSigs).toHaveLength(2);
    expect(validateAll(twice)).toBe(true);

    const ours = extractTransaction(finalizePsbt(parsePsbt(twice), createAddressDeriver(policy)));
    const theirs = bitcoin.Psbt.fromBuffer(Buffer.from(twice), { network: bitcoin.networks.testnet }).finalizeAllInputs().extractTransaction();
    expect(ours.hex).toBe(theirs.toHex());

    // Signing again changes nothing (RFC 6979 signatures are deterministic, existing ones are kept).
    expect(Buffer.from(await sign(a!, once, policy)).equals(Buffer.from(once))).toBe(true);
  });
});

describe('keystore signer refusals', () => {
  it('refuses a wallet it is not part of, a wallet on another network, and after lockKeystore', async () => {
    const { keystores, policy, psbt } = await setup('wsh');
    const stranger = createKeystoreSigner(await unlocked('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'));
    await expect(sign(stranger, psbt, policy)).rejects.toMatchObject({ code: 'signing.not_a_cosigner' });

    const mainnet = createKeystoreSigner(await unlocked(MNEMONICS[0]!, 'main'));
    await expect(sign(mainnet, psbt, policy)).rejects.toBeInstanceOf(SigningRefusedError);
    await expect(sign(mainnet, psbt, policy)).rejects.toMatchObject({ code: 'signing.wrong_network' });

    const signer = createKeystoreSigner(keystores[0]!);
    lockKeystore(keystores[0]!);
    await expect(sign(signer, psbt, policy)).rejects.toMatchObject({ code: 'keystore.locked' });
  });

  it('rejects malformed PSBT bytes and an aborted request asynchronously', async () => {
    const { keystores, policy } = await setup('wsh');
    const signer = createKeystoreSigner(keystores[0]!);
    await expect(signer.signPsbt(new Uint8Array([1, 2, 3]), { policy })).rejects.toMatchObject({ code: expect.stringMatching(/^psbt\./) });
    const controller = new AbortController();
    controller.abort();
    await expect(signer.signPsbt(new Uint8Array(), { policy, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('enforces the fee cap it was given', async () => {
    const { keystores, policy, psbt } = await setup('wsh');
    const strict = createKeystoreSigner(keystores[0]!, { feeCap: { absolute: 10n } });
    await expect(sign(strict, psbt, policy)).rejects.toMatchObject({ code: 'signing.fee_too_high' });
  });
});
