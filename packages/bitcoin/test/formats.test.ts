/**
 * Wallet file formats without the public vectors: export -> import round trips on random wallets
 * (same policy, same first 100 addresses), the rules each format enforces, and fuzzed files
 * giving typed `walletfile.*` errors only.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HDKey } from '@scure/bip32';
import { InvalidWalletFileError } from '@mofn/core';
import {
  detectWalletFile,
  exportCaravanConfig,
  exportColdcardConfig,
  importWalletFile,
  parseCaravanConfig,
  parseColdcardConfig,
  parseColdcardXpubExport,
  parseElectrumWallet,
} from '../src/formats/index.ts';
import { createAddressDeriver, createPolicy, policyToDescriptor, walletIdOf } from '../src/wallet/index.ts';
import { formatDerivationPath } from '../src/keys/index.ts';
import { HARDENED } from '../src/types.ts';
import type { MultisigPolicy, Network, ScriptType } from '../src/types.ts';

const VERSIONS = { main: { private: 0x0488ade4, public: 0x0488b21e }, test: { private: 0x04358394, public: 0x043587cf } };
const H = HARDENED;

/** A cosigner from a deterministic seed, derived with @scure/bip32 (independent of mofn's key code). */
function cosigner(seedByte: number, path: readonly number[], network: Network): { key: string; fingerprint: string; xpub: string; xprv: string } {
  const versions = network === 'main' ? VERSIONS.main : VERSIONS.test;
  const master = HDKey.fromMasterSeed(new Uint8Array(32).fill(seedByte), versions);
  const fingerprint = master.fingerprint.toString(16).padStart(8, '0');
  const node = master.derive(path.length === 0 ? 'm' : `m/${formatDerivationPath(path, { marker: "'", prefix: false })}`);
  const origin = path.length === 0 ? fingerprint : `${fingerprint}/${formatDerivationPath(path, { marker: 'h', prefix: false })}`;
  return { key: `[${origin}]${node.publicExtendedKey}`, fingerprint, xpub: node.publicExtendedKey, xprv: node.privateExtendedKey };
}

function accountPath(type: ScriptType, network: Network, account: number): number[] {
  const coin = network === 'main' ? 0 : 1;
  if (type === 'sh') return [45 + H];
  return [48 + H, coin + H, account + H, (type === 'wsh' ? 2 : 1) + H];
}

function wallet(type: ScriptType, m: number, seeds: readonly number[], network: Network, paths?: readonly (readonly number[])[]): MultisigPolicy {
  const keys = seeds.map((s, i) => cosigner(s, paths?.[i] ?? accountPath(type, network, 0), network).key);
  return createPolicy({ type, threshold: m, keys, network, sorted: true });
}

function addresses(policy: MultisigPolicy, count: number): string[] {
  const d = createAddressDeriver(policy);
  return Array.from({ length: count }, (_, i) => d.derive(0, i).address).concat(Array.from({ length: 5 }, (_, i) => d.derive(1, i).address));
}

function expectSameWallet(a: MultisigPolicy, b: MultisigPolicy): void {
  expect(walletIdOf(a)).toBe(walletIdOf(b));
  // Same keys in the same order, with the same origins.
  expect(policyToDescriptor(a)).toBe(policyToDescriptor(b));
  expect(a.network).toBe(b.network);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidWalletFileError);
    return (e as InvalidWalletFileError).code;
  }
}

const TWO_OF_THREE = wallet('wsh', 2, [1, 2, 3], 'test');

