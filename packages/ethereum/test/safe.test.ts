// Safe v1.4.1 on anvil with the real contracts: singletons, creation, SafeTx hash, execution, hostile signatures.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { concatHex, createTestClient, getAddress, http, hexToBigInt, keccak256, numberToHex, parseEther, toHex, zeroAddress, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_ABI, SAFE_PROXY_FACTORY_ABI } from '../src/safe/abi.ts';
import { assertSafeConfig, createSafe, encodeSafeSetup, predictSafeAddress } from '../src/safe/create.ts';
import { approveSafeTxHash, executeSafeTx } from '../src/safe/execute.ts';
import { readSafe } from '../src/safe/read.ts';
import { createSafeTx, getSafeDomainSeparator, getSafeTxHash, type SafeTx } from '../src/safe/safeTx.ts';
import {
  encodeApprovedHashSignature,
  encodeSafeSignatures,
  signSafeTxEip712,
  signSafeTxEthSign,
  verifySafeSignatures,
  type SafeSignature,
} from '../src/safe/signatures.ts';
import { SAFE_V141_CANONICAL, assertSafeSingletons, deploySafeSingletons, getSafeSingletons, hasCode } from '../src/safe/singletons.ts';
import { createEvmClients } from '../src/client.ts';
import { startDevChain } from '../src/devchain.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const recipient: Address = getAddress(keccak256(toHex('mofn-recipient')).slice(0, 42));

function proxyArtifactBytecode(): Hex {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@safe-global/safe-contracts/package.json'));
  const file = join(root, 'build/artifacts/contracts/proxies/SafeProxy.sol/SafeProxy.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { bytecode: Hex }).bytecode;
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, i) => subsets(items.slice(i + 1), k - 1).map((rest) => [item, ...rest]));
}

let sc: SafeChain;
beforeAll(async () => {
  sc = await startSafeChain();
});
afterAll(async () => {
  await sc.chain.stop();
});

async function executorNonce(): Promise<number> {
  return sc.clients.public.getTransactionCount({ address: sc.executor });
}

describe('Safe singletons from the @safe-global/safe-contracts 1.4.1 artifacts', () => {
  it('sit at the canonical v1.4.1 addresses, report version 1.4.1, and are deployed once', async () => {
    // Canonical addresses as published in @safe-global/safe-deployments (v1.4.1, "canonical").
    expect(getSafeSingletons()).toEqual({
      safe: '0x41675C099F32341bf84BFc5382aF534df5C7461a',
      safeL2: '0x29fcB43b46531BcA003ddC8FCB67FFE91900C762',
      proxyFactory: '0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67',
      fallbackHandler: '0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99',
      multiSendCallOnly: '0x9641d764fc13c8B624c04430C7356C1C7C8102e2',
      multiSend: '0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526',
    });
    expect(getSafeSingletons()).toEqual(SAFE_V141_CANONICAL);
    expect(await assertSafeSingletons(sc.clients)).toEqual(sc.singletons);
    const again = await deploySafeSingletons(sc.clients, { account: sc.executor });
    expect(again.deployed).toEqual([]);
    for (const address of [sc.singletons.safe, sc.singletons.safeL2]) {
      expect(await sc.clients.public.readContract({ address, abi: SAFE_ABI, functionName: 'VERSION' })).toBe('1.4.1');
    }
    const code = await sc.clients.public.readContract({ address: sc.singletons.proxyFactory, abi: SAFE_PROXY_FACTORY_ABI, functionName: 'proxyCreationCode' });
    expect(code).toBe(proxyArtifactBytecode());
  });

  it('deploys all six on a fresh chain; refuses a singleton address holding other code', async () => {
    const chain = await startDevChain();
    try {
      const clients = await createEvmClients(chain.rpcUrl);
      await expect(assertSafeSingletons(clients)).rejects.toMatchObject({ code: 'safe.singleton_missing' });
      const first = await deploySafeSingletons(clients, { account: chain.accounts[0]! });
      expect([...first.deployed].sort()).toEqual(['fallbackHandler', 'multiSend', 'multiSendCallOnly', 'proxyFactory', 'safe', 'safeL2']);
      for (const address of Object.values(first.singletons)) expect(await hasCode(clients, address)).toBe(true);
      expect((await deploySafeSingletons(clients, { account: chain.accounts[0]! })).deployed).toEqual([]);
      await createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) }).setCode({ address: first.singletons.safe, bytecode: '0x6000' });
      await expect(deploySafeSingletons(clients, { account: chain.accounts[0]! })).rejects.toMatchObject({ code: 'safe.singleton_mismatch' });
      await expect(assertSafeSingletons(clients)).rejects.toMatchObject({ code: 'safe.singleton_mismatch' });
    } finally {
      await chain.stop();
    }
  });
});

