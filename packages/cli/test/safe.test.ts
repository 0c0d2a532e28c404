/**
 * `mofn safe` end to end through the CLI on anvil with the real Safe v1.4.1 contracts and keystore
 * files: a 2-of-3 ETH transfer and a 3-of-5 ERC-20 transfer; a danger flag that needs --ack; M-1
 * signatures refused before anything is sent; hostile signature files refused by code, nothing stored;
 * typed data exported, signed elsewhere and imported.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERC20_ABI, readErc20Balance, signSafeTxEip712, createSafeTx } from '@mofn/ethereum';
import { createKeystore, generateMnemonic, writeKeystore } from '@mofn/signers';
import { main } from '../src/main.ts';
import type { Io } from '../src/io.ts';
import { deployTestToken, freshAddress, send, startTestChain, type TestChain } from '../../service/test/safe/support.ts';

let dir: string;
let tc: TestChain;
const saved = { home: process.env['MOFN_HOME'], password: process.env['MOFN_PASSWORD'] };

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`) };
  const code = await main(['node', 'mofn', ...argv], io);
  return { code, out, err };
}

async function ok(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  if (r.code !== 0) throw new Error(`mofn ${argv.join(' ')} failed (${r.code}): ${r.err}`);
  return r.out.trim();
}

/** Runs a command expected to fail and returns the error code it printed. */
async function failCode(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  expect(r.code, `mofn ${argv.join(' ')} should fail: ${r.out}`).toBe(1);
  return /error \[([a-z_.0-9]+)\]/.exec(r.err)?.[1] ?? r.err;
}

async function keystores(n: number, tag: string): Promise<{ file: string; address: Address }[]> {
  const out: { file: string; address: Address }[] = [];
  for (let i = 0; i < n; i++) {
    const file = join(dir, `${tag}-${i}.json`);
    // Low scrypt cost: test keystores only.
    await writeKeystore(file, await createKeystore({ mnemonic: generateMnemonic(128), password: 'test password', network: 'test', kdf: { N: 1024 } }));
    out.push({ file, address: (await ok('key', 'eth-address', '--keystore', file)) as Address });
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-safe-cli-'));
  process.env['MOFN_HOME'] = join(dir, 'home');
  process.env['MOFN_PASSWORD'] = 'test password';
  tc = await startTestChain();
});
afterAll(async () => {
  await tc.chain.stop();
  rmSync(dir, { recursive: true, force: true });
  if (saved.home === undefined) delete process.env['MOFN_HOME'];
  else process.env['MOFN_HOME'] = saved.home;
  if (saved.password === undefined) delete process.env['MOFN_PASSWORD'];
  else process.env['MOFN_PASSWORD'] = saved.password;
});