describe('round trips on random wallets', () => {
  const arbWallet = fc
    .record({
      type: fc.constantFrom<ScriptType>('sh', 'wsh', 'sh-wsh'),
      network: fc.constantFrom<Network>('main', 'test', 'signet', 'regtest'),
      seeds: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 5 }),
      mixedPaths: fc.boolean(),
      mRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ type, network, seeds, mixedPaths, mRatio }) => {
      const m = Math.max(1, Math.ceil(mRatio * seeds.length));
      // Coldcard allows the derivation to change between keys: use a different account per key.
      const paths = seeds.map((_, i) => accountPath(type, network, mixedPaths ? i : 0));
      return wallet(type, m, seeds, network, paths);
    });

  it('Caravan: export -> import is the same wallet with the same first 100 addresses', () => {
    fc.assert(
      fc.property(arbWallet, (policy) => {
        const text = exportCaravanConfig(policy, 'Family vault');
        expect(detectWalletFile(text)).toBe('caravan');
        const back = parseCaravanConfig(text);
        expect(back.name).toBe('Family vault');
        expectSameWallet(back.policy, policy);
        expect(addresses(back.policy, 100)).toEqual(addresses(policy, 100));
      }),
      { numRuns: 12 },
    );
  });

  it('Coldcard: export -> import (with the network, which the format does not carry) is the same wallet', () => {
    fc.assert(
      fc.property(arbWallet, (policy) => {
        const text = exportColdcardConfig(policy, 'Vault #2');
        expect(detectWalletFile(text)).toBe('coldcard');
        const back = parseColdcardConfig(text, policy.network);
        expect(back.name).toBe('Vault #2');
        expectSameWallet(back.policy, policy);
        expect(addresses(back.policy, 100)).toEqual(addresses(policy, 100));
        expect(importWalletFile(text, { network: policy.network }).policy.network).toBe(policy.network);
      }),
      { numRuns: 12 },
    );
  });

  it('descriptor text: import gives the same wallet', () => {
    const text = `# my wallet\n${policyToDescriptor(TWO_OF_THREE, { checksum: true })}\n`;
    expect(detectWalletFile(text)).toBe('descriptor');
    expectSameWallet(importWalletFile(text, { name: 'd' }).policy, TWO_OF_THREE);
    const pair = `${policyToDescriptor(TWO_OF_THREE, { branch: 0, checksum: true })}\n${policyToDescriptor(TWO_OF_THREE, { branch: 1, checksum: true })}\n`;
    expectSameWallet(importWalletFile(pair).policy, TWO_OF_THREE);
    const json = JSON.stringify({ label: 'Specter wallet', blockheight: 0, descriptor: policyToDescriptor(TWO_OF_THREE, { branch: 0 }) });
    expect(importWalletFile(json)).toMatchObject({ kind: 'descriptor', name: 'Specter wallet' });
  });
});

