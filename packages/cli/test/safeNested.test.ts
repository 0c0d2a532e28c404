/**
 * `mofn safe sign --via` and `mofn safe add-signature --via` end to end on anvil with the real Safe
 * v1.4.1 contracts and keystore files: Safes owned by Safes (EIP-1271). A 1-of-1 owner Safe signs at
 * once; a 2-of-3 owner Safe collects partial signature files that are then combined; partials that
 * cannot make a valid contract signature are refused and nothing is stored; each child executes.
 * Then the same through a coordinator (--server, --rpc).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_V141_CANONICAL, createSafe, createSafeTx, encodeSafeTxData, getSafeMessageHash, getSafeTxHash, signSafeTxForOwnerSafe } from '@mofn/ethereum';
import { formatSafeSignatureFile } from '@mofn/service';
import { createKeystore, deriveEthereumPrivateKey, generateMnemonic, readKeystore, unlockKeystore, writeKeystore } from '@mofn/signers';
import { ok, run, type RunResult } from './run.ts';
import { client, startTestServer, type TestServer } from '../../../test/support/server.ts';
import { freshAddress, send, startTestChain, type TestChain } from '../../service/test/safe/support.ts';

const ENV = ['MOFN_HOME', 'MOFN_PASSWORD', 'MOFN_SERVER', 'MOFN_TOKEN'] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

interface Key {
  readonly file: string;
  readonly address: Address;
}

let dir: string;
let tc: TestChain;
let server: TestServer | undefined;
/** k0 owns ownerA; k1 is a key owner of the children; k2, k3, k4 own ownerB; k5 owns nothing. */
let k: Key[];
let ownerA: Address;
let ownerB: Address;

/** The error code a failed run printed. */
function codeOf(r: RunResult): string {
  expect(r.code, `expected a failure: ${r.out}`).toBe(1);
  return /error \[([a-z_.0-9]+)\]/.exec(r.err)?.[1] ?? r.err;
}

async function newSafe(owners: readonly Address[], threshold: number, saltNonce: bigint, funding = 0n): Promise<Address> {
  const created = await createSafe(tc.clients, { config: { owners, threshold, saltNonce }, singletons: SAFE_V141_CANONICAL, account: tc.funder });
  if (funding > 0n) await send(tc, created.address, funding);
  return created.address;
}

async function privateKeyOf(key: Key): Promise<Hex> {
  return deriveEthereumPrivateKey(await unlockKeystore(await readKeystore(key.file), 'test password'), 0);
}

const chainArgs = () => ['--chain', String(tc.chain.chainId), '--rpc', tc.chain.rpcUrl];
const ack = ['--ack', 'safe.new_recipient'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-safe-nested-'));
  process.env['MOFN_HOME'] = join(dir, 'home');
  process.env['MOFN_PASSWORD'] = 'test password';
  delete process.env['MOFN_SERVER'];
  delete process.env['MOFN_TOKEN'];
  tc = await startTestChain();
  k = [];
  for (let i = 0; i < 6; i++) {
    const file = join(dir, `k${String(i)}.json`);
    // Low scrypt cost: test keystores only.
    await writeKeystore(file, await createKeystore({ mnemonic: generateMnemonic(128), password: 'test password', network: 'test', kdf: { N: 1024 } }));
    k.push({ file, address: (await ok('key', 'eth-address', '--keystore', file)) as Address });
  }
  ownerA = await newSafe([k[0]!.address], 1, 1n);
  ownerB = await newSafe([k[2]!.address, k[3]!.address, k[4]!.address], 2, 2n);
});

afterAll(async () => {
  await server?.close();
  await tc?.chain.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const key of ENV) {
    if (saved[key] === undefined) Reflect.deleteProperty(process.env, key);
    else process.env[key] = saved[key];
  }
});

