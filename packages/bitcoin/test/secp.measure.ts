/**
 * Measures the secp256k1 backends (and CKDpub) per operation. Not a test: run with
 *   npx tsx packages/bitcoin/test/secp.measure.ts
 * Prints the median of 5 runs in µs per operation; the numbers are recorded in src/secp.ts.
 */
import { randomBytes } from 'node:crypto';
import { deriveChildPublic, parseExtendedPublicKey } from '../src/keys/index.ts';
import { isPrivateKey, nativeSecp, nobleSecp, secpBackend, tinySecp } from '../src/secp.ts';

const COUNT = 400;
const keys: Uint8Array[] = [];
while (keys.length < COUNT) {
  const k = new Uint8Array(randomBytes(32));
  if (isPrivateKey(k)) keys.push(k);
}
const msgs = keys.map(() => new Uint8Array(randomBytes(32)));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(fn: (i: number) => unknown): number {
  for (let i = 0; i < COUNT; i++) fn(i); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < COUNT; i++) fn(i);
    runs.push(((performance.now() - t) * 1000) / COUNT);
  }
  return median(runs);
}

const rows: Record<string, Record<string, string>> = {};
console.log('default backend:', secpBackend);
for (const s of [...(nativeSecp === undefined ? [] : [nativeSecp]), tinySecp, nobleSecp]) {
  const pubs = keys.map((k) => s.publicKey(k));
  const sigs = keys.map((k, i) => s.signEcdsa(msgs[i]!, k));
  const row: Record<string, string> = {};
  row['pointAddScalar'] = measure((i) => s.pointAddScalar(pubs[i]!, msgs[i]!)).toFixed(1);
  row['publicKey'] = measure((i) => s.publicKey(keys[i]!)).toFixed(1);
  row['signEcdsa'] = measure((i) => s.signEcdsa(msgs[i]!, keys[i]!)).toFixed(1);
  row['verifyEcdsa'] = measure((i) => s.verifyEcdsa(msgs[i]!, pubs[i]!, sigs[i]!)).toFixed(1);
  row['signSchnorr'] = measure((i) => s.signSchnorr(msgs[i]!, keys[i]!, msgs[i])).toFixed(1);
  rows[s.name] = row;
}
console.table(rows);

const xpub = parseExtendedPublicKey(
  'tpubDF2rnouQaaYrXF4noGTv6rQYmx87cQ4GrUdhpvXkhtChwQPbdGTi8GA88NUaSrwZBwNsTkC9bFkkC8vDyGBVVAQTZ2AS6gs68RQXtXcCvkP',
);
const tFirst = performance.now();
const branch = deriveChildPublic(xpub, 0);
console.log(`deriveChildPublic first call (builds the comb table unless the native addon is used): ${(performance.now() - tFirst).toFixed(1)} ms`);
let index = 0;
console.log(`deriveChildPublic, sequential indexes: ${measure(() => deriveChildPublic(branch, index++)).toFixed(1)} µs per child`);
const randomIndexes = keys.map((k) => ((k[0]! << 16) | (k[1]! << 8) | k[2]!) >>> 1);
console.log(`deriveChildPublic, random indexes: ${measure((i) => deriveChildPublic(branch, randomIndexes[i]!)).toFixed(1)} µs per child`);