describe('Caravan rules', () => {
  const base = JSON.parse(exportCaravanConfig(TWO_OF_THREE, 'base'));
  const withChange = (change: (c: any) => void) => {
    const c = structuredClone(base);
    change(c);
    return JSON.stringify(c);
  };

  it('writes Caravan fields', () => {
    expect(base).toMatchObject({ name: 'base', addressType: 'P2WSH', network: 'testnet', quorum: { requiredSigners: 2, totalSigners: 3 }, startingAddressIndex: 0 });
    expect(base.extendedPublicKeys[0]).toMatchObject({ bip32Path: "m/48'/1'/0'/2'", method: 'text' });
    expect(base.extendedPublicKeys[0].xfp).toMatch(/^[0-9a-f]{8}$/);
  });

  it("accepts bip32Path 'Unknown' as a key without origin, and exports it back the same way", () => {
    const text = withChange((c) => {
      c.extendedPublicKeys[1].bip32Path = 'Unknown';
    });
    const { policy } = parseCaravanConfig(text);
    expect(policy.keys[1]!.origin).toBeUndefined();
    expect(policy.keys[0]!.origin).toBeDefined();
    const out = JSON.parse(exportCaravanConfig(policy, 'x'));
    expect(out.extendedPublicKeys[1].bip32Path).toBe('Unknown');
    expect(out.extendedPublicKeys[1].xfp).toBeUndefined();
    expectSameWallet(parseCaravanConfig(JSON.stringify(out)).policy, policy);
  });

  it.each([
    ['walletfile.key_count', (c: any) => {
      c.quorum.totalSigners = 4;
    }],
    ['walletfile.bad_quorum', (c: any) => {
      c.quorum.requiredSigners = 4;
    }],
    ['walletfile.bad_quorum', (c: any) => {
      c.quorum.requiredSigners = 0;
    }],
    ['walletfile.bad_field', (c: any) => {
      c.quorum.requiredSigners = '2';
    }],
    ['walletfile.unsupported_type', (c: any) => {
      c.addressType = 'P2TR';
    }],
    ['walletfile.bad_network', (c: any) => {
      c.network = 'litecoin';
    }],
    ['walletfile.wrong_network', (c: any) => {
      c.network = 'mainnet';
    }],
    ['walletfile.missing_field', (c: any) => {
      delete c.extendedPublicKeys;
    }],
    ['walletfile.missing_field', (c: any) => {
      delete c.name;
    }],
    ['walletfile.bad_key', (c: any) => {
      c.extendedPublicKeys[0].xpub = `${c.extendedPublicKeys[0].xpub.slice(0, -1)}x`;
    }],
    ['walletfile.bad_fingerprint', (c: any) => {
      c.extendedPublicKeys[0].xfp = 'xyz';
    }],
    ['walletfile.bad_path', (c: any) => {
      c.extendedPublicKeys[0].bip32Path = "m/48'/x";
    }],
    ['walletfile.path_depth_mismatch', (c: any) => {
      c.extendedPublicKeys[0].bip32Path = "m/48'/1'/0'";
    }],
    ['walletfile.bad_policy', (c: any) => {
      c.extendedPublicKeys[1] = c.extendedPublicKeys[0];
    }],
    ['walletfile.bad_field', (c: any) => {
      c.startingAddressIndex = -1;
    }],
  ] as [string, (c: any) => void][])('%s', (code, change) => {
    expect(codeOf(() => parseCaravanConfig(withChange(change)))).toBe(code);
  });

  it('refuses a private key without echoing it', () => {
    const secret = cosigner(9, accountPath('wsh', 'test', 0), 'test').xprv;
    const text = withChange((c) => (c.extendedPublicKeys[2].xpub = secret));
    try {
      parseCaravanConfig(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'walletfile.private_key' });
      expect(JSON.stringify({ m: (e as Error).message, d: (e as InvalidWalletFileError).details })).not.toContain(secret.slice(4, 40));
    }
  });

  it('checks the expected network', () => {
    expect(codeOf(() => parseCaravanConfig(JSON.stringify(base), { network: 'main' }))).toBe('walletfile.wrong_network');
    expect(parseCaravanConfig(JSON.stringify(base), { network: 'test' }).policy.network).toBe('test');
  });

  it('export refuses what Caravan cannot express', () => {
    const keys = [1, 2, 3].map((s) => cosigner(s, [86 + H, 1 + H, H], 'test').key);
    expect(codeOf(() => exportCaravanConfig(createPolicy({ type: 'tr', threshold: 2, keys, network: 'test', sorted: true }), 'x'))).toBe('walletfile.unsupported_type');
    expect(codeOf(() => exportCaravanConfig(createPolicy({ type: 'wsh', threshold: 2, keys, network: 'test', sorted: false }), 'x'))).toBe('walletfile.unsupported_unsorted');
    expect(codeOf(() => exportCaravanConfig(TWO_OF_THREE, ' '))).toBe('walletfile.bad_name');
  });
});

