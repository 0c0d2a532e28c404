/**
 * BIP-39 mnemonics: generation, normalisation and validation with precise, typed errors.
 *
 * The seed (BIP-39 "From mnemonic to seed") is PBKDF2 over the NFKD mnemonic *sentence*, so the
 * word list only matters for validation; mofn keeps one canonical sentence form (NFKD, lower
 * case, single ASCII spaces) so that the same words always give the same seed.
 */
import { KeystoreError } from '@mofn/core';
import { generateMnemonic as scureGenerate, mnemonicToEntropy as scureToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as czech } from '@scure/bip39/wordlists/czech.js';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { wordlist as italian } from '@scure/bip39/wordlists/italian.js';
import { wordlist as japanese } from '@scure/bip39/wordlists/japanese.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { wordlist as portuguese } from '@scure/bip39/wordlists/portuguese.js';
import { wordlist as simplifiedChinese } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as spanish } from '@scure/bip39/wordlists/spanish.js';
import { wordlist as traditionalChinese } from '@scure/bip39/wordlists/traditional-chinese.js';

/** BIP-39 word lists mofn can validate (those shipped with @scure/bip39). */
export type Bip39Language =
  | 'english'
  | 'czech'
  | 'french'
  | 'italian'
  | 'japanese'
  | 'korean'
  | 'portuguese'
  | 'spanish'
  | 'chinese_simplified'
  | 'chinese_traditional';

const WORDLISTS: Readonly<Record<Bip39Language, readonly string[]>> = Object.freeze({
  english,
  czech,
  french,
  italian,
  japanese,
  korean,
  portuguese,
  spanish,
  chinese_simplified: simplifiedChinese,
  chinese_traditional: traditionalChinese,
});

/** Every supported word-list language, English first (the one BIP-39 recommends). */
export const BIP39_LANGUAGES: readonly Bip39Language[] = Object.freeze(Object.keys(WORDLISTS) as Bip39Language[]);

const WORD_COUNTS: readonly number[] = [12, 15, 18, 21, 24];

/** Word lists in NFKD so look-ups match normalised input whatever form a list ships in. */
const NFKD_LISTS = new Map<Bip39Language, { readonly list: string[]; readonly set: ReadonlySet<string> }>();
function nfkdList(language: Bip39Language): { readonly list: string[]; readonly set: ReadonlySet<string> } {
  let entry = NFKD_LISTS.get(language);
  if (!entry) {
    const list = WORDLISTS[language].map((w) => w.normalize('NFKD'));
    entry = { list, set: new Set(list) };
    NFKD_LISTS.set(language, entry);
  }
  return entry;
}
function wordSet(language: Bip39Language): ReadonlySet<string> {
  return nfkdList(language).set;
}

/** True if `value` names a supported word list. Never throws. */
export function isBip39Language(value: unknown): value is Bip39Language {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(WORDLISTS, value);
}

/**
 * Generates a fresh English BIP-39 mnemonic from the platform CSPRNG.
 * @param strength entropy bits: 128, 160, 192, 224 or 256 (default 256 = 24 words).
 * @throws KeystoreError `keystore.bad_strength` for any other strength.
 * @example generateMnemonic() // 24 words
 */
export function generateMnemonic(strength = 256): string {
  if (![128, 160, 192, 224, 256].includes(strength)) {
    throw new KeystoreError('keystore.bad_strength', `mnemonic strength must be 128, 160, 192, 224 or 256 bits, got ${strength}`);
  }
  return scureGenerate(english, strength);
}

/** A validated mnemonic in canonical form. */
export interface ParsedMnemonic {
  /** NFKD, lower case, words separated by one ASCII space (BIP-39 seed input). */
  readonly mnemonic: string;
  readonly language: Bip39Language;
  readonly words: number;
}

function splitWords(text: string): string[] {
  // NFKD turns the Japanese ideographic space (U+3000) into U+0020, as BIP-39 expects.
  return text.normalize('NFKD').toLowerCase().trim().split(/\s+/u).filter((w) => w.length > 0);
}