describe('mofn safe', () => {
  let owners: { file: string; address: Address }[];
  let safeAddress: Address;
  const chain = () => ['--chain', String(tc.chain.chainId), '--rpc', tc.chain.rpcUrl];

  it('key eth-address: the BIP-44 address of a keystore', async () => {
    const file = join(dir, 'junk.json');
    await writeKeystore(file, await createKeystore({ mnemonic: 'test test test test test test test test test test test junk', password: 'test password', network: 'main', kdf: { N: 1024 } }));
    expect(await ok('key', 'eth-address', '--keystore', file)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(await ok('key', 'eth-address', '--keystore', file, '--index', '1')).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });

  it('2-of-3 ETH transfer: --ack needed for a danger, M-1 refused before sending, M executes', async () => {
    owners = await keystores(3, 'eth');
    const created = JSON.parse(await ok('safe', 'create', 'family', ...owners.flatMap((o) => ['--owner', o.address]), '--threshold', '2', ...chain(), '--salt', '7', '--json')) as { safe: { address: Address } };
    safeAddress = created.safe.address;
    await send(tc, safeAddress, parseEther('3'));
    const shown = await ok('safe', 'show', 'family');
    expect(shown).toContain('threshold 2 of 3 owners');
    expect(shown).toContain('Safe 1.4.1');

    const recipient = freshAddress('cli-eth');
    const proposed = JSON.parse(await ok('safe', 'propose', 'family', '--to', recipient, '--value', parseEther('1').toString(), '--json')) as { proposal: { id: number }; safeTxHash: Hex; dangers: string[] };
    expect(proposed.proposal.id).toBe(1);
    expect(proposed.dangers).toEqual(['safe.new_recipient']);
    const review = await ok('safe', 'review', 'family', '1');
    expect(review).toContain(`safeTxHash        ${proposed.safeTxHash}`);
    expect(review).toContain('domain separator');
    expect(review).toContain('DANGER [safe.new_recipient]');

    expect(await failCode('safe', 'sign', 'family', '1', '--keystore', owners[0]!.file)).toBe('safe.unacknowledged_danger');
    expect(await ok('safe', 'sign', 'family', '1', '--keystore', owners[0]!.file, '--ack', 'safe.new_recipient')).toContain('1 of 2 signature(s)');

    const block = await tc.clients.public.getBlockNumber();
    expect(await failCode('safe', 'exec', 'family', '1')).toBe('safe.not_enough_signatures');
    expect(await tc.clients.public.getBlockNumber()).toBe(block);

    expect(await ok('safe', 'sign', 'family', '1', '--keystore', owners[2]!.file, '--ack', 'safe.new_recipient')).toContain('2 of 2 signature(s)');
    expect(await ok('safe', 'exec', 'family', '1')).toMatch(/executed proposal 1: tx 0x[0-9a-f]{64} in block \d+, gas used \d+/);
    expect(await tc.clients.public.getBalance({ address: recipient })).toBe(parseEther('1'));
    expect(await ok('safe', 'list', 'family')).toMatch(/nonce 0 \(stale\)\n\s+1 executed/);
  });

  it('hostile signature files are refused with their code and nothing is stored; a typed-data signature made elsewhere is accepted', async () => {
    const to = freshAddress('cli-eth');
    const proposed = JSON.parse(await ok('safe', 'propose', 'family', '--to', to, '--value', '1000', '--json')) as { proposal: { id: number }; safeTxHash: Hex; tx: Record<string, string> };
    const id = String(proposed.proposal.id);
    // The same SafeTx, rebuilt from the exported typed data, signed by a key outside mofn.
    const typed = JSON.parse(await ok('safe', 'typed-data', 'family', id)) as { domain: { chainId: number; verifyingContract: Address }; message: Record<string, string> };
    expect(typed.domain).toEqual({ chainId: tc.chain.chainId, verifyingContract: safeAddress });
    const m = typed.message;
    const tx = createSafeTx({ to: m['to'] as Address, value: BigInt(m['value']!), data: m['data'] as Hex, operation: Number(m['operation']) as 0, nonce: BigInt(m['nonce']!) });
    const strangerKey: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    const domain = { chainId: tc.chain.chainId, safeAddress };
    const file = (name: string, value: unknown) => {
      const path = join(dir, `${name}.json`);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    // Owner signatures come from the keystore's key: take it from the keystore through the CLI's own derivation.
    const { deriveEthereumPrivateKey, readKeystore, unlockKeystore } = await import('@mofn/signers');
    const ownerKey = deriveEthereumPrivateKey(await unlockKeystore(await readKeystore(owners[1]!.file), 'test password'), 0);
    expect(privateKeyToAccount(ownerKey).address).toBe(owners[1]!.address);
    const hostile: [string, unknown][] = [
      ['safe.wrong_chain_id', await signSafeTxEip712(ownerKey, { ...domain, chainId: 1 }, tx)],
      ['safe.wrong_safe', await signSafeTxEip712(ownerKey, { ...domain, safeAddress: owners[0]!.address }, tx)],
      ['safe.wrong_owner', await signSafeTxEip712(strangerKey, domain, tx)],
      ['safe.bad_signature', { signer: owners[1]!.address, data: `0x${'ab'.repeat(64)}` }],
      ['safe.bad_signature_file', { signer: owners[1]!.address, data: '0x', extra: 1 }],
    ];
    for (const [code, content] of hostile) expect(await failCode('safe', 'add-signature', 'family', id, '--file', file(code, content))).toBe(code);
    expect(await ok('safe', 'review', 'family', id)).toContain('signatures 0 of 2');
    const good = await signSafeTxEip712(ownerKey, domain, tx);
    expect(good.safeTxHash).toBe(proposed.safeTxHash);
    expect(await ok('safe', 'add-signature', 'family', id, '--file', file('good', good))).toContain('1 of 2');
    expect(await failCode('safe', 'add-signature', 'family', id, '--file', file('good', good))).toBe('safe.duplicate_signer');
    expect(await failCode('safe', 'sign', 'family', id, '--keystore', owners[1]!.file)).toBe('safe.duplicate_signer');
  });

  it('3-of-5 ERC-20 transfer, executed from a keystore account', async () => {
    const five = await keystores(5, 'erc20');
    const created = JSON.parse(await ok('safe', 'create', 'treasury', ...five.flatMap((o) => ['--owner', o.address]), '--threshold', '3', ...chain(), '--json')) as { safe: { address: Address } };
    const token = await deployTestToken(tc);
    const fund = await tc.clients.wallet.writeContract({ account: tc.funder, chain: tc.clients.chain, address: token, abi: ERC20_ABI, functionName: 'transfer', args: [created.safe.address, 10n ** 14n] });
    await tc.clients.public.waitForTransactionReceipt({ hash: fund });
    await send(tc, five[4]!.address, parseEther('1'));
    const to = freshAddress('cli-erc20');
    const review = await ok('safe', 'propose', 'treasury', '--erc20', token, '--to', to, '--amount', '0.0000125');
    expect(review).toContain('transfer 0.0000125 TT (12500000000000 units');
    for (const o of [five[3]!, five[0]!]) await ok('safe', 'sign', 'treasury', '1', '--keystore', o.file, '--ack', 'safe.new_recipient');
    expect(await failCode('safe', 'exec', 'treasury', '1', '--from-keystore', five[4]!.file)).toBe('safe.not_enough_signatures');
    await ok('safe', 'sign', 'treasury', '1', '--keystore', five[2]!.file, '--ack', 'safe.new_recipient');
    const before = await tc.clients.public.getBalance({ address: five[4]!.address });
    expect(await ok('safe', 'exec', 'treasury', '1', '--from-keystore', five[4]!.file)).toContain('executed proposal 1');
    expect(await readErc20Balance(tc.clients, token, to)).toBe(12_500_000_000_000n);
    // The keystore account paid the gas.
    expect(await tc.clients.public.getBalance({ address: five[4]!.address })).toBeLessThan(before);
  });

  it('owner operations through the CLI: add an owner with a new threshold', async () => {
    const extra = (await keystores(1, 'extra'))[0]!;
    const review = JSON.parse(await ok('safe', 'propose', 'family', '--add-owner', extra.address, '--threshold', '3', '--nonce', '2', '--json')) as { dangers: string[]; proposal: { id: number } };
    expect(review.dangers).toEqual(['safe.owner_change', 'safe.threshold_change']);
    const id = String(review.proposal.id);
    // Nonce 1 holds the earlier proposal: reject it first, then the owner change at nonce 2.
    const reject = JSON.parse(await ok('safe', 'propose', 'family', '--reject', '1', '--json')) as { proposal: { id: number } };
    for (const o of [owners[0]!, owners[2]!]) await ok('safe', 'sign', 'family', String(reject.proposal.id), '--keystore', o.file);
    expect(await failCode('safe', 'exec', 'family', id)).toBe('safe.wrong_nonce');
    await ok('safe', 'exec', 'family', String(reject.proposal.id));
    for (const o of [owners[0]!, owners[2]!]) await ok('safe', 'sign', 'family', id, '--keystore', o.file, '--ack', 'safe.owner_change', '--ack', 'safe.threshold_change');
    await ok('safe', 'exec', 'family', id);
    expect(await ok('safe', 'show', 'family')).toContain('threshold 3 of 4 owners');
  });
});
