// importSafe on anvil: singleton allow-list by address and code hash, version >= 1.3.0, modules, guard, fallback handler.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { concatHex, createTestClient, encodeFunctionData, getAddress, http, keccak256, numberToHex, pad, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_ABI, SAFE_ADMIN_ABI } from '../src/safe/abi.ts';
import { assertSupportedSafeVersion, compareSafeVersions, importSafe, KNOWN_SAFE_SINGLETONS } from '../src/safe/import.ts';
import { reviewSafeTx } from '../src/safe/review.ts';
import { createSafeTx, type SafeTx } from '../src/safe/safeTx.ts';
import { executeSafeTx } from '../src/safe/execute.ts';
import { signSafeTxEip712 } from '../src/safe/signatures.ts';
import { loadSafeArtifacts } from '../src/safe/singletons.ts';
import { codeOf } from '../../../test/support/errors.ts';
import { deployArtifact, TEST_ARTIFACTS } from './support/artifacts.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

const addr = (tag: string): Address => getAddress(keccak256(toHex(tag)).slice(0, 42));

let sc: SafeChain;
beforeAll(async () => {
  sc = await startSafeChain();
});
afterAll(async () => {
  await sc.chain.stop();
});

function safeDeployment(rel: string): { deployments: Record<string, { address: Address; codeHash: Hex }> } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@safe-global/safe-deployments/package.json'));
  return JSON.parse(readFileSync(join(root, 'dist/assets', rel), 'utf8')) as { deployments: Record<string, { address: Address; codeHash: Hex }> };
}

describe('the singleton allow-list', () => {
  it('matches the artifacts (1.4.1) and @safe-global/safe-deployments (1.4.1 and 1.3.0)', () => {
    const artifacts = loadSafeArtifacts();
    const byName = (name: string, version: string) => KNOWN_SAFE_SINGLETONS.filter((s) => s.name === name && s.version === version);
    expect(byName('Safe', '1.4.1')[0]!.codeHash).toBe(keccak256(artifacts.safe.deployedBytecode));
    expect(byName('SafeL2', '1.4.1')[0]!.codeHash).toBe(keccak256(artifacts.safeL2.deployedBytecode));
    const sources: [string, string, string, string[]][] = [
      ['v1.4.1/safe.json', 'Safe', '1.4.1', ['canonical']],
      ['v1.4.1/safe_l2.json', 'SafeL2', '1.4.1', ['canonical']],
      ['v1.3.0/gnosis_safe.json', 'GnosisSafe', '1.3.0', ['canonical', 'eip155']],
      ['v1.3.0/gnosis_safe_l2.json', 'GnosisSafeL2', '1.3.0', ['canonical', 'eip155']],
    ];
    for (const [file, name, version, kinds] of sources) {
      const published = safeDeployment(file).deployments;
      expect(byName(name, version).map((s) => ({ address: s.address, codeHash: s.codeHash }))).toEqual(kinds.map((k) => published[k]));
    }
  });

  it('compares versions numerically and refuses those below 1.3.0', () => {
    expect(compareSafeVersions('1.10.0', '1.9.0')).toBe(1);
    expect(compareSafeVersions('1.3', '1.3.0')).toBe(0);
    expect(compareSafeVersions('1.2.0', '1.3.0')).toBe(-1);
    for (const v of ['1.3.0', '1.4.1', '1.5.0', '2.0']) expect(codeOf(() => assertSupportedSafeVersion(v))).toBe('no error');
    for (const v of ['1.2.0', '1.1.1', '1.0.0', '0.1.0', 'v1.4.1', '']) expect(codeOf(() => assertSupportedSafeVersion(v))).toBe('safe.unsupported_version');
  });
});