describe('createSafe', () => {
  it.each([
    [2, 3, false],
    [3, 5, true],
  ])('deploys a %i-of-%i Safe (L2: %s) at the address predicted before deployment', async (m, n, l2) => {
    const owners = ownerKeys(n, `create-${m}-${n}`).map((o) => o.address);
    const config = { owners, threshold: m, saltNonce: 7n, l2 };
    // Independent prediction: the SafeProxy artifact's creation code, not the factory's.
    const predicted = predictSafeAddress({
      proxyFactory: sc.singletons.proxyFactory,
      proxyCreationCode: proxyArtifactBytecode(),
      singleton: l2 ? sc.singletons.safeL2 : sc.singletons.safe,
      initializer: encodeSafeSetup(config, sc.singletons),
      saltNonce: 7n,
    });
    expect(await sc.clients.public.getCode({ address: predicted })).toBeUndefined();
    const created = await createSafe(sc.clients, { config, singletons: sc.singletons, account: sc.executor });
    expect(created.address).toBe(predicted);
    const state = await readSafe(sc.clients, predicted);
    expect([...state.owners].sort()).toEqual([...owners].sort());
    expect(state.threshold).toBe(m);
    expect(state.nonce).toBe(0n);
    expect(state.version).toBe('1.4.1');
    await expect(createSafe(sc.clients, { config, singletons: sc.singletons, account: sc.executor })).rejects.toMatchObject({
      code: 'safe.already_deployed',
    });
  });

  it('refuses bad owner sets and thresholds before sending anything', async () => {
    const [a, b] = ownerKeys(2, 'bad').map((o) => o.address) as [Address, Address];
    const before = await executorNonce();
    const cases: [Parameters<typeof assertSafeConfig>[0], string][] = [
      [{ owners: [a, b], threshold: 0 }, 'safe.bad_threshold'],
      [{ owners: [a, b], threshold: 3 }, 'safe.bad_threshold'],
      [{ owners: [a, b], threshold: 1.5 }, 'safe.bad_threshold'],
      [{ owners: [], threshold: 1 }, 'safe.bad_owner'],
      [{ owners: [a, a.toLowerCase() as Address], threshold: 1 }, 'safe.duplicate_owner'],
      [{ owners: [a, zeroAddress], threshold: 1 }, 'safe.bad_owner'],
      [{ owners: [a, '0x0000000000000000000000000000000000000001'], threshold: 1 }, 'safe.bad_owner'],
      [{ owners: [a, '0x1234'], threshold: 1 }, 'address.invalid'],
    ];
    for (const [config, code] of cases) {
      await expect(createSafe(sc.clients, { config, singletons: sc.singletons, account: sc.executor })).rejects.toMatchObject({ code });
    }
    expect(await executorNonce()).toBe(before);
  });

  it('reports a missing factory and a non-Safe address', async () => {
    const owners = ownerKeys(1, 'nofactory').map((o) => o.address);
    await expect(
      createSafe(sc.clients, { config: { owners, threshold: 1 }, singletons: { ...sc.singletons, proxyFactory: recipient }, account: sc.executor }),
    ).rejects.toMatchObject({ code: 'safe.not_deployed' });
    await expect(readSafe(sc.clients, recipient)).rejects.toMatchObject({ code: 'safe.not_deployed' });
    await expect(readSafe(sc.clients, sc.singletons.multiSendCallOnly)).rejects.toMatchObject({ code: 'safe.not_a_safe' });
  });
});

