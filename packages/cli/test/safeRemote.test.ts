/**
 * `mofn safe --server` end to end: anvil with the real Safe v1.4.1 contracts, a coordinator over SQLite
 * on 127.0.0.1, one keystore file per owner. The admin registers a 3-of-3 Safe with the CLI, the
 * proposer proposes, two owners sign, the third approves the hash on chain, the proposer executes from
 * here and the coordinator follows it to `confirmed`. A coordinator that lies about the SafeTx is
 * refused before any key is unlocked. A signature made outside mofn is uploaded; a proposal is
 * cancelled. Then approve-hash in local mode, on the same Safe imported here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_ABI, SAFE_V141_CANONICAL, createSafe, createSafeTx, getSafeDomainSeparator, getSafeTxHash, signSafeTxEip712, type SafeSignature } from '@mofn/ethereum';
import { formatSafeSignatureFile, type StoredSafe } from '@mofn/service';
import { createKeystore, deriveEthereumPrivateKey, generateMnemonic, readKeystore, unlockKeystore, writeKeystore } from '@mofn/signers';
import { parseSafeProposalView } from '../src/commands/safeRemote.ts';
import { run, type RunResult } from './run.ts';
import { client, startTestServer, type TestServer } from '../../../test/support/server.ts';
import { freshAddress, send, startTestChain, type TestChain } from '../../service/test/safe/support.ts';

const ENV = ['MOFN_HOME', 'MOFN_PASSWORD', 'MOFN_SERVER', 'MOFN_TOKEN'] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

let dir: string;
let tc: TestChain;
let server: TestServer;
let liar: Server | undefined;
let owners: { file: string; address: Address }[];
let safeAddress: Address;
const users: Record<'admin' | 'proposer' | 's0' | 's1' | 's2', { id: string; token: string }> = {} as never;

/** Runs `mofn ...argv` as `user` (their API token in MOFN_TOKEN). */
async function as(user: keyof typeof users, ...argv: string[]): Promise<RunResult> {
  process.env['MOFN_TOKEN'] = users[user].token;
  return run(...argv);
}

async function okAs(user: keyof typeof users, ...argv: string[]): Promise<string> {
  const r = await as(user, ...argv);
  if (r.code !== 0) throw new Error(`mofn ${argv.join(' ')} as ${user} failed (${String(r.code)}): ${r.err}`);
  return r.out.trim();
}

/** The error code a failed run printed. */
function codeOf(r: RunResult): string {
  expect(r.code, `expected a failure: ${r.out}`).toBe(1);
  return /error \[([a-z_.0-9]+)\]/.exec(r.err)?.[1] ?? r.err;
}

function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'nothing thrown';
}

const rpc = () => ['--rpc', tc.chain.rpcUrl];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mofn-safe-remote-'));
  process.env['MOFN_HOME'] = join(dir, 'home');
  process.env['MOFN_PASSWORD'] = 'test password';
  tc = await startTestChain();
  server = await startTestServer({ kind: 'sqlite', evmRpc: { [tc.chain.chainId]: tc.chain.rpcUrl } });
  // The test drives every state change itself: the job following the chain must not race it.
  await server.jobs.stop();
  process.env['MOFN_SERVER'] = server.url;
  owners = [];
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `owner-${String(i)}.json`);
    // Low scrypt cost: test keystores only.
    await writeKeystore(file, await createKeystore({ mnemonic: generateMnemonic(128), password: 'test password', network: 'test', kdf: { N: 1024 } }));
    const r = await run('key', 'eth-address', '--keystore', file);
    expect(r.code, r.err).toBe(0);
    owners.push({ file, address: r.out.trim() as Address });
  }
  for (const name of ['admin', 'proposer', 's0', 's1', 's2'] as const) users[name] = await server.user(`remote-safe-${name}`);
  const created = await createSafe(tc.clients, { config: { owners: owners.map((o) => o.address), threshold: 3, saltNonce: 11n }, singletons: SAFE_V141_CANONICAL, account: tc.funder });
  safeAddress = created.address;
  await send(tc, safeAddress, parseEther('5'));
  // Owner 2 approves on chain: its key pays that gas.
  await send(tc, owners[2]!.address, parseEther('1'));
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    if (liar === undefined) resolve();
    else liar.close(() => resolve());
  });
  await server?.close();
  await tc?.chain.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const k of ENV) {
    if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = saved[k];
  }
});