describe('mofn safe sign/add-signature --via (local store)', () => {
  it('a 1-of-1 owner Safe signs at once through its owner key; the child executes with its contract signature', async () => {
    const child = await newSafe([ownerA, k[1]!.address], 2, 10n, parseEther('2'));
    await ok('safe', 'import', 'nested-a', '--address', child, ...chainArgs());
    const recipient = freshAddress('nested-cli-a');
    const proposed = JSON.parse(await ok('safe', 'propose', 'nested-a', '--to', recipient, '--value', parseEther('1').toString(), '--json')) as { proposal: { id: number } };
    const id = String(proposed.proposal.id);
    const sign = (key: Key, via: string, ...more: string[]) => run('safe', 'sign', 'nested-a', id, '--keystore', key.file, '--via', via, ...more);

    expect(codeOf(await sign(k[0]!, ownerA))).toBe('safe.unacknowledged_danger');
    // ownerB is a Safe, but not an owner of this child.
    const notOwner = await sign(k[2]!, ownerB, ...ack);
    expect(codeOf(notOwner)).toBe('safe.wrong_owner');
    expect(notOwner.err).toContain(`${ownerB} (--via) is not an owner of Safe 'nested-a'`);
    expect(codeOf(await sign(k[0]!, k[1]!.address, ...ack))).toBe('safe.via_not_a_safe');
    // k1 owns the child, not ownerA.
    const wrongKey = await sign(k[1]!, ownerA, ...ack);
    expect(codeOf(wrongKey)).toBe('safe.wrong_owner');
    expect(wrongKey.err).toContain(`${k[1]!.address} is not an owner of owner Safe ${ownerA}`);
    expect(codeOf(await sign(k[0]!, ownerA, ...ack, '--rpc', tc.chain.rpcUrl))).toBe('option.rpc_not_local');
    expect(codeOf(await run('safe', 'sign', 'nested-a', id, '--keystore', k[0]!.file, ...ack, '--out', join(dir, 'x.json')))).toBe('option.via_required');
    expect(await ok('safe', 'review', 'nested-a', id)).toContain('signatures 0 of 2');

    const signed = await ok('safe', 'sign', 'nested-a', id, '--keystore', k[0]!.file, '--via', ownerA, ...ack);
    expect(signed).toBe(`contract signature of owner Safe ${ownerA} (signed by ${k[0]!.address}) verified and stored: 1 of 2 (safeTxHash ${getSafeTxHash({ chainId: tc.chain.chainId, safeAddress: child }, createSafeTx({ to: recipient, value: parseEther('1'), nonce: 0n }))})`);
    expect(await ok('safe', 'review', 'nested-a', id)).toContain(`${ownerA} (contract, file)`);
    expect(codeOf(await sign(k[0]!, ownerA, ...ack))).toBe('safe.duplicate_signer');

    expect(await ok('safe', 'sign', 'nested-a', id, '--keystore', k[1]!.file, ...ack)).toContain('2 of 2 signature(s)');
    expect(await ok('safe', 'exec', 'nested-a', id)).toContain(`executed proposal ${id}`);
    expect(await tc.clients.public.getBalance({ address: recipient })).toBe(parseEther('1'));
  });

  it('a 2-of-3 owner Safe: partial signature files, combined; too few, strangers and duplicates refused, nothing stored', async () => {
    const child = await newSafe([ownerB, k[1]!.address], 2, 11n, parseEther('2'));
    await ok('safe', 'import', 'nested-b', '--address', child, ...chainArgs());
    const recipient = freshAddress('nested-cli-b');
    const proposed = JSON.parse(await ok('safe', 'propose', 'nested-b', '--to', recipient, '--value', '12345', '--json')) as { proposal: { id: number } };
    const id = String(proposed.proposal.id);
    const childDomain = { chainId: tc.chain.chainId, safeAddress: child };
    const tx = createSafeTx({ to: recipient, value: 12345n, nonce: 0n });
    const messageHash = getSafeMessageHash({ chainId: tc.chain.chainId, safeAddress: ownerB }, encodeSafeTxData(childDomain, tx));
    const partial = (name: string) => join(dir, `${name}.json`);

    // The threshold is read before the keystore is opened: a wrong password is never reached.
    process.env['MOFN_PASSWORD'] = 'not the password';
    try {
      expect(codeOf(await run('safe', 'sign', 'nested-b', id, '--keystore', k[2]!.file, '--via', ownerB, ...ack))).toBe('option.out_required');
    } finally {
      process.env['MOFN_PASSWORD'] = 'test password';
    }
    const first = await ok('safe', 'sign', 'nested-b', id, '--keystore', k[2]!.file, '--via', ownerB, ...ack, '--out', partial('p2'));
    expect(first).toContain(`partial signature of ${k[2]!.address} for owner Safe ${ownerB} written to ${partial('p2')}`);
    expect(first).toContain('1 more owner(s)');
    expect(first).toContain(`mofn safe add-signature nested-b ${id} --via ${ownerB} --file ${partial('p2')}`);
    expect(JSON.parse(readFileSync(partial('p2'), 'utf8'))).toMatchObject({ signer: k[2]!.address, chainId: tc.chain.chainId, safeAddress: ownerB, safeTxHash: messageHash });
    await ok('safe', 'sign', 'nested-b', id, '--keystore', k[4]!.file, '--via', ownerB, ...ack, '--out', partial('p4'));
    expect(codeOf(await run('safe', 'sign', 'nested-b', id, '--keystore', k[5]!.file, '--via', ownerB, ...ack, '--out', partial('p5')))).toBe('safe.wrong_owner');
    expect(existsSync(partial('p5'))).toBe(false);

    const combine = (...files: string[]) => run('safe', 'add-signature', 'nested-b', id, '--via', ownerB, ...files.flatMap((f) => ['--file', f]));
    const alone = await combine(partial('p2'));
    expect(codeOf(alone)).toBe('safe.not_enough_signatures');
    expect(alone.err).toContain(`owner Safe ${ownerB} needs 2 of its owners' signatures, the files hold 1`);
    // A stranger's partial, made outside mofn with the SafeMessage of ownerB: not an owner of ownerB.
    const stranger = await signSafeTxForOwnerSafe(await privateKeyOf(k[5]!), ownerB, childDomain, tx);
    writeFileSync(partial('stranger'), formatSafeSignatureFile(stranger));
    expect(codeOf(await combine(partial('p2'), partial('stranger')))).toBe('safe.wrong_owner');
    expect(codeOf(await combine(partial('p2'), partial('p2')))).toBe('safe.duplicate_signer');
    // A partial is over ownerB's SafeMessage, not the child's SafeTx: alone, it is no signature of the child.
    expect(codeOf(await run('safe', 'add-signature', 'nested-b', id, '--file', partial('p2')))).toBe('safe.wrong_safe');
    expect(codeOf(await run('safe', 'add-signature', 'nested-b', id, '--file', partial('p2'), '--file', partial('p4')))).toBe('option.via_required');
    expect(await ok('safe', 'review', 'nested-b', id)).toContain('signatures 0 of 2');

    expect(await combine(partial('p4'), partial('p2'))).toMatchObject({ code: 0, out: expect.stringContaining(`contract signature of owner Safe ${ownerB} (signed by ${k[4]!.address}, ${k[2]!.address}) verified and stored: 1 of 2`) });
    expect(await ok('safe', 'review', 'nested-b', id)).toContain(`${ownerB} (contract, file)`);
    await ok('safe', 'sign', 'nested-b', id, '--keystore', k[1]!.file, ...ack);
    expect(await ok('safe', 'exec', 'nested-b', id)).toContain(`executed proposal ${id}`);
    expect(await tc.clients.public.getBalance({ address: recipient })).toBe(12345n);
  });
});

