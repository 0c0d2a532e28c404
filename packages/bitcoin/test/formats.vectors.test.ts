/**
 * Wallet files from the public vector set (Caravan fixtures, Coldcard firmware test data): every
 * file is parsed, compared with its expected descriptor where the set has one, cross-checked
 * against an independent address derivation (bitcoinjs-lib + bip32), and exported and re-imported.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as bitcoin from 'bitcoinjs-lib';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { readVectorText, vectorPath } from '../../../test/support/vectors.ts';
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
import { createAddressDeriver, createPolicy, policyFromDescriptor, policyToDescriptor, walletIdOf } from '../src/wallet/index.ts';
import { encodeExtendedPublicKey } from '../src/keys/index.ts';
import type { MultisigPolicy } from '../src/types.ts';

const bip32 = BIP32Factory(ecc);
const CARAVAN = 'Caravan-wallet-config';
const COLDCARD = 'Coldcard-multisig';
const caravanFiles = readdirSync(vectorPath(CARAVAN)).filter((f) => f.endsWith('.json')).sort();
const coldcardFiles = readdirSync(vectorPath(COLDCARD)).sort();
const exportFiles = coldcardFiles.filter((f) => /^export-.*\.txt$/.test(f));
const xpubExports = coldcardFiles.filter((f) => /^ccxp-.*\.json$/.test(f));
const electrumFiles = coldcardFiles.filter((f) => /^el-.*\.json$/.test(f));

/** The same wallet: same canonical descriptor and the same policy fields. */
function expectSameWallet(a: MultisigPolicy, b: MultisigPolicy): void {
  expect(walletIdOf(a)).toBe(walletIdOf(b));
  expect(policyToDescriptor(a)).toBe(policyToDescriptor(b));
  expect({ type: a.type, threshold: a.threshold, sorted: a.sorted, network: a.network }).toEqual({ type: b.type, threshold: b.threshold, sorted: b.sorted, network: b.network });
}

function addresses(policy: MultisigPolicy, count: number, branch: 0 | 1 = 0): string[] {
  const deriver = createAddressDeriver(policy);
  return Array.from({ length: count }, (_, i) => deriver.derive(branch, i).address);
}

/** Independent derivation of sortedmulti addresses with bitcoinjs-lib and bip32 (BIP-67 sort by hand). */
function independentAddresses(policy: MultisigPolicy, count: number, branch: 0 | 1): string[] {
  const network = policy.network === 'main' ? bitcoin.networks.bitcoin : policy.network === 'regtest' ? bitcoin.networks.regtest : bitcoin.networks.testnet;
  const nodes = policy.keys.map((k) => bip32.fromBase58(encodeExtendedPublicKey(k.xpub, policy.network), network).derive(branch));
  return Array.from({ length: count }, (_, i) => {
    const pubkeys = nodes.map((n) => n.derive(i).publicKey).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const redeem = bitcoin.payments.p2ms({ m: policy.threshold, pubkeys, network });
    const payment =
      policy.type === 'wsh'
        ? bitcoin.payments.p2wsh({ redeem, network })
        : policy.type === 'sh-wsh'
          ? bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wsh({ redeem, network }), network })
          : bitcoin.payments.p2sh({ redeem, network });
    return payment.address!;
  });
}

/** Coldcard file body without its header comment (the part that describes the wallet). */
function coldcardBody(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .trim();
}

describe('vector file inventory', () => {
  it('has files of every kind this suite checks', () => {
    expect(caravanFiles.length).toBeGreaterThan(0);
    expect(exportFiles.length).toBeGreaterThan(0);
    expect(xpubExports.length).toBeGreaterThan(0);
    expect(electrumFiles.length).toBeGreaterThan(0);
  });

  it.each([...caravanFiles.map((f) => [CARAVAN, f] as const), ...coldcardFiles.map((f) => [COLDCARD, f] as const)])('detectWalletFile(%s/%s)', (folder, file) => {
    const expected = file === 'SOURCE.md' ? undefined : folder === CARAVAN ? 'caravan' : ({ export: 'coldcard', desc: 'descriptor', ccxp: 'coldcard-xpub', el: 'electrum' } as const)[file.split('-')[0] as 'export'];
    expect(detectWalletFile(readVectorText(`${folder}/${file}`))).toBe(expected);
  });
});

describe.each(caravanFiles)('Caravan %s', (file) => {
  const text = readVectorText(`${CARAVAN}/${file}`);
  const json = JSON.parse(text);

  it('parses to a sortedmulti policy with the file fields', () => {
    const { name, policy, startingAddressIndex } = parseCaravanConfig(text);
    expect(name).toBe(json.name);
    expect(startingAddressIndex).toBe(json.startingAddressIndex);
    expect(policy.sorted).toBe(true);
    expect(policy.threshold).toBe(json.quorum.requiredSigners);
    expect(policy.keys).toHaveLength(json.quorum.totalSigners);
    expect(policy.type).toBe({ P2SH: 'sh', P2WSH: 'wsh', 'P2SH-P2WSH': 'sh-wsh' }[json.addressType as string]);
    expect(policy.network).toBe({ mainnet: 'main', testnet: 'test' }[json.network as string]);
    json.extendedPublicKeys.forEach((k: { xpub: string; xfp: string; bip32Path: string }, i: number) => {
      expect(encodeExtendedPublicKey(policy.keys[i]!.xpub, policy.network)).toBe(k.xpub);
      expect(policy.keys[i]!.origin?.fingerprint).toBe(k.xfp);
      expect(policy.keys[i]!.origin?.path.length).toBe(k.bip32Path.split('/').length - 1);
    });
  });

  it('addresses agree with an independent derivation (bitcoinjs-lib), both branches', () => {
    const { policy } = parseCaravanConfig(text);
    for (const branch of [0, 1] as const) expect(addresses(policy, 20, branch)).toEqual(independentAddresses(policy, 20, branch));
  });

  it('export -> re-import gives the same policy and the same first 100 addresses', () => {
    const { name, policy } = parseCaravanConfig(text);
    const again = parseCaravanConfig(exportCaravanConfig(policy, name));
    expect(again.name).toBe(name);
    expectSameWallet(again.policy, policy);
    expect(addresses(again.policy, 100)).toEqual(addresses(policy, 100));
    expect(importWalletFile(text)).toMatchObject({ kind: 'caravan', name });
  });
});