describe('Coldcard rules', () => {
  const [a, b] = [1, 2].map((s) => cosigner(s, accountPath('wsh', 'test', 0), 'test'));
  const line = (k: { fingerprint: string; xpub: string }) => `${k.fingerprint.toUpperCase()}: ${k.xpub}`;
  const file = (...body: string[]) => body.join('\n');

  it('reads Derivation changes between keys, comments, Format aliases and default policy', () => {
    const [p, q, r] = [21, 22, 23].map((s) => cosigner(s, accountPath('sh-wsh', 'test', 0), 'test'));
    const t = cosigner(24, accountPath('sh-wsh', 'test', 7), 'test');
    const text = file(
      '# comment line',
      'Name: Vault #2   # trailing comment',
      'Policy: 2 / 4',
      'Format: p2wsh-p2sh',
      "Derivation: m/48'/1'/0'/1'",
      line(p!),
      line(q!),
      line(r!),
      'derivation: m/48h/1h/7h/1h',
      line(t),
    );
    expect(detectWalletFile(text)).toBe('coldcard');
    const { name, policy } = parseColdcardConfig(text);
    expect(name).toBe('Vault #2');
    expect(policy.type).toBe('sh-wsh');
    expect(policy.threshold).toBe(2);
    expect(policy.keys.map((k) => k.origin!.path[2])).toEqual([H, H, H, 7 + H]);
    const out = exportColdcardConfig(policy, name);
    expect(out).toContain('Format: P2SH-P2WSH');
    expect(out.match(/^Derivation:/gm)).toHaveLength(2);
    expectSameWallet(parseColdcardConfig(out).policy, policy);
    const [u, v] = [25, 26].map((s) => cosigner(s, accountPath('sh', 'test', 0), 'test'));
    const noPolicy = parseColdcardConfig(file("Derivation: m/45'", line(u!), line(v!)));
    expect(noPolicy).toMatchObject({ name: '2-of-2', policy: { threshold: 2, type: 'sh' } });
  });

  it('a bare depth-1 xpub carries its own fingerprint and path', () => {
    const k = cosigner(5, [45 + H], 'test');
    const text = file('Policy: 1 of 2', k.xpub, `Derivation: m/45'`, line(cosigner(6, [45 + H], 'test')));
    const { policy } = parseColdcardConfig(text);
    expect(policy.keys[0]!.origin).toEqual({ fingerprint: k.fingerprint, path: [45 + H] });
  });

  it.each([
    ['walletfile.bad_line', file('Name: x', 'Policy 2 of 3', "Derivation: m/48'/1'/0'/2'", line(a!))],
    ['walletfile.bad_line', file('Name: x', 'Wallet: y', "Derivation: m/48'/1'/0'/2'", line(a!))],
    ['walletfile.bad_policy_line', file('Policy: two of three', "Derivation: m/48'/1'/0'/2'", line(a!))],
    ['walletfile.duplicate_field', file('Name: x', 'Name: y', "Derivation: m/48'/1'/0'/2'", line(a!))],
    ['walletfile.unsupported_type', file('Format: P2TR', "Derivation: m/48'/1'/0'/2'", line(a!))],
    ['walletfile.missing_path', file('Policy: 1 of 1', line(a!))],
    ['walletfile.missing_fingerprint', file('Policy: 1 of 1', "Derivation: m/48'/1'/0'/2'", a!.xpub)],
    ['walletfile.key_count', file('Policy: 2 of 3', "Derivation: m/48'/1'/0'/2'", line(a!), line(b!))],
    ['walletfile.bad_quorum', file('Policy: 3 of 2', "Derivation: m/48'/1'/0'/2'", line(a!), line(b!))],
    ['walletfile.path_depth_mismatch', file('Policy: 1 of 1', "Derivation: m/48'/1'/0'", line(a!))],
    ['walletfile.bad_path', file('Policy: 1 of 1', 'Derivation: m/x', line(a!))],
    ['walletfile.no_keys', file('Name: x', 'Policy: 1 of 1')],
    ['walletfile.bad_key', file('Policy: 1 of 1', "Derivation: m/48'/1'/0'/2'", `${a!.fingerprint}: ${a!.xpub.slice(0, -2)}`)],
    ['walletfile.private_key', file('Policy: 1 of 1', "Derivation: m/48'/1'/0'/2'", `${a!.fingerprint}: ${a!.xprv}`)],
    ['walletfile.mixed_networks', file('Policy: 1 of 2', "Derivation: m/48'/1'/0'/2'", line(a!), line(cosigner(7, accountPath('wsh', 'main', 0), 'main')))],
  ] as const)('%s', (code, text) => {
    expect(codeOf(() => parseColdcardConfig(text))).toBe(code);
  });

  it('checks the expected network', () => {
    const text = file('Policy: 1 of 1', "Derivation: m/48'/1'/0'/2'", line(a!));
    expect(codeOf(() => parseColdcardConfig(text, 'main'))).toBe('walletfile.wrong_network');
    expect(parseColdcardConfig(text, 'regtest').policy.network).toBe('regtest');
  });

  it('export refuses what Coldcard cannot take', () => {
    const noOrigin = createPolicy({ type: 'wsh', threshold: 1, keys: [a!.xpub, b!.key], network: 'test' });
    expect(codeOf(() => exportColdcardConfig(noOrigin, 'x'))).toBe('walletfile.missing_origin');
    expect(codeOf(() => exportColdcardConfig(TWO_OF_THREE, 'a name that is far too long'))).toBe('walletfile.bad_name');
    expect(codeOf(() => exportColdcardConfig(TWO_OF_THREE, 'bad # name'))).toBe('walletfile.bad_name');
    expect(codeOf(() => exportColdcardConfig(TWO_OF_THREE, 'naïve'))).toBe('walletfile.bad_name');
    const sameSeed = createPolicy({ type: 'wsh', threshold: 1, keys: [a!.key, cosigner(1, accountPath('wsh', 'test', 1), 'test').key], network: 'test' });
    expect(codeOf(() => exportColdcardConfig(sameSeed, 'x'))).toBe('walletfile.duplicate_fingerprint');
    const many = wallet('wsh', 2, Array.from({ length: 16 }, (_, i) => i + 1), 'test');
    expect(codeOf(() => exportColdcardConfig(many, 'x'))).toBe('walletfile.too_many_keys');
  });
});