function checksumOk(words: readonly string[], language: Bip39Language): boolean {
  try {
    const entropy = scureToEntropy(words.join(' '), nfkdList(language).list);
    entropy.fill(0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Normalises and validates a BIP-39 mnemonic: word count, word list, checksum.
 * Without `language` every supported list is tried (English first).
 * @throws KeystoreError `keystore.bad_mnemonic` (details.reason: `word_count`, `unknown_word`
 *   with details.position, or `checksum`), `keystore.bad_language`.
 */
export function parseMnemonic(text: string, language?: Bip39Language): ParsedMnemonic {
  if (typeof text !== 'string') {
    throw new KeystoreError('keystore.bad_mnemonic', 'mnemonic must be a string', { details: { reason: 'type' } });
  }
  if (language !== undefined && !isBip39Language(language)) {
    throw new KeystoreError('keystore.bad_language', `unsupported BIP-39 word list '${String(language)}'`, {
      hint: `use one of: ${BIP39_LANGUAGES.join(', ')}`,
    });
  }
  let words: string[];
  try {
    words = splitWords(text);
  } catch (cause) {
    throw new KeystoreError('keystore.bad_mnemonic', 'mnemonic is not well-formed text', { cause, details: { reason: 'encoding' } });
  }
  if (!WORD_COUNTS.includes(words.length)) {
    throw new KeystoreError('keystore.bad_mnemonic', `a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, got ${words.length}`, {
      details: { reason: 'word_count', words: words.length },
    });
  }
  const candidates = language !== undefined ? [language] : BIP39_LANGUAGES;
  const complete = candidates.filter((lang) => words.every((w) => wordSet(lang).has(w)));
  if (complete.length === 0) {
    // Report against the requested list, else the list that knows most of the words.
    const best = language ?? bestLanguage(words);
    const position = words.findIndex((w) => !wordSet(best).has(w));
    const word = words[position] ?? '';
    throw new KeystoreError(
      'keystore.bad_mnemonic',
      `word ${position + 1} '${word}' is not in the ${best} BIP-39 word list`,
      { details: { reason: 'unknown_word', position: position + 1, language: best }, hint: 'check the spelling of that word against your backup' },
    );
  }
  const valid = complete.find((lang) => checksumOk(words, lang));
  if (valid === undefined) {
    throw new KeystoreError('keystore.bad_mnemonic', `mnemonic checksum does not match (${complete[0]!} word list)`, {
      details: { reason: 'checksum', language: complete[0]! },
      hint: 'one or more words are wrong or out of order',
    });
  }
  return { mnemonic: words.join(' '), language: valid, words: words.length };
}

function bestLanguage(words: readonly string[]): Bip39Language {
  let best: Bip39Language = 'english';
  let bestCount = -1;
  for (const lang of BIP39_LANGUAGES) {
    const count = words.filter((w) => wordSet(lang).has(w)).length;
    if (count > bestCount) {
      best = lang;
      bestCount = count;
    }
  }
  return best;
}

/** True if `text` is a valid BIP-39 mnemonic in a supported word list. Never throws. */
export function isMnemonic(text: unknown, language?: Bip39Language): boolean {
  if (typeof text !== 'string') return false;
  try {
    parseMnemonic(text, language);
    return true;
  } catch {
    return false;
  }
}

/**
 * The entropy a mnemonic encodes (BIP-39 "Generating the mnemonic", reversed). The caller owns the
 * returned buffer and should zero it when done.
 * @throws KeystoreError `keystore.bad_mnemonic` (see {@link parseMnemonic}).
 */
export function mnemonicToEntropy(text: string, language?: Bip39Language): Uint8Array {
  const parsed = parseMnemonic(text, language);
  return scureToEntropy(parsed.mnemonic, nfkdList(parsed.language).list);
}

/**
 * The 64-byte BIP-39 seed of a mnemonic and optional passphrase (PBKDF2-HMAC-SHA512, 2048 rounds).
 * The caller owns the returned buffer and should zero it when done.
 * @throws KeystoreError `keystore.bad_mnemonic` (see {@link parseMnemonic}).
 */
export function mnemonicToSeed(text: string, passphrase = '', language?: Bip39Language): Uint8Array {
  const { mnemonic } = parseMnemonic(text, language);
  if (typeof passphrase !== 'string') {
    throw new KeystoreError('keystore.bad_passphrase', 'BIP-39 passphrase must be a string');
  }
  try {
    return mnemonicToSeedSync(mnemonic, passphrase);
  } catch (cause) {
    throw new KeystoreError('keystore.bad_passphrase', 'BIP-39 passphrase is not well-formed text', { cause });
  }
}