describe('mofn safe --server', () => {
  it('register: the admin registers the Safe through the CLI; roles bind signers to owners', async () => {
    const reg = JSON.parse(await okAs('admin', 'safe', 'register', 'team', '--address', safeAddress, '--chain', String(tc.chain.chainId), '--json', '--server'));
    expect(reg).toMatchObject({ name: 'team', chainId: tc.chain.chainId, address: safeAddress, threshold: 3, version: '1.4.1', myRoles: [{ role: 'admin', owner: null }] });
    expect(reg.owners).toEqual(owners.map((o) => o.address));
    const api = client(server.url, users.admin.token);
    const grant = async (user: string, role: string, cosigner?: number) => {
      const g = await api.post(`/v1/wallets/${String(reg.id)}/roles`, { user, role, ...(cosigner === undefined ? {} : { cosigner }) });
      expect(g.status, JSON.stringify(g.body)).toBe(201);
    };
    await grant(users.proposer.id, 'proposer');
    for (const [i, signer] of (['s0', 's1', 's2'] as const).entries()) await grant(users[signer].id, 'signer', i);
    const shown = await okAs('s1', 'safe', 'show', 'team', '--server');
    expect(shown).toContain('threshold 3 of 3 owners');
    expect(shown).toContain(`your roles: signer for ${owners[1]!.address.toLowerCase()}`);
  });

  it('propose, two owners sign, one approves the hash on chain, execute from here: confirmed', async () => {
    const recipient = freshAddress('cli-remote-eth');
    const view = JSON.parse(await okAs('proposer', 'safe', 'propose', 'team', '--to', recipient, '--value', parseEther('1').toString(), '--json', '--server'));
    const expected = getSafeTxHash({ chainId: tc.chain.chainId, safeAddress }, createSafeTx({ to: recipient, value: parseEther('1'), nonce: 0n }));
    expect(view).toMatchObject({ id: 1, state: 'collecting', nonce: '0', safeTxHash: expected, dangers: ['safe.new_recipient'] });
    const api = client(server.url, users.s0.token);
    const onServer = async () => (await api.get(`/v1/safes/team/proposals/1`)).body;

    // The danger only the coordinator can see (a first payment to this address) still needs --ack here.
    const refused = await as('s0', 'safe', 'sign', 'team', '1', '--keystore', owners[0]!.file, '--server');
    expect(codeOf(refused)).toBe('safe.unacknowledged_danger');
    expect(refused.err).toContain('DANGER [safe.new_recipient]');
    expect((await onServer()).validSignatures).toBe(0);

    const signed = await as('s0', 'safe', 'sign', 'team', '1', '--keystore', owners[0]!.file, '--ack', 'safe.new_recipient', '--server');
    expect(signed.code, signed.err).toBe(0);
    expect(signed.out).toContain('1 of 3 signature(s)');
    expect(signed.err).toContain(`safeTxHash        ${expected}`);
    expect(signed.err).toContain(`domain separator  ${getSafeDomainSeparator({ chainId: tc.chain.chainId, safeAddress })}`);
    // A signer role binds one owner: s1 cannot sign with owner 2's key, nor again with owner 0's.
    expect(codeOf(await as('s1', 'safe', 'sign', 'team', '1', '--keystore', owners[2]!.file, '--ack', 'safe.new_recipient', '--server'))).toBe('signature.not_your_key');
    expect(codeOf(await as('s1', 'safe', 'sign', 'team', '1', '--keystore', owners[0]!.file, '--ack', 'safe.new_recipient', '--server'))).toBe('safe.duplicate_signer');
    expect(await okAs('s1', 'safe', 'sign', 'team', '1', '--keystore', owners[1]!.file, '--ack', 'safe.new_recipient', '--server')).toContain('2 of 3 signature(s)');

    const block = await tc.clients.public.getBlockNumber();
    expect(codeOf(await as('proposer', 'safe', 'exec', 'team', '1', ...rpc(), '--server'))).toBe('safe.not_enough_signatures');
    expect(codeOf(await as('proposer', 'safe', 'exec', 'team', '1', '--server'))).toBe('option.rpc_required');
    expect(await tc.clients.public.getBlockNumber()).toBe(block);

    expect(codeOf(await as('s2', 'safe', 'approve-hash', 'team', '1', '--from-keystore', owners[2]!.file, ...rpc(), '--server'))).toBe('safe.unacknowledged_danger');
    expect(await tc.clients.public.getBlockNumber()).toBe(block);
    const approved = await okAs('s2', 'safe', 'approve-hash', 'team', '1', '--from-keystore', owners[2]!.file, ...rpc(), '--ack', 'safe.new_recipient', '--server');
    expect(approved).toMatch(new RegExp(`^hash approved by ${owners[2]!.address} in tx 0x[0-9a-f]{64}: 3 of 3 signature\\(s\\) \\(safeTxHash ${expected}\\)$`));
    expect(await tc.clients.public.readContract({ address: safeAddress, abi: SAFE_ABI, functionName: 'approvedHashes', args: [owners[2]!.address, expected] })).toBe(1n);

    const review = await okAs('s0', 'safe', 'review', 'team', '1', '--server');
    expect(review).toContain('signatures 3 of 3');
    expect(review).toContain(`${owners[2]!.address} (approved_hash)`);
    const typedFile = join(dir, 'typed.json');
    const typed = await as('s0', 'safe', 'typed-data', 'team', '1', '--out', typedFile, '--server');
    expect(typed.err).toContain(`safeTxHash ${expected}`);
    const td = JSON.parse(readFileSync(typedFile, 'utf8'));
    expect(td.domain).toEqual({ chainId: tc.chain.chainId, verifyingContract: safeAddress });
    expect(getSafeTxHash({ chainId: td.domain.chainId, safeAddress: td.domain.verifyingContract }, createSafeTx({ to: td.message.to, value: BigInt(td.message.value), data: td.message.data, nonce: BigInt(td.message.nonce) }))).toBe(expected);

    const before = await tc.clients.public.getBalance({ address: recipient });
    const exec = await okAs('proposer', 'safe', 'exec', 'team', '1', ...rpc(), '--server');
    expect(exec).toMatch(/^executed proposal 1: tx 0x[0-9a-f]{64} in block \d+, gas used \d+ \(estimate \d+\)/);
    expect(exec).toContain('proposal 1 is confirmed');
    expect((await tc.clients.public.getBalance({ address: recipient })) - before).toBe(parseEther('1'));
    const final = await onServer();
    expect(final.state).toBe('confirmed');
    expect(exec).toContain(`tx ${String(final.execTxHash)}`);
    expect(await okAs('s0', 'safe', 'list', 'team', '--server')).toMatch(/nonce 0\n\s+1 confirmed\s+eth\s+3\/3 sigs/);
  });

  it('a coordinator that lies about the SafeTx is refused before any key is unlocked', async () => {
    const honest = JSON.parse(await okAs('proposer', 'safe', 'propose', 'team', '--to', freshAddress('cli-remote-2'), '--value', '1000', '--json', '--server'));
    expect(honest).toMatchObject({ id: 2, nonce: '1' });
    // A coordinator showing another recipient under the honest safeTxHash, recording every request.
    const requests: string[] = [];
    const tampered = { ...honest, tx: { ...honest.tx, to: freshAddress('cli-remote-thief') } };
    liar = createServer((req, res) => {
      requests.push(`${req.method ?? '?'} ${req.url ?? '?'}`);
      const lie = req.method === 'GET' && req.url === '/v1/safes/team/proposals/2';
      res.writeHead(lie ? 200 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(lie ? tampered : { error: { code: 'test.unexpected', message: 'the test coordinator answers nothing else' } }));
    });
    await new Promise<void>((resolve) => liar!.listen(0, '127.0.0.1', resolve));
    const liarUrl = `http://127.0.0.1:${String((liar.address() as AddressInfo).port)}`;
    process.env['MOFN_PASSWORD'] = 'not the password';
    try {
      const r = await as('s0', 'safe', 'sign', 'team', '2', '--keystore', owners[0]!.file, '--ack', 'safe.new_recipient', '--server', liarUrl);
      // With a wrong password, reaching the keystore would have failed with keystore.* instead.
      expect(codeOf(r)).toBe('safe.server_hash_mismatch');
    } finally {
      process.env['MOFN_PASSWORD'] = 'test password';
    }
    expect(requests).toEqual(['GET /v1/safes/team/proposals/2']);
    expect((await client(server.url, users.s0.token).get('/v1/safes/team/proposals/2')).body.validSignatures).toBe(0);

    // The check itself: the domain separator, a replay on another chain, a chain other than the one stored here.
    expect(thrownCode(() => parseSafeProposalView(honest, []))).toBe('nothing thrown');
    const checked = parseSafeProposalView(honest, []);
    expect(checked.review.dangers).toEqual([]);
    expect(checked.dangers).toEqual(['safe.new_recipient']);
    expect(thrownCode(() => parseSafeProposalView({ ...honest, domainSeparator: `0x${'11'.repeat(32)}` }, []))).toBe('safe.server_domain_mismatch');
    expect(thrownCode(() => parseSafeProposalView({ ...honest, chainId: 1 }, []))).toBe('safe.server_hash_mismatch');
    expect(thrownCode(() => parseSafeProposalView({ ...honest, tx: { ...honest.tx, nonce: '2' } }, []))).toBe('remote.bad_response');
    const elsewhere = { name: 'team-mainnet', chainId: 1, address: safeAddress, threshold: 3 } as unknown as StoredSafe;
    expect(thrownCode(() => parseSafeProposalView(honest, [elsewhere]))).toBe('safe.chain_mismatch');
    expect(thrownCode(() => parseSafeProposalView(honest, [elsewhere, { ...elsewhere, name: 'team', chainId: tc.chain.chainId }]))).toBe('nothing thrown');
  });

  it('add-signature uploads a signature made elsewhere; cancel withdraws the proposal, which can no longer be signed', async () => {
    // Owner 1 signs the exported typed data outside mofn, with the key of its keystore.
    const typed = JSON.parse(await okAs('s1', 'safe', 'typed-data', 'team', '2', '--server'));
    const m = typed.message;
    const tx = createSafeTx({ to: m.to, value: BigInt(m.value), data: m.data, operation: Number(m.operation) as 0, nonce: BigInt(m.nonce) });
    const ownerKey = deriveEthereumPrivateKey(await unlockKeystore(await readKeystore(owners[1]!.file), 'test password'), 0);
    const domain = { chainId: typed.domain.chainId, safeAddress: typed.domain.verifyingContract };
    const sigFile = (name: string, sig: SafeSignature) => {
      const path = join(dir, `${name}.json`);
      writeFileSync(path, formatSafeSignatureFile(sig));
      return path;
    };
    const other = await signSafeTxEip712(ownerKey, domain, createSafeTx({ ...tx, value: tx.value + 1n }));
    expect(codeOf(await as('s1', 'safe', 'add-signature', 'team', '2', '--file', sigFile('other', other), '--server'))).toBe('safe.wrong_transaction');
    const good = await signSafeTxEip712(ownerKey, domain, tx);
    expect(await okAs('s1', 'safe', 'add-signature', 'team', '2', '--file', sigFile('good', good), '--server')).toBe(`signature of ${owners[1]!.address} (eip712) verified and stored: 1 of 3`);

    const cancelled = await okAs('proposer', 'safe', 'cancel', 'team', '2', '--server');
    expect(cancelled).toContain("proposal 2 of Safe 'team': cancelled on the coordinator");
    expect(cancelled).toContain('--reject 1');
    expect(codeOf(await as('s0', 'safe', 'sign', 'team', '2', '--keystore', owners[0]!.file, '--ack', 'safe.new_recipient', '--server'))).toBe('safe.proposal_closed');
    // A confirmed proposal accepts no cancel, whoever asks (the shared workflow's table).
    expect(codeOf(await as('s0', 'safe', 'cancel', 'team', '1', '--server'))).toBe('proposal.terminal');
  });

  it('approve-hash in local mode: approved on chain, stored after the on-chain check, counted at execution', async () => {
    await okAs('admin', 'safe', 'import', 'team-here', '--address', safeAddress, '--chain', String(tc.chain.chainId), ...rpc());
    const to = freshAddress('cli-local-approve');
    const proposed = JSON.parse(await okAs('admin', 'safe', 'propose', 'team-here', '--to', to, '--value', '1000', '--json'));
    const id = String(proposed.proposal.id);
    expect(codeOf(await as('admin', 'safe', 'approve-hash', 'team-here', id, '--from-keystore', owners[2]!.file))).toBe('safe.unacknowledged_danger');
    expect(codeOf(await as('admin', 'safe', 'approve-hash', 'team-here', id, '--from-keystore', owners[2]!.file, '--ack', 'safe.new_recipient', ...rpc()))).toBe('option.rpc_not_local');
    const approved = await okAs('admin', 'safe', 'approve-hash', 'team-here', id, '--from-keystore', owners[2]!.file, '--ack', 'safe.new_recipient');
    expect(approved).toMatch(/in tx 0x[0-9a-f]{64}: 1 of 3 signature\(s\)/);
    expect(await okAs('admin', 'safe', 'review', 'team-here', id)).toContain(`${owners[2]!.address} (approved_hash, file)`);
    for (const o of [owners[0]!, owners[1]!]) await okAs('admin', 'safe', 'sign', 'team-here', id, '--keystore', o.file, '--ack', 'safe.new_recipient');
    expect(await okAs('admin', 'safe', 'exec', 'team-here', id)).toContain(`executed proposal ${id}`);
    expect(await tc.clients.public.getBalance({ address: to })).toBe(1000n);
    // Now stored here on the same chain, the Safe passes the chain check of remote mode.
    expect(await okAs('s0', 'safe', 'review', 'team', '1', '--server')).not.toContain('not stored on this machine');
  });
});
