/**
 * Encrypted keystore: mnemonic handling, encryption round trip, authentication of every header
 * field, files on disk (mode 0600, atomic, no overwrite), and fuzzed input giving typed errors only.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { KeystoreError } from '@mofn/core';
import {
  DEFAULT_SCRYPT,
  createKeystore,
  generateMnemonic,
  isKeystoreFile,
  isMnemonic,
  keystoreXpub,
  lockKeystore,
  parseKeystoreFile,
  parseMnemonic,
  readKeystore,
  unlockKeystore,
  writeKeystore,
} from '../src/index.ts';
import type { KeystoreFile } from '../src/index.ts';

const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 };
const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const PASSWORD = 'correct horse battery staple';
const TPUB = { private: 0x04358394, public: 0x043587cf };

const dir = mkdtempSync(join(tmpdir(), 'mofn-keystore-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let fileCounter = 0;
const freshPath = () => join(dir, `ks-${++fileCounter}.json`);

async function makeFile(extra: { passphrase?: string; network?: 'main' | 'test' } = {}): Promise<KeystoreFile> {
  return createKeystore({ mnemonic: MNEMONIC, password: PASSWORD, network: extra.network ?? 'test', kdf: FAST_KDF, ...(extra.passphrase ? { passphrase: extra.passphrase } : {}) });
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(KeystoreError);
    return (e as KeystoreError).code;
  }
}

/** Rebuilds the associated data exactly as the file format documents it (an independent copy of the spec). */
function aad(f: Omit<KeystoreFile, 'ciphertext'>): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify([f.format, f.version, f.network, f.fingerprint, f.kdf.name, f.kdf.N, f.kdf.r, f.kdf.p, f.kdf.salt, f.cipher.name, f.cipher.nonce]),
  );
}

/** Encrypts an arbitrary payload under a valid header: simulates a buggy or hostile writer who knows the password. */
function craft(header: Omit<KeystoreFile, 'ciphertext'>, payload: string, password: string): KeystoreFile {
  const key = scrypt(new TextEncoder().encode(password.normalize('NFKD')), hexToBytes(header.kdf.salt), { N: header.kdf.N, r: header.kdf.r, p: header.kdf.p, dkLen: 32 });
  const ct = xchacha20poly1305(key, hexToBytes(header.cipher.nonce), aad(header)).encrypt(new TextEncoder().encode(payload));
  return { ...header, ciphertext: bytesToHex(ct) };
}

describe('mnemonics', () => {
  it('generates valid 24-word mnemonics by default, 12 for 128 bits, never twice the same', () => {
    const a = generateMnemonic();
    const b = generateMnemonic();
    expect(a.split(' ')).toHaveLength(24);
    expect(isMnemonic(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(generateMnemonic(128).split(' ')).toHaveLength(12);
  });

  it('rejects unsupported strengths', async () => {
    expect(await codeOf(() => generateMnemonic(100))).toBe('keystore.bad_strength');
    expect(await codeOf(() => generateMnemonic(512))).toBe('keystore.bad_strength');
  });

  it('normalises case and whitespace to the canonical sentence', () => {
    const parsed = parseMnemonic(`  ${MNEMONIC.toUpperCase().split(' ').join('  \t')}\n`);
    expect(parsed).toEqual({ mnemonic: MNEMONIC, language: 'english', words: 12 });
  });

  it('names the unknown word and its position, checks count and checksum', () => {
    const words = MNEMONIC.split(' ');
    words[4] = 'wavy';
    let err: unknown;
    try {
      parseMnemonic(words.join(' '));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'keystore.bad_mnemonic', details: { reason: 'unknown_word', position: 5 } });
    expect((err as Error).message).toContain("'wavy'");
    expect(() => parseMnemonic(MNEMONIC.split(' ').slice(0, 11).join(' '))).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'word_count' }) }));
    const swapped = MNEMONIC.split(' ');
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(() => parseMnemonic(swapped.join(' '))).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'checksum' }) }));
  });

  it('never puts the valid words of a rejected mnemonic in the error', () => {
    const words = generateMnemonic(128).split(' ');
    const wrong = [...words.slice(0, 11), words[11] === 'zoo' ? 'abandon' : 'zoo'].join(' ');
    try {
      parseMnemonic(wrong);
    } catch (e) {
      const text = JSON.stringify({ m: (e as Error).message, d: (e as KeystoreError).details, h: (e as KeystoreError).hint });
      // Only checksum failures reach here (every word is in the list).
      // The fixed wording ("one or more words...") and detail keys ("language") may themselves be BIP-39 words: leave those out.
      let reference = '';
      try {
        parseMnemonic(Array(12).fill('zoo').join(' '));
      } catch (r) {
        reference = JSON.stringify({ m: (r as Error).message, d: (r as KeystoreError).details, h: (r as KeystoreError).hint });
      }
      const template = new Set(reference.match(/[a-z]+/g));
      for (const w of words.slice(0, 11)) if (!template.has(w)) expect(text).not.toMatch(new RegExp(`\\b${w}\\b`));
      return;
    }
    // The replacement happened to give a valid checksum (1 in 16): nothing to check.
    expect(isMnemonic(wrong)).toBe(true);
  });
});

