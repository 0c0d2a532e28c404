/**
 * Differential property test: mofn's addresses against bitcoinjs-lib (payments p2ms/p2sh/p2wsh/p2tr
 * + bip32 + tiny-secp256k1), an independent implementation, for 200 random wallets of every script
 * type (sh, wsh, sh-wsh, tr) x 20 addresses each, random M-of-N within each type's limit, random
 * sorted/unsorted, random network. Scripts, addresses, key order and taproot control blocks must agree.
 */
import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as bitcoin from 'bitcoinjs-lib';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { createAddressDeriver, createPolicy, MAX_KEYS } from '../src/wallet/index.ts';
import type { Network, ScriptType } from '../src/types.ts';

bitcoin.initEccLib(ecc);
const bip32 = BIP32Factory(ecc);
const OPS = bitcoin.opcodes;
const NUMS = Buffer.from('50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0', 'hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const BJS_NETWORK: Record<Network, bitcoin.Network> = {
  main: bitcoin.networks.bitcoin,
  test: bitcoin.networks.testnet,
  signet: bitcoin.networks.testnet,
  regtest: bitcoin.networks.regtest,
};

/** A pool of cosigner accounts per version family, built with bitcoinjs' bip32. */
interface PoolKey {
  readonly text: string;
  readonly account: BIP32Interface;
  readonly branches: BIP32Interface[];
  readonly children: Map<number, Uint8Array>;
}
const POOL_SIZE = 48;
function makePool(family: 'main' | 'test'): PoolKey[] {
  const net = family === 'main' ? bitcoin.networks.bitcoin : bitcoin.networks.testnet;
  return Array.from({ length: POOL_SIZE }, (_, i) => {
    const root = bip32.fromSeed(Buffer.from(sha256(new TextEncoder().encode(`wallet-property-${family}-${i}`))), net);
    const path = `m/48'/${family === 'main' ? 0 : 1}'/${i % 3}'/2'`;
    const account = root.derivePath(path).neutered();
    const fp = hex(root.fingerprint);
    // Every fourth key without origin (its own fingerprint is then used).
    const text = i % 4 === 3 ? account.toBase58() : `[${fp}/${path.slice(2).replaceAll("'", 'h')}]${account.toBase58()}`;
    return { text, account, branches: [account.derive(0), account.derive(1)], children: new Map() };
  });
}
const POOLS = { main: makePool('main'), test: makePool('test') };

function childKey(k: PoolKey, branch: 0 | 1, index: number): Uint8Array {
  const id = branch * 0x80000000 + index;
  let pub = k.children.get(id);
  if (pub === undefined) {
    pub = k.branches[branch]!.derive(index).publicKey;
    k.children.set(id, pub);
  }
  return pub;
}

function num(n: number): number | Uint8Array {
  return n <= 16 ? OPS.OP_1 + n - 1 : bitcoin.script.number.encode(n);
}

/** The expected output (address and scripts) computed with bitcoinjs-lib only. */
function reference(type: ScriptType, m: number, sorted: boolean, pubs: Uint8Array[], network: Network) {
  const net = BJS_NETWORK[network];
  if (type === 'tr') {
    const xs = pubs.map((p) => Buffer.from(p.subarray(1)));
    if (sorted) xs.sort((a, b) => Buffer.compare(a, b));
    const chunks: (number | Uint8Array)[] = [];
    xs.forEach((x, i) => chunks.push(x, i === 0 ? OPS.OP_CHECKSIG : OPS.OP_CHECKSIGADD));
    chunks.push(num(m), OPS.OP_NUMEQUAL);
    const leaf = bitcoin.script.compile(chunks);
    const pay = bitcoin.payments.p2tr({ internalPubkey: NUMS, scriptTree: { output: leaf }, redeem: { output: leaf, redeemVersion: 0xc0 }, network: net });
    return { address: pay.address!, output: pay.output!, leaf, control: pay.witness![pay.witness!.length - 1]!, keys: xs };
  }
  const keys = pubs.map((p) => Buffer.from(p));
  if (sorted) keys.sort((a, b) => Buffer.compare(a, b));
  const ms = keys.length <= 16 ? bitcoin.payments.p2ms({ m, pubkeys: keys, network: net }).output! : bitcoin.script.compile([num(m), ...keys, num(keys.length), OPS.OP_CHECKMULTISIG]);
  if (type === 'sh') {
    const p = bitcoin.payments.p2sh({ redeem: { output: ms }, network: net });
    return { address: p.address!, output: p.output!, ms, keys };
  }
  const w = bitcoin.payments.p2wsh({ redeem: { output: ms }, network: net });
  if (type === 'wsh') return { address: w.address!, output: w.output!, ms, keys };
  const p = bitcoin.payments.p2sh({ redeem: w, network: net });
  return { address: p.address!, output: p.output!, ms, keys, redeem: w.output! };
}