describe.each(exportFiles)('Coldcard %s', (file) => {
  const text = readVectorText(`${COLDCARD}/${file}`);
  const descFile = file.replace(/^export-/, 'desc-');
  const desc = readVectorText(`${COLDCARD}/${descFile}`).trim();

  it(`matches ${descFile} as a policy, as addresses and as canonical text`, () => {
    expect(coldcardFiles).toContain(descFile);
    const { name, policy } = parseColdcardConfig(text);
    expect(name).toBe(/^Name:\s*(.*)$/m.exec(text)![1]!.trim());
    const expected = policyFromDescriptor(desc);
    expectSameWallet(policy, expected);
    // Coldcard prints the receive branch with `h` markers and a checksum: exactly mofn's canonical single-branch form.
    expect(policyToDescriptor(policy, { branch: 0, checksum: true })).toBe(desc);
    expect(addresses(policy, 100)).toEqual(addresses(expected, 100));
    expect(addresses(policy, 20)).toEqual(independentAddresses(policy, 20, 0));
  });

  it('exports back to the same file body, and re-imports to the same wallet', () => {
    const { name, policy } = parseColdcardConfig(text);
    const exported = exportColdcardConfig(policy, name);
    expect(coldcardBody(exported)).toBe(coldcardBody(text));
    const again = parseColdcardConfig(exported);
    expectSameWallet(again.policy, policy);
    expect(addresses(again.policy, 100)).toEqual(addresses(policy, 100));
  });

  it('imports through importWalletFile, and the descriptor file too', () => {
    const viaFile = importWalletFile(text);
    expect(viaFile.kind).toBe('coldcard');
    const viaDesc = importWalletFile(desc);
    expect(viaDesc.kind).toBe('descriptor');
    expectSameWallet(viaFile.policy, viaDesc.policy);
  });
});

describe('Coldcard xpub exports (ccxp-*.json)', () => {
  const setups = exportFiles.map((f) => ({ file: f, policy: parseColdcardConfig(readVectorText(`${COLDCARD}/${f}`)).policy }));
  const typeOfSetup = (p: MultisigPolicy) => p.type;

  it.each(xpubExports)('%s: each script type gives [xfp/path]tpub matching the descriptor template', (file) => {
    const text = readVectorText(`${COLDCARD}/${file}`);
    const json = JSON.parse(text);
    for (const [type, field] of [['sh', 'p2sh'], ['sh-wsh', 'p2sh_p2wsh'], ['wsh', 'p2wsh']] as const) {
      const key = parseColdcardXpubExport(text, type);
      const xfp = (json.xfp as string).toLowerCase();
      expect(key.startsWith(`[${xfp}/`)).toBe(true);
      expect(key).toMatch(/\]tpub/);
      const template = json[`${field}_desc`] as string | undefined;
      if (template !== undefined) {
        const [origin, xpub] = key.split(']') as [string, string];
        expect(template).toContain(`${origin.replace(/h/g, "'")}]${xpub}/0/*`);
      }
      expect(parseColdcardXpubExport(text, type, 'test')).toBe(key);
    }
  });

  it.each(setups.map((s) => [s.file, s] as const))('the four xpub exports rebuild the wallet of %s', (_file, setup) => {
    const type = typeOfSetup(setup.policy);
    const keys = xpubExports.map((f) => parseColdcardXpubExport(readVectorText(`${COLDCARD}/${f}`), type));
    const rebuilt = createPolicy({ type, threshold: setup.policy.threshold, keys, network: 'test', sorted: true });
    expectSameWallet(rebuilt, setup.policy);
  });

  it('an xpub export is not a wallet for importWalletFile', () => {
    expect(() => importWalletFile(readVectorText(`${COLDCARD}/${xpubExports[0]!}`))).toThrow(expect.objectContaining({ code: 'walletfile.not_a_wallet' }));
  });
});

describe.each(electrumFiles)('Electrum %s', (file) => {
  const text = readVectorText(`${COLDCARD}/${file}`);
  const setupFile = file.replace(/^el-/, 'export-').replace(/\.json$/, '.txt');

  it(`is the same wallet as ${setupFile}`, () => {
    expect(coldcardFiles).toContain(setupFile);
    const { policy } = parseElectrumWallet(text);
    const setup = parseColdcardConfig(readVectorText(`${COLDCARD}/${setupFile}`)).policy;
    // Electrum lists keystores x1/..xN/ in its own order; the wallet (sortedmulti) is the same.
    expect(walletIdOf(policy)).toBe(walletIdOf(setup));
    expect(addresses(policy, 100)).toEqual(addresses(setup, 100));
    expect(importWalletFile(text, { name: 'el' })).toMatchObject({ kind: 'electrum', name: 'el' });
  });
});