describe('SafeTx hash and domain separator', () => {
  it("equal the contract's getTransactionHash and domainSeparator", async () => {
    const owners = ownerKeys(3, 'hash').map((o) => o.address);
    const safe = await newFundedSafe(sc, owners, 2, 1n);
    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    expect(getSafeDomainSeparator(domain)).toBe(
      await sc.clients.public.readContract({ address: safe.address, abi: SAFE_ABI, functionName: 'domainSeparator' }),
    );
    const txs: SafeTx[] = [
      createSafeTx({ to: recipient, value: 1n, nonce: 0n }),
      createSafeTx({ to: recipient, data: '0xdeadbeef', operation: 1, safeTxGas: 5n, baseGas: 6n, gasPrice: 7n, gasToken: owners[0]!, refundReceiver: owners[1]!, nonce: 99n }),
      createSafeTx({ to: recipient, value: (1n << 256n) - 1n, data: `0x${'ab'.repeat(300)}`, nonce: (1n << 256n) - 1n }),
    ];
    for (const tx of txs) {
      const onChain = await sc.clients.public.readContract({
        address: safe.address,
        abi: SAFE_ABI,
        functionName: 'getTransactionHash',
        args: [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, tx.nonce],
      });
      expect(getSafeTxHash(domain, tx)).toBe(onChain);
    }
  });

  it('refuses out-of-range fields', () => {
    expect(() => createSafeTx({ to: recipient, value: -1n, nonce: 0n })).toThrow(expect.objectContaining({ code: 'safe.bad_transaction' }));
    expect(() => createSafeTx({ to: recipient, nonce: 1n << 256n })).toThrow(expect.objectContaining({ code: 'safe.bad_transaction' }));
    expect(() => createSafeTx({ to: '0xnope', nonce: 0n })).toThrow(expect.objectContaining({ code: 'safe.bad_transaction' }));
    expect(() => createSafeTx({ to: recipient, data: '0xabc', nonce: 0n })).toThrow(expect.objectContaining({ code: 'safe.bad_transaction' }));
    expect(() => createSafeTx({ to: recipient, operation: 2 as 0, nonce: 0n })).toThrow(expect.objectContaining({ code: 'safe.bad_transaction' }));
  });
});

describe('execution', () => {
  it('moves ETH out of a 2-of-3 Safe with two EIP-712 signatures', async () => {
    const keys = ownerKeys(3, 'transfer');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 2, 2n);
    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    const tx = createSafeTx({ to: recipient, value: parseEther('1'), nonce: 0n });
    const sigs = [await signSafeTxEip712(keys[2]!.key, domain, tx), await signSafeTxEip712(keys[0]!.key, domain, tx)];
    const before = await sc.clients.public.getBalance({ address: recipient });
    const done = await executeSafeTx(sc.clients, { safeAddress: safe.address, tx, signatures: sigs, account: sc.executor });
    expect(await sc.clients.public.getBalance({ address: recipient })).toBe(before + parseEther('1'));
    expect(await sc.clients.public.getBalance({ address: safe.address })).toBe(parseEther('9'));
    expect((await readSafe(sc.clients, safe.address)).nonce).toBe(1n);
    expect(done.safeTxHash).toBe(getSafeTxHash(domain, tx));
    expect(done.gasUsed).toBeGreaterThan(21_000n);
    expect(done.gasUsed).toBeLessThanOrEqual(done.gasEstimate);
    // The recipient is a new account here (a value CALL to an empty account costs G_newaccount = 25,000 more, EIP-161); measure again to an existing one.
    const tx2 = createSafeTx({ to: recipient, value: parseEther('1'), nonce: 1n });
    const sigs2 = [await signSafeTxEip712(keys[1]!.key, domain, tx2), await signSafeTxEip712(keys[2]!.key, domain, tx2)];
    const done2 = await executeSafeTx(sc.clients, { safeAddress: safe.address, tx: tx2, signatures: sigs2, account: sc.executor });
    console.log(
      `2-of-3 ETH transfer execTransaction gasUsed: ${done.gasUsed} to a new account (estimate ${done.gasEstimate}), ` +
        `${done2.gasUsed} to an existing one (estimate ${done2.gasEstimate})`,
    );
    // Replaying the same signatures is refused: the nonce moved on.
    await expect(executeSafeTx(sc.clients, { safeAddress: safe.address, tx, signatures: sigs, account: sc.executor })).rejects.toMatchObject({
      code: 'safe.wrong_nonce',
    });
  });

  it('executes with every 3-subset of a 3-of-5, mixing EIP-712, eth_sign and approved-hash signatures', async () => {
    const keys = ownerKeys(5, 'subsets');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 3, 3n);
    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    const all = subsets([0, 1, 2, 3, 4], 3);
    expect(all).toHaveLength(10);
    // Approved hashes are sent by the owner itself: give owner 4 gas money.
    const fund = await sc.clients.wallet.sendTransaction({ account: sc.executor, chain: sc.clients.chain, to: keys[4]!.address, value: parseEther('1') });
    await sc.clients.public.waitForTransactionReceipt({ hash: fund });
    for (const [round, subset] of all.entries()) {
      const tx = createSafeTx({ to: recipient, value: BigInt(round + 1), nonce: BigInt(round) });
      const sigs: SafeSignature[] = [];
      for (const [j, i] of subset.entries()) {
        const key = keys[i]!;
        const kind = (round + j) % 3;
        if (kind === 0) sigs.push(await signSafeTxEip712(key.key, domain, tx));
        else if (kind === 1) sigs.push(await signSafeTxEthSign(key.key, domain, tx));
        else if (i === 4) {
          await approveSafeTxHash(sc.clients, { safeAddress: safe.address, safeTxHash: getSafeTxHash(domain, tx), account: privateKeyToAccount(key.key) });
          sigs.push({ signer: key.address, data: encodeApprovedHashSignature(key.address) });
        } else sigs.push(await signSafeTxEip712(key.key, domain, tx));
      }
      sigs.reverse(); // Any submission order: mofn sorts by owner.
      const done = await executeSafeTx(sc.clients, { safeAddress: safe.address, tx, signatures: sigs, account: sc.executor });
      expect(done.safeTxHash).toBe(getSafeTxHash(domain, tx));
    }
    expect((await readSafe(sc.clients, safe.address)).nonce).toBe(10n);
  });

  it('counts an approved hash from the executing owner without an on-chain approval', async () => {
    const keys = ownerKeys(2, 'self-approve');
    const owners = [sc.executor, ...keys.map((k) => k.address)];
    const safe = await newFundedSafe(sc, owners, 2, 4n);
    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    const tx = createSafeTx({ to: recipient, value: 5n, nonce: 0n });
    const sigs = [{ signer: sc.executor, data: encodeApprovedHashSignature(sc.executor) }, await signSafeTxEip712(keys[1]!.key, domain, tx)];
    await executeSafeTx(sc.clients, { safeAddress: safe.address, tx, signatures: sigs, account: sc.executor });
    expect((await readSafe(sc.clients, safe.address)).nonce).toBe(1n);
  });
});