// tr allows 999 keys; random wallets go up to 32 here (the 999-key limit has its own unit test).
const POOL_LIMIT: Record<ScriptType, number> = { sh: MAX_KEYS.sh, wsh: MAX_KEYS.wsh, 'sh-wsh': MAX_KEYS['sh-wsh'], tr: 32 };

function walletArb(type: ScriptType) {
  const limit = Math.min(POOL_LIMIT[type], POOL_SIZE);
  // Mostly small wallets (as in practice), regularly up to the type's limit.
  const nArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: limit }) });
  return fc
    .record({ n: nArb, network: fc.constantFrom<Network>('main', 'test', 'signet', 'regtest'), sorted: fc.boolean() })
    .chain(({ n, network, sorted }) =>
      fc.record({
        network: fc.constant(network),
        sorted: fc.constant(sorted),
        members: fc.shuffledSubarray(Array.from({ length: POOL_SIZE }, (_, i) => i), { minLength: n, maxLength: n }),
        threshold: fc.integer({ min: 1, max: n }),
        addresses: fc.array(fc.tuple(fc.constantFrom<0 | 1>(0, 1), fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 63 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7fffffff }) })), { minLength: 20, maxLength: 20 }),
      }),
    );
}

describe('addresses agree with bitcoinjs-lib on random wallets', () => {
  for (const type of ['sh', 'wsh', 'sh-wsh', 'tr'] as const) {
    it(`${type}: 200 wallets x 20 addresses`, () => {
      let checked = 0;
      fc.assert(
        fc.property(walletArb(type), (w) => {
          const pool = POOLS[w.network === 'main' ? 'main' : 'test'];
          const members = w.members.map((i) => pool[i]!);
          const policy = createPolicy({ type, threshold: w.threshold, keys: members.map((k) => k.text), network: w.network, sorted: w.sorted });
          const deriver = createAddressDeriver(policy);
          for (const [branch, index] of w.addresses) {
            const pubs = members.map((k) => childKey(k, branch, index));
            const want = reference(type, w.threshold, w.sorted, pubs, w.network);
            const got = deriver.derive(branch, index);
            expect(got.address).toBe(want.address);
            expect(hex(got.scriptPubKey)).toBe(hex(want.output));
            const scriptKeys = got.keys.map((k) => hex(type === 'tr' ? k.publicKey.subarray(1) : k.publicKey));
            expect(scriptKeys).toEqual(want.keys.map(hex));
            for (const k of got.keys) {
              expect(hex(k.publicKey)).toBe(hex(pubs[k.cosigner]!));
              const member = members[k.cosigner]!;
              if (!member.text.startsWith('[')) expect(k.fingerprint).toBe(hex(member.account.fingerprint));
              expect(k.path.slice(-2)).toEqual([branch, index]);
            }
            if ('leaf' in want) {
              expect(hex(got.tapLeafScript!)).toBe(hex(want.leaf));
              expect(hex(got.tapControlBlock!)).toBe(hex(want.control!));
              expect(hex(got.tapInternalKey!)).toBe(hex(NUMS));
            } else if (type === 'sh') {
              expect(hex(got.redeemScript!)).toBe(hex(want.ms));
              expect(got.witnessScript).toBeUndefined();
            } else {
              expect(hex(got.witnessScript!)).toBe(hex(want.ms));
              if (type === 'sh-wsh') expect(hex(got.redeemScript!)).toBe(hex(want.redeem!));
              else expect(got.redeemScript).toBeUndefined();
            }
            checked++;
          }
        }),
        { numRuns: 200 },
      );
      expect(checked).toBe(200 * 20);
    });
  }
});