describe('Coldcard xpub export and Electrum rules', () => {
  const k = cosigner(11, accountPath('wsh', 'test', 0), 'test');
  const ccxp = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ xfp: k.fingerprint.toUpperCase(), p2wsh_deriv: "m/48'/1'/0'/2'", p2wsh: k.xpub, p2wsh_desc: `wsh(sortedmulti(M,[${k.fingerprint}/48'/1'/0'/2']${k.xpub}/0/*,...))`, account: '0', ...over });

  it('reads the key and checks it against the template', () => {
    expect(parseColdcardXpubExport(ccxp(), 'wsh')).toBe(k.key);
    expect(codeOf(() => parseColdcardXpubExport(ccxp(), 'sh'))).toBe('walletfile.missing_field');
    expect(codeOf(() => parseColdcardXpubExport(ccxp({ p2wsh_desc: `wsh(sortedmulti(M,[${k.fingerprint}/48'/1'/1'/2']${k.xpub}/0/*,...))` }), 'wsh'))).toBe('walletfile.inconsistent');
    const other = cosigner(12, accountPath('wsh', 'test', 0), 'test');
    expect(codeOf(() => parseColdcardXpubExport(ccxp({ p2wsh_desc: `wsh(sortedmulti(M,[${k.fingerprint}/48'/1'/0'/2']${other.xpub}/0/*,...))` }), 'wsh'))).toBe('walletfile.inconsistent');
    expect(codeOf(() => parseColdcardXpubExport(ccxp({ p2wsh_deriv: "m/48'/1'/0'" }), 'wsh'))).toBe('walletfile.path_depth_mismatch');
    expect(codeOf(() => parseColdcardXpubExport(ccxp(), 'wsh', 'main'))).toBe('walletfile.wrong_network');
    expect(codeOf(() => parseColdcardXpubExport(ccxp({ xfp: 'nope' }), 'wsh'))).toBe('walletfile.bad_fingerprint');
  });

  it('Electrum: wallet_type, keystores, script type from SLIP-132, fingerprints', () => {
    const keys = [1, 2, 3].map((s) => cosigner(s, accountPath('sh', 'test', 0), 'test'));
    const el = (over: Record<string, unknown> = {}) =>
      JSON.stringify({
        wallet_type: '2of3',
        ...Object.fromEntries(keys.map((x, i) => [`x${i + 1}/`, { type: 'bip32', xpub: x.xpub, derivation: "m/45'", root_fingerprint: x.fingerprint }])),
        ...over,
      });
    expect(detectWalletFile(el())).toBe('electrum');
    const { policy } = parseElectrumWallet(el());
    expect(policy).toMatchObject({ type: 'sh', threshold: 2, network: 'test', sorted: true });
    expect(policy.keys.map((x) => x.origin?.fingerprint)).toEqual(keys.map((x) => x.fingerprint));
    expect(codeOf(() => parseElectrumWallet(el({ wallet_type: 'standard' })))).toBe('walletfile.not_multisig');
    expect(codeOf(() => parseElectrumWallet(el({ 'x3/': undefined })))).toBe('walletfile.missing_field');
    expect(codeOf(() => parseElectrumWallet(el({ 'x4/': { xpub: keys[0]!.xpub } })))).toBe('walletfile.key_count');
    expect(codeOf(() => parseElectrumWallet(el({ 'x2/': { xpub: keys[1]!.xprv } })))).toBe('walletfile.private_key');
    expect(codeOf(() => parseElectrumWallet('QklFMQabc'))).toBe('walletfile.encrypted');
  });
});