describe('importSafe', () => {
  it('reads version, owners, threshold, nonce, modules, guard and fallback handler, before and after changes', async () => {
    const keys = ownerKeys(3, 'import');
    const owners = keys.map((k) => k.address);
    const safe = await newFundedSafe(sc, owners, 2, 30n);
    const imported = await importSafe(sc.clients, safe.address);
    expect(imported).toMatchObject({ address: safe.address, chainId: sc.chain.chainId, version: '1.4.1', threshold: 2, nonce: 0n, modules: [], guard: undefined, fallbackHandler: sc.singletons.fallbackHandler });
    expect(imported.singleton).toMatchObject({ name: 'Safe', version: '1.4.1', address: sc.singletons.safe });
    expect(new Set(imported.owners)).toEqual(new Set(owners));

    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    const run = async (tx: SafeTx) => {
      const signatures = await Promise.all([0, 2].map((i) => signSafeTxEip712(keys[i]!.key, domain, tx)));
      await executeSafeTx(sc.clients, { safeAddress: safe.address, tx, signatures, account: sc.executor });
    };
    const self = (functionName: 'enableModule' | 'setGuard' | 'setFallbackHandler', arg: Address, nonce: bigint) =>
      createSafeTx({ to: safe.address, data: encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName, args: [arg] }), nonce });
    const modules = [addr('import-module-1'), addr('import-module-2')];
    const guard = await deployArtifact(sc, TEST_ARTIFACTS.debugGuard);
    const handler = addr('import-handler');
    const changes: [SafeTx, string][] = [
      [self('enableModule', modules[0]!, 0n), 'safe.module_change'],
      [self('enableModule', modules[1]!, 1n), 'safe.module_change'],
      [self('setGuard', guard, 2n), 'safe.guard_change'],
      [self('setFallbackHandler', handler, 3n), 'safe.fallback_handler_change'],
    ];
    for (const [tx, code] of changes) {
      expect(reviewSafeTx(tx, { safeAddress: safe.address, threshold: 2 }).dangers).toEqual([code]);
      await run(tx);
    }
    const after = await importSafe(sc.clients, safe.address);
    // Safe lists modules most recent first.
    expect(after).toMatchObject({ nonce: 4n, modules: [modules[1], modules[0]], guard, fallbackHandler: handler });
  });

  it('refuses no contract, an unknown singleton, and a known singleton reporting a version below 1.3.0', async () => {
    const keys = ownerKeys(2, 'import-bad');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 1, 31n);
    await expect(importSafe(sc.clients, addr('import-nothing'))).rejects.toMatchObject({ code: 'safe.not_deployed' });
    // A plain contract (MultiSendCallOnly) has no singleton in slot 0.
    await expect(importSafe(sc.clients, sc.singletons.multiSendCallOnly)).rejects.toMatchObject({ code: 'safe.unknown_singleton' });
    const test = createTestClient({ mode: 'anvil', transport: http(sc.chain.rpcUrl) });
    const slot0 = numberToHex(0, { size: 32 });
    // Same code as the real singleton but at another address: refused (address and code hash both count).
    const copy = addr('import-singleton-copy');
    await test.setCode({ address: copy, bytecode: loadSafeArtifacts().safe.deployedBytecode });
    await test.setStorageAt({ address: safe.address, index: slot0, value: pad(copy, { size: 32 }) });
    await expect(importSafe(sc.clients, safe.address)).rejects.toMatchObject({ code: 'safe.unknown_singleton', details: { singleton: copy } });
    // Allow-listed code that answers VERSION() "1.2.0": refused for its version.
    const version = toHex('1.2.0', { size: 32 }).slice(2);
    const oldSafe: Hex = concatHex(['0x6020600052', '0x6005602052', `0x7f${version}`, '0x604052', '0x60606000f3']);
    const old = addr('import-singleton-old');
    await test.setCode({ address: old, bytecode: oldSafe });
    await test.setStorageAt({ address: safe.address, index: slot0, value: pad(old, { size: 32 }) });
    expect(await sc.clients.public.readContract({ address: safe.address, abi: SAFE_ABI, functionName: 'VERSION' })).toBe('1.2.0');
    const allowList = [...KNOWN_SAFE_SINGLETONS, { name: 'OldSafe', version: '1.2.0', address: old, codeHash: keccak256(oldSafe) }];
    await expect(importSafe(sc.clients, safe.address, { allowList })).rejects.toMatchObject({ code: 'safe.unsupported_version' });
    await expect(importSafe(sc.clients, safe.address)).rejects.toMatchObject({ code: 'safe.unknown_singleton' });
    // Restored, it imports again.
    await test.setStorageAt({ address: safe.address, index: slot0, value: pad(sc.singletons.safe, { size: 32 }) });
    await expect(importSafe(sc.clients, safe.address)).resolves.toMatchObject({ version: '1.4.1' });
  });
});