describe('keystore encryption', () => {
  it('round trips: same mnemonic, network, and the master fingerprint an independent BIP-32 library computes', async () => {
    const file = await makeFile();
    expect(file.format).toBe('mofn-keystore');
    expect(file.version).toBe(1);
    expect(file.network).toBe('test');
    expect(file.kdf).toMatchObject({ name: 'scrypt', ...FAST_KDF });
    expect(hexToBytes(file.kdf.salt)).toHaveLength(32);
    expect(hexToBytes(file.cipher.nonce)).toHaveLength(24);
    const independent = HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC));
    expect(file.fingerprint).toBe(independent.fingerprint.toString(16).padStart(8, '0'));
    const unlocked = await unlockKeystore(file, PASSWORD);
    expect(unlocked.mnemonic).toBe(MNEMONIC);
    expect(unlocked.network).toBe('test');
    expect(unlocked.fingerprint).toBe(file.fingerprint);
    expect(unlocked.hasPassphrase).toBe(false);
    expect(bytesToHex(unlocked.root.privateKey)).toBe(bytesToHex(independent.privateKey!));
  });

  it('the BIP-39 passphrase changes the wallet and is kept inside the ciphertext', async () => {
    const plain = await makeFile();
    const withPass = await makeFile({ passphrase: 'TREZOR' });
    expect(withPass.fingerprint).not.toBe(plain.fingerprint);
    expect(withPass.fingerprint).toBe(HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC, 'TREZOR')).fingerprint.toString(16).padStart(8, '0'));
    const unlocked = await unlockKeystore(withPass, PASSWORD);
    expect(unlocked.hasPassphrase).toBe(true);
    expect(unlocked.fingerprint).toBe(withPass.fingerprint);
  });

  it('stores no secret in clear and uses fresh salt and nonce every time', async () => {
    const a = await makeFile({ passphrase: 'my-passphrase' });
    const b = await makeFile({ passphrase: 'my-passphrase' });
    const text = JSON.stringify(a);
    for (const w of new Set(MNEMONIC.split(' '))) expect(text).not.toContain(w);
    expect(text).not.toContain('my-passphrase');
    expect(text).not.toContain(PASSWORD);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.cipher.nonce).not.toBe(b.cipher.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('wrong password: typed error, no key, password not echoed', async () => {
    const file = await makeFile();
    for (const pw of ['correct horse battery stapl', 'Correct horse battery staple', 'x']) {
      try {
        await unlockKeystore(file, pw);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({ code: 'keystore.wrong_password' });
        expect(JSON.stringify({ m: (e as Error).message, d: (e as KeystoreError).details })).not.toContain(pw);
      }
    }
    expect(await codeOf(unlockKeystore(file, ''))).toBe('keystore.bad_password');
  });

  it('rejects every single-field change of the header (authenticated as associated data)', async () => {
    const file = await makeFile();
    const flipHex = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);
    const tampered: [string, unknown][] = [
      ['network test->main', { ...file, network: 'main' }],
      ['network test->signet', { ...file, network: 'signet' }],
      ['fingerprint', { ...file, fingerprint: flipHex(file.fingerprint) }],
      ['kdf.N', { ...file, kdf: { ...file.kdf, N: 2 ** 11 } }],
      ['kdf.r', { ...file, kdf: { ...file.kdf, r: 4 } }],
      ['kdf.p', { ...file, kdf: { ...file.kdf, p: 2 } }],
      ['kdf.salt', { ...file, kdf: { ...file.kdf, salt: flipHex(file.kdf.salt) } }],
      ['cipher.nonce', { ...file, cipher: { ...file.cipher, nonce: flipHex(file.cipher.nonce) } }],
    ];
    for (const [what, bad] of tampered) {
      expect(await codeOf(unlockKeystore(bad as KeystoreFile, PASSWORD)), what).toBe('keystore.wrong_password');
    }
    expect(await codeOf(unlockKeystore({ ...file, version: 2 } as unknown as KeystoreFile, PASSWORD))).toBe('keystore.unsupported_version');
    expect(await codeOf(unlockKeystore({ ...file, format: 'other' } as unknown as KeystoreFile, PASSWORD))).toBe('keystore.malformed');
    expect(await codeOf(unlockKeystore({ ...file, note: 'x' } as unknown as KeystoreFile, PASSWORD))).toBe('keystore.malformed');
  });

  it('rejects any changed ciphertext byte, truncation and extension', async () => {
    const file = await makeFile();
    const ct = hexToBytes(file.ciphertext);
    await fc.assert(
      fc.asyncProperty(fc.nat(ct.length - 1), fc.integer({ min: 1, max: 255 }), async (pos, xor) => {
        const bad = ct.slice();
        bad[pos] = bad[pos]! ^ xor;
        expect(await codeOf(unlockKeystore({ ...file, ciphertext: bytesToHex(bad) }, PASSWORD))).toBe('keystore.wrong_password');
      }),
      { numRuns: 40 },
    );
    expect(await codeOf(unlockKeystore({ ...file, ciphertext: file.ciphertext.slice(0, -2) }, PASSWORD))).toBe('keystore.wrong_password');
    expect(await codeOf(unlockKeystore({ ...file, ciphertext: `${file.ciphertext}00` }, PASSWORD))).toBe('keystore.wrong_password');
  });

  it('refuses a correctly encrypted file whose seed does not match its header fingerprint', async () => {
    const file = await makeFile();
    const header: Omit<KeystoreFile, 'ciphertext'> = { format: file.format, version: file.version, network: file.network, fingerprint: file.fingerprint, kdf: file.kdf, cipher: file.cipher };
    const lying = craft({ ...header, fingerprint: 'deadbeef' }, JSON.stringify({ mnemonic: MNEMONIC, passphrase: '', language: 'english' }), PASSWORD);
    expect(await codeOf(unlockKeystore(lying, PASSWORD))).toBe('keystore.fingerprint_mismatch');
    const sane = craft(header, JSON.stringify({ mnemonic: MNEMONIC, passphrase: '', language: 'english' }), PASSWORD);
    expect((await unlockKeystore(sane, PASSWORD)).mnemonic).toBe(MNEMONIC);
    for (const payload of ['not json', '[]', JSON.stringify({ mnemonic: MNEMONIC }), JSON.stringify({ mnemonic: 'abandon abandon', passphrase: '', language: 'english' })]) {
      expect(await codeOf(unlockKeystore(craft(header, payload, PASSWORD), PASSWORD))).toBe('keystore.corrupt');
    }
  });

  it('validates creation options', async () => {
    const base = { mnemonic: MNEMONIC, password: PASSWORD, network: 'test' as const, kdf: FAST_KDF };
    expect(await codeOf(createKeystore({ ...base, mnemonic: 'abandon abandon' }))).toBe('keystore.bad_mnemonic');
    expect(await codeOf(createKeystore({ ...base, password: '' }))).toBe('keystore.bad_password');
    expect(await codeOf(createKeystore({ ...base, network: 'testnet' as never }))).toBe('keystore.bad_network');
    expect(await codeOf(createKeystore({ ...base, kdf: { N: 1000 } }))).toBe('keystore.bad_kdf');
    expect(await codeOf(createKeystore({ ...base, kdf: { N: 2 ** 4 } }))).toBe('keystore.bad_kdf');
    expect(await codeOf(createKeystore({ ...base, kdf: { N: 2 ** 21 } }))).toBe('keystore.bad_kdf');
    expect(await codeOf(createKeystore({ ...base, kdf: { N: 2 ** 20, r: 16 } }))).toBe('keystore.bad_kdf');
    expect(await codeOf(createKeystore({ ...base, kdf: { r: 0 } }))).toBe('keystore.bad_kdf');
    expect(await codeOf(createKeystore({ ...base, kdf: { p: 17 } }))).toBe('keystore.bad_kdf');
  });

  it('defaults to scrypt N=2^17, r=8, p=1 (measured)', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const t0 = performance.now();
    const file = await createKeystore({ mnemonic: MNEMONIC, password: PASSWORD, network: 'main' });
    const t1 = performance.now();
    const progress: number[] = [];
    const unlocked = await unlockKeystore(file, PASSWORD, { onProgress: (f) => progress.push(f) });
    const t2 = performance.now();
    expect(file.kdf).toMatchObject({ N: 131072, r: 8, p: 1 });
    expect(unlocked.mnemonic).toBe(MNEMONIC);
    expect(progress.length).toBeGreaterThan(0);
    console.log(`keystore default scrypt (N=2^17,r=8,p=1): create ${(t1 - t0).toFixed(0)} ms, unlock ${(t2 - t1).toFixed(0)} ms`);
  });

  it('keystoreXpub gives [fingerprint/path]tpub matching an independent derivation', async () => {
    const unlocked = await unlockKeystore(await makeFile(), PASSWORD);
    const independent = HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC), TPUB);
    const fp = independent.fingerprint.toString(16).padStart(8, '0');
    expect(keystoreXpub(unlocked, "m/48'/1'/0'/2'")).toBe(`[${fp}/48h/1h/0h/2h]${independent.derive("m/48'/1'/0'/2'").publicExtendedKey}`);
    expect(keystoreXpub(unlocked, [0x8000002d])).toBe(`[${fp}/45h]${independent.derive("m/45'").publicExtendedKey}`);
    expect(keystoreXpub(unlocked, 'm')).toBe(`[${fp}]${independent.publicExtendedKey}`);
    const main = await unlockKeystore(await makeFile({ network: 'main' }), PASSWORD);
    expect(keystoreXpub(main, "m/48'/0'/0'/2'")).toBe(`[${fp}/48h/0h/0h/2h]${HDKey.fromMasterSeed(mnemonicToSeedSync(MNEMONIC)).derive("m/48'/0'/0'/2'").publicExtendedKey}`);
    // Deriving must not disturb the root (child nodes are wiped, never the root).
    expect(bytesToHex(unlocked.root.privateKey)).toBe(bytesToHex(independent.privateKey!));
  });

  it('lockKeystore zeroes the root private key and chain code', async () => {
    const unlocked = await unlockKeystore(await makeFile(), PASSWORD);
    lockKeystore(unlocked);
    expect(unlocked.root.privateKey.every((b) => b === 0)).toBe(true);
    expect(unlocked.root.chainCode.every((b) => b === 0)).toBe(true);
  });
});