describe('fuzzed files give typed walletfile errors only', () => {
  const samples = [
    exportCaravanConfig(TWO_OF_THREE, 'fuzz'),
    exportColdcardConfig(TWO_OF_THREE, 'fuzz'),
    `${policyToDescriptor(TWO_OF_THREE, { checksum: true })}\n`,
  ];

  function assertTyped(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidWalletFileError);
      expect((e as InvalidWalletFileError).code).toMatch(/^walletfile\.[a-z_]+$/);
    }
  }

  const mutation = fc.oneof(
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8 }) }),
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom('0', '1', ':', '"', '{', '}', '\n', '#', 'x', "'", '/', ' of ', 'null', '-1') }),
    fc.record({ op: fc.constant('swapLines' as const), at: fc.nat(), len: fc.nat() }),
  );

  function mutate(text: string, muts: readonly { op: string; at: number; len?: number; text?: string }[]): string {
    let t = text;
    for (const m of muts) {
      const at = t.length === 0 ? 0 : m.at % t.length;
      if (m.op === 'delete') t = t.slice(0, at) + t.slice(at + (m.len ?? 1));
      else if (m.op === 'insert') t = t.slice(0, at) + (m.text ?? '') + t.slice(at);
      else if (m.op === 'replace') t = t.slice(0, at) + (m.text ?? '') + t.slice(at + 1);
      else {
        const lines = t.split('\n');
        const i = m.at % lines.length;
        const j = (m.len ?? 0) % lines.length;
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        t = lines.join('\n');
      }
    }
    return t;
  }

  it('mutated Caravan, Coldcard and descriptor files', () => {
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.array(mutation, { minLength: 1, maxLength: 4 }), (sample, muts) => {
        const text = mutate(sample, muts);
        expect(() => detectWalletFile(text)).not.toThrow();
        assertTyped(() => importWalletFile(text));
        assertTyped(() => parseCaravanConfig(text));
        assertTyped(() => parseColdcardConfig(text));
        assertTyped(() => parseElectrumWallet(text));
        assertTyped(() => parseColdcardXpubExport(text, 'wsh'));
      }),
      { numRuns: 300 },
    );
  });

  it('random text and JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        expect(() => detectWalletFile(text)).not.toThrow();
        assertTyped(() => importWalletFile(text));
        assertTyped(() => parseCaravanConfig(text));
        assertTyped(() => parseColdcardConfig(text));
        assertTyped(() => parseElectrumWallet(text));
      }),
      { numRuns: 300 },
    );
  });

  it('structurally valid JSON with wrong field types', () => {
    const base = JSON.parse(samples[0]!);
    const paths = ['name', 'addressType', 'network', 'quorum', 'quorum.requiredSigners', 'quorum.totalSigners', 'extendedPublicKeys', 'extendedPublicKeys.0', 'extendedPublicKeys.0.xpub', 'extendedPublicKeys.0.bip32Path', 'extendedPublicKeys.0.xfp', 'startingAddressIndex'];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const c = structuredClone(base);
        const parts = path.split('.');
        let target = c;
        for (const p of parts.slice(0, -1)) target = target[p];
        target[parts.at(-1)!] = value;
        assertTyped(() => parseCaravanConfig(JSON.stringify(c)));
      }),
      { numRuns: 300 },
    );
  });

  it('non-string input and oversized files', () => {
    expect(codeOf(() => importWalletFile(42 as unknown as string))).toBe('walletfile.not_text');
    expect(codeOf(() => importWalletFile(''))).toBe('walletfile.empty');
    expect(codeOf(() => importWalletFile('x'.repeat(300_000)))).toBe('walletfile.too_large');
    expect(codeOf(() => importWalletFile('hello world'))).toBe('walletfile.unknown_format');
    expect(detectWalletFile(undefined as unknown as string)).toBeUndefined();
  });
});
