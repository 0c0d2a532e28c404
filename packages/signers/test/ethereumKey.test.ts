/**
 * Ethereum keys at m/44'/60'/0'/0/i from the keystore: addresses checked against public values (the BIP-39
 * "abandon ... about" and Hardhat/anvil "test ... junk" mnemonics, as every Ethereum wallet derives them)
 * and against viem's own HD derivation (an independent implementation: @scure/bip32) on more indices;
 * SafeTx signatures recover to that address.
 */
import { describe, expect, it } from 'vitest';
import { mnemonicToAccount } from 'viem/accounts';
import { createSafeTx, getSafeTxHash, verifySafeSignature } from '@mofn/ethereum';
import { createKeystore, lockKeystore, unlockKeystore, type UnlockedKeystore } from '../src/keystore.ts';
import { createEthereumKeySigner, deriveEthereumAddress, deriveEthereumPrivateKey, ethereumKeyPath, formatEthereumKeyPath } from '../src/ethereumKey.ts';
import { codeOf } from '../../../test/support/errors.ts';

const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const JUNK = 'test test test test test test test test test test test junk';

async function unlocked(mnemonic: string, passphrase?: string): Promise<UnlockedKeystore> {
  const file = await createKeystore({ mnemonic, password: 'pw', network: 'main', kdf: { N: 1024 }, ...(passphrase === undefined ? {} : { passphrase }) });
  return unlockKeystore(file, 'pw');
}

describe('Ethereum keys from the keystore', () => {
  it('derives the well-known addresses of public test mnemonics', async () => {
    const abandon = await unlocked(ABANDON);
    expect(deriveEthereumAddress(abandon, 0)).toBe('0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
    const junk = await unlocked(JUNK);
    // anvil's and Hardhat's default accounts 0..2
    expect(deriveEthereumAddress(junk, 0)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(deriveEthereumAddress(junk, 1)).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(deriveEthereumAddress(junk, 2)).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    expect(deriveEthereumPrivateKey(junk, 0)).toBe('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
  });

  it("equals viem's mnemonicToAccount on 20 indices, with and without a BIP-39 passphrase", async () => {
    for (const passphrase of [undefined, 'TREZOR']) {
      const ks = await unlocked(ABANDON, passphrase);
      for (let i = 0; i < 20; i++) {
        const theirs = mnemonicToAccount(ABANDON, { addressIndex: i, ...(passphrase === undefined ? {} : { passphrase }) }).address;
        expect(deriveEthereumAddress(ks, i)).toBe(theirs);
      }
    }
  });

  it('signs a SafeTx EIP-712 digest that recovers to the derived owner', async () => {
    const ks = await unlocked(JUNK);
    const signer = createEthereumKeySigner(ks, 1);
    expect(signer.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    const domain = { chainId: 11155111, safeAddress: '0x41675C099F32341bf84BFc5382aF534df5C7461a' as const };
    const tx = createSafeTx({ to: '0x9858EfFD232B4033E47d90003D41EC34EcaEda94', value: 10n ** 15n, nonce: 7n });
    const sig = await signer.signSafeTx(domain, tx);
    const safeTxHash = getSafeTxHash(domain, tx);
    expect(sig.safeTxHash).toBe(safeTxHash);
    const verified = verifySafeSignature({ ...domain, safeTxHash, owners: [signer.address] }, sig);
    expect(verified.kind).toBe('eip712');
    expect(verified.signer).toBe(signer.address);
    // Another nonce is another digest: the same signature must not verify for it.
    const other = getSafeTxHash(domain, { ...tx, nonce: 8n });
    expect(codeOf(() => verifySafeSignature({ ...domain, safeTxHash: other, owners: [signer.address] }, { signer: sig.signer, data: sig.data }))).toBe('safe.signer_mismatch');
  });

  it('refuses bad indices and a locked keystore', async () => {
    const ks = await unlocked(JUNK);
    expect(codeOf(() => ethereumKeyPath(-1))).toBe('key.bad_index');
    expect(codeOf(() => ethereumKeyPath(2 ** 31))).toBe('key.bad_index');
    expect(codeOf(() => ethereumKeyPath(1.5))).toBe('key.bad_index');
    expect(formatEthereumKeyPath(3)).toBe("m/44'/60'/0'/0/3");
    const signer = createEthereumKeySigner(ks, 0);
    lockKeystore(ks);
    expect(codeOf(() => deriveEthereumAddress(ks, 0))).toBe('keystore.locked');
    await expect(signer.signSafeTx({ chainId: 1, safeAddress: signer.address }, createSafeTx({ to: signer.address, nonce: 0n }))).rejects.toMatchObject({ code: 'keystore.locked' });
  });
});