describe('mofn safe sign/add-signature --via --server', () => {
  it('two owner Safes and a key sign a 3-of-3 Safe on a coordinator; it executes from here', async () => {
    server = await startTestServer({ kind: 'sqlite', evmRpc: { [tc.chain.chainId]: tc.chain.rpcUrl } });
    // The test drives every state change itself: the job following the chain must not race it.
    await server.jobs.stop();
    process.env['MOFN_SERVER'] = server.url;
    const users = { admin: await server.user('nested-admin'), a: await server.user('nested-a'), b: await server.user('nested-b'), k1: await server.user('nested-k1') };
    const as = (user: keyof typeof users, ...argv: string[]) => {
      process.env['MOFN_TOKEN'] = users[user].token;
      return run(...argv);
    };
    const okAs = async (user: keyof typeof users, ...argv: string[]) => {
      const r = await as(user, ...argv);
      if (r.code !== 0) throw new Error(`mofn ${argv.join(' ')} as ${user} failed (${String(r.code)}): ${r.err}`);
      return r.out.trim();
    };
    const rpc = ['--rpc', tc.chain.rpcUrl];

    const child = await newSafe([ownerA, ownerB, k[1]!.address], 3, 12n, parseEther('1'));
    const reg = JSON.parse(await okAs('admin', 'safe', 'register', 'nested-c', '--address', child, '--chain', String(tc.chain.chainId), '--json', '--server')) as { id: string; owners: string[] };
    const api = client(server.url, users.admin.token);
    const grant = async (user: string, role: string, owner?: Address) => {
      const cosigner = owner === undefined ? undefined : reg.owners.findIndex((o) => o.toLowerCase() === owner.toLowerCase());
      const g = await api.post(`/v1/wallets/${reg.id}/roles`, { user, role, ...(cosigner === undefined ? {} : { cosigner }) });
      expect(g.status, JSON.stringify(g.body)).toBe(201);
    };
    await grant(users.admin.id, 'proposer');
    await grant(users.a.id, 'signer', ownerA);
    await grant(users.b.id, 'signer', ownerB);
    await grant(users.k1.id, 'signer', k[1]!.address);

    const recipient = freshAddress('nested-cli-c');
    const view = JSON.parse(await okAs('admin', 'safe', 'propose', 'nested-c', '--to', recipient, '--value', '777', '--json', '--server')) as { id: number };
    const id = String(view.id);
    const onServer = async () => (await api.get(`/v1/safes/nested-c/proposals/${id}`)).body as { validSignatures: number; signatures: { owner: string; kind: string }[] };

    expect(codeOf(await as('a', 'safe', 'sign', 'nested-c', id, '--keystore', k[0]!.file, '--via', ownerA, ...ack, '--server'))).toBe('option.rpc_required');
    const signedA = await okAs('a', 'safe', 'sign', 'nested-c', id, '--keystore', k[0]!.file, '--via', ownerA, ...ack, ...rpc, '--server');
    expect(signedA).toContain(`contract signature of owner Safe ${ownerA} (signed by ${k[0]!.address}) verified and stored: 1 of 3`);

    const p = (name: string) => join(dir, `remote-${name}.json`);
    const partialOut = await okAs('b', 'safe', 'sign', 'nested-c', id, '--keystore', k[3]!.file, '--via', ownerB, ...ack, '--out', p('k3'), ...rpc, '--server');
    expect(partialOut).toContain(`--via ${ownerB} --file ${p('k3')} --file ... --rpc URL --server`);
    await okAs('b', 'safe', 'sign', 'nested-c', id, '--keystore', k[2]!.file, '--via', ownerB, ...ack, '--out', p('k2'), ...rpc, '--server');
    expect(codeOf(await as('b', 'safe', 'add-signature', 'nested-c', id, '--via', ownerB, '--file', p('k3'), ...rpc, '--server'))).toBe('safe.not_enough_signatures');
    expect((await onServer()).validSignatures).toBe(1);
    // The coordinator binds each signer role to one owner: the holder of ownerA's role cannot add ownerB's signature.
    expect(codeOf(await as('a', 'safe', 'add-signature', 'nested-c', id, '--via', ownerB, '--file', p('k3'), '--file', p('k2'), ...rpc, '--server'))).toBe('signature.not_your_key');
    expect(await okAs('b', 'safe', 'add-signature', 'nested-c', id, '--via', ownerB, '--file', p('k3'), '--file', p('k2'), ...rpc, '--server')).toContain(
      `contract signature of owner Safe ${ownerB} (signed by ${k[3]!.address}, ${k[2]!.address}) verified and stored: 2 of 3`,
    );
    expect(await okAs('k1', 'safe', 'sign', 'nested-c', id, '--keystore', k[1]!.file, ...ack, '--server')).toContain('3 of 3 signature(s)');
    const kinds = (await onServer()).signatures.map((s) => s.kind).sort();
    expect(kinds).toEqual(['contract', 'contract', 'eip712']);

    expect(await okAs('admin', 'safe', 'exec', 'nested-c', id, ...rpc, '--server')).toContain(`executed proposal ${id}`);
    expect(await tc.clients.public.getBalance({ address: recipient })).toBe(777n);
  });
});