describe('keystore files', () => {
  it('writes mode 0600 and reads back the same file', async () => {
    const file = await makeFile();
    const path = freshPath();
    await writeKeystore(path, file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await readKeystore(path)).toEqual(file);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(file);
    expect((await unlockKeystore(await readKeystore(path), PASSWORD)).mnemonic).toBe(MNEMONIC);
  });

  it('refuses to overwrite unless asked, and leaves no temporary files', async () => {
    const first = await makeFile();
    const second = await makeFile({ passphrase: 'p' });
    const path = freshPath();
    await writeKeystore(path, first);
    expect(await codeOf(writeKeystore(path, second))).toBe('keystore.exists');
    expect(await readKeystore(path)).toEqual(first);
    await writeKeystore(path, second, { overwrite: true });
    expect(await readKeystore(path)).toEqual(second);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('concurrent writers to one path: exactly one wins, the file is whole', async () => {
    const files = await Promise.all([0, 1, 2, 3, 4].map(() => makeFile()));
    const path = freshPath();
    const results = await Promise.allSettled(files.map((f) => writeKeystore(path, f)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'keystore.exists' });
    const winner = files[results.findIndex((r) => r.status === 'fulfilled')]!;
    expect(await readKeystore(path)).toEqual(winner);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('reports a failed write as a typed error without leaving a partial file', async () => {
    const file = await makeFile();
    expect(await codeOf(writeKeystore(join(dir, 'missing-dir', 'k.json'), file))).toBe('keystore.write_failed');
    expect(await codeOf(writeKeystore(freshPath(), { ...file, network: 'x' } as unknown as KeystoreFile))).toBe('keystore.malformed');
  });

  it('read errors are typed: not found, unreadable, malformed, unsupported version', async () => {
    expect(await codeOf(readKeystore(join(dir, 'nope.json')))).toBe('keystore.not_found');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(await codeOf(readKeystore(sub))).toBe('keystore.unreadable');
    const file = await makeFile();
    const cases: [string, string | Uint8Array][] = [
      ['keystore.malformed', 'not json'],
      ['keystore.malformed', '[]'],
      ['keystore.malformed', ''],
      ['keystore.malformed', new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])],
      ['keystore.malformed', 'x'.repeat(70_000)],
      ['keystore.unsupported_version', JSON.stringify({ ...file, version: 2 })],
      ['keystore.malformed', JSON.stringify({ ...file, version: '1' })],
      ['keystore.malformed', JSON.stringify({ ...file, ciphertext: file.ciphertext.toUpperCase() })],
    ];
    for (const [code, content] of cases) {
      const p = freshPath();
      writeFileSync(p, content);
      expect(await codeOf(readKeystore(p))).toBe(code);
    }
  });
});

describe('fuzzed keystore input gives typed errors only', () => {
  const codes = new Set(['keystore.malformed', 'keystore.unsupported_version', 'keystore.wrong_password', 'keystore.bad_password', 'keystore.corrupt']);

  it('a kdf parameter whose toString is not callable is a malformed file, not a TypeError (found by this fuzz)', async () => {
    const file = structuredClone(await makeFile()) as unknown as { kdf: Record<string, unknown> };
    for (const field of ['N', 'r', 'p']) {
      const hostile = { ...file, kdf: { ...file.kdf, [field]: [{ toString: 0 }] } };
      await expect(unlockKeystore(hostile as unknown as KeystoreFile, PASSWORD)).rejects.toMatchObject({ code: 'keystore.malformed' });
    }
  });

  it('mutated file objects: parse either accepts or throws a keystore code; unlock never crashes', async () => {
    const file = await makeFile();
    const keys = ['format', 'version', 'network', 'fingerprint', 'kdf', 'cipher', 'ciphertext', 'kdf.N', 'kdf.r', 'kdf.p', 'kdf.salt', 'kdf.name', 'cipher.nonce', 'cipher.name', 'extra'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.option(fc.jsonValue(), { nil: undefined }), async (key, value) => {
        const [a, b] = key.split('.') as [string, string | undefined];
        const without = (o: Record<string, unknown>, k: string) => Object.fromEntries(Object.entries(o).filter(([name]) => name !== k));
        const top = structuredClone(file) as unknown as Record<string, unknown>;
        let obj: Record<string, unknown>;
        if (b === undefined) obj = value === undefined ? without(top, a) : { ...top, [a]: value };
        else {
          const inner = top[a] as Record<string, unknown>;
          obj = { ...top, [a]: value === undefined ? without(inner, b) : { ...inner, [b]: value } };
        }
        const parsedOk = isKeystoreFile(obj);
        let code: string | undefined;
        try {
          await unlockKeystore(obj as unknown as KeystoreFile, PASSWORD);
        } catch (e) {
          expect(e).toBeInstanceOf(KeystoreError);
          code = (e as KeystoreError).code;
          expect(codes.has(code), code).toBe(true);
        }
        if (!parsedOk) expect(code === 'keystore.malformed' || code === 'keystore.unsupported_version').toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes and JSON on disk: readKeystore throws typed errors only', async () => {
    const file = await makeFile();
    const text = JSON.stringify(file);
    const p = freshPath();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 300 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.tuple(fc.nat(text.length), fc.nat(text.length), fc.string({ maxLength: 5 })).map(([i, j, s]) => text.slice(0, Math.min(i, j)) + s + text.slice(Math.max(i, j))),
        ),
        async (content) => {
          writeFileSync(p, content);
          try {
            parseKeystoreFile(await readKeystore(p));
          } catch (e) {
            expect(e).toBeInstanceOf(KeystoreError);
            expect(['keystore.malformed', 'keystore.unsupported_version']).toContain((e as KeystoreError).code);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