describe('refusals, each before any transaction is sent', () => {
  let keys: ReturnType<typeof ownerKeys>;
  let safeAddress: Address;
  let domain: { chainId: number; safeAddress: Address };
  let tx: SafeTx;
  beforeAll(async () => {
    keys = ownerKeys(5, 'hostile');
    safeAddress = (await newFundedSafe(sc, keys.map((k) => k.address), 3, 5n)).address;
    domain = { chainId: sc.chain.chainId, safeAddress };
    tx = createSafeTx({ to: recipient, value: 1n, nonce: 0n });
  });

  async function refused(signatures: readonly SafeSignature[], code: string, theTx: SafeTx = tx): Promise<void> {
    const before = await executorNonce();
    await expect(executeSafeTx(sc.clients, { safeAddress, tx: theTx, signatures, account: sc.executor })).rejects.toMatchObject({ code });
    expect(await executorNonce()).toBe(before);
    expect((await readSafe(sc.clients, safeAddress)).nonce).toBe(0n);
  }
  const sign = (i: number) => signSafeTxEip712(keys[i]!.key, domain, tx);

  it('M-1 signatures: safe.not_enough_signatures', async () => {
    await refused([await sign(0), await sign(1)], 'safe.not_enough_signatures');
    await refused([], 'safe.not_enough_signatures');
  });

  it('a signature for another chain id: safe.wrong_chain_id, and safe.signer_mismatch without its label', async () => {
    const other = await signSafeTxEip712(keys[2]!.key, { ...domain, chainId: 1 }, tx);
    await refused([await sign(0), await sign(1), other], 'safe.wrong_chain_id');
    await refused([await sign(0), await sign(1), { signer: other.signer, data: other.data }], 'safe.signer_mismatch');
  });

  it('a signature for another Safe: safe.wrong_safe, and safe.signer_mismatch without its label', async () => {
    const other = await signSafeTxEip712(keys[2]!.key, { ...domain, safeAddress: recipient }, tx);
    await refused([await sign(0), await sign(1), other], 'safe.wrong_safe');
    await refused([await sign(0), await sign(1), { signer: other.signer, data: other.data }], 'safe.signer_mismatch');
  });

  it('a signature for another transaction: safe.wrong_transaction', async () => {
    const other = await signSafeTxEip712(keys[2]!.key, domain, createSafeTx({ to: recipient, value: 2n, nonce: 0n }));
    await refused([await sign(0), await sign(1), other], 'safe.wrong_transaction');
  });

  it('the same owner twice (same or different kind): safe.duplicate_signer', async () => {
    const a = await sign(0);
    await refused([a, await sign(1), a], 'safe.duplicate_signer');
    await refused([a, await sign(1), await signSafeTxEthSign(keys[0]!.key, domain, tx)], 'safe.duplicate_signer');
  });

  it('a non-owner: safe.wrong_owner', async () => {
    const [stranger] = ownerKeys(1, 'stranger');
    await refused([await sign(0), await sign(1), await signSafeTxEip712(stranger!.key, domain, tx)], 'safe.wrong_owner');
  });

  it('malformed signature bytes: safe.bad_signature', async () => {
    const good = await sign(2);
    const r = hexToBigInt(`0x${good.data.slice(2, 66)}`);
    const s = hexToBigInt(`0x${good.data.slice(66, 130)}`);
    const v = Number.parseInt(good.data.slice(130), 16);
    const malleated = concatHex([numberToHex(r, { size: 32 }), numberToHex(SECP256K1_N - s, { size: 32 }), numberToHex(v === 27 ? 28 : 27, { size: 1 })]);
    const bad: Hex[] = [
      good.data.slice(0, -2) as Hex, // 64 bytes
      `${good.data}00`, // 66 bytes
      `0x${'zz'.repeat(65)}`, // not hex
      `${good.data.slice(0, -2)}1d` as Hex, // v = 29
      malleated, // high s
      concatHex([numberToHex(0n, { size: 32 }), numberToHex(s, { size: 32 }), numberToHex(v, { size: 1 })]), // r = 0
      concatHex([numberToHex(SECP256K1_N, { size: 32 }), numberToHex(s, { size: 32 }), numberToHex(v, { size: 1 })]), // r = n
      concatHex([numberToHex(1n, { size: 32 }), numberToHex(s, { size: 32 }), numberToHex(v, { size: 1 })]), // r = 1 is a valid x: recovers, to someone else
    ];
    for (const [i, data] of bad.entries()) {
      await refused([await sign(0), await sign(1), { signer: good.signer, data }], i === bad.length - 1 ? 'safe.signer_mismatch' : 'safe.bad_signature');
    }
    const approvedWithS = concatHex([encodeApprovedHashSignature(keys[2]!.address).slice(0, 66) as Hex, numberToHex(1n, { size: 32 }), '0x01']);
    await refused([await sign(0), await sign(1), { signer: keys[2]!.address, data: approvedWithS }], 'safe.bad_signature');
    // v = 0 announces a contract signature, which needs its dynamic part: 65 bytes alone are malformed.
    await refused([await sign(0), await sign(1), { signer: keys[2]!.address, data: `${good.data.slice(0, -2)}00` as Hex }], 'safe.bad_signature');
    await refused([await sign(0), await sign(1), { signer: '0x12', data: good.data }], 'safe.bad_signature');
  });

  it('an approved hash that was never approved: safe.hash_not_approved', async () => {
    await refused([await sign(0), await sign(1), { signer: keys[2]!.address, data: encodeApprovedHashSignature(keys[2]!.address) }], 'safe.hash_not_approved');
  });

  it('a stale or future nonce: safe.wrong_nonce', async () => {
    const future = createSafeTx({ to: recipient, value: 1n, nonce: 1n });
    const sigs = await Promise.all([0, 1, 2].map((i) => signSafeTxEip712(keys[i]!.key, domain, future)));
    await refused(sigs, 'safe.wrong_nonce', future);
  });

  it('a transaction the Safe cannot pay: safe.simulation_failed (GS013) from eth_call', async () => {
    const tooMuch = createSafeTx({ to: recipient, value: parseEther('1000'), nonce: 0n });
    const sigs = await Promise.all([0, 1, 2].map((i) => signSafeTxEip712(keys[i]!.key, domain, tooMuch)));
    const before = await executorNonce();
    const err = await executeSafeTx(sc.clients, { safeAddress, tx: tooMuch, signatures: sigs, account: sc.executor }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'safe.simulation_failed', details: { reason: 'GS013' } });
    expect(await executorNonce()).toBe(before);
  });

  it('negative control: the contract itself rejects signatures out of owner order (GS026)', async () => {
    const hash = getSafeTxHash(domain, tx);
    const verified = verifySafeSignatures({ ...domain, safeTxHash: hash, owners: keys.map((k) => k.address) }, await Promise.all([0, 1, 2].map(sign)));
    const sorted = encodeSafeSignatures(verified, 3);
    const reversed = concatHex([...verified].reverse().map((v) => v.data));
    const call = (signatures: Hex) =>
      sc.clients.public.simulateContract({
        account: sc.executor,
        address: safeAddress,
        abi: SAFE_ABI,
        functionName: 'execTransaction',
        args: [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, signatures],
      });
    expect((await call(sorted)).result).toBe(true);
    await expect(call(reversed)).rejects.toThrow(/GS026/);
  });
});
