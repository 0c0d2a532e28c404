/**
 * The layer rule of DESIGN.md, checked on every import in product code:
 * dependencies point down only, and no relative import escapes its package.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');

/** Which workspace packages each package may import (DESIGN.md, "Layout"). */
const allowed: Record<string, readonly string[]> = {
  core: [],
  bitcoin: ['core'],
  ethereum: ['core'],
  signers: ['core', 'bitcoin', 'ethereum'],
  service: ['core', 'bitcoin', 'ethereum', 'signers'],
  server: ['core', 'bitcoin', 'ethereum', 'signers', 'service'],
  cli: ['core', 'bitcoin', 'ethereum', 'signers', 'service'],
  web: ['core', 'bitcoin', 'ethereum', 'signers'],
};
const workspaceName: Record<string, string> = { '@mofn/core': 'core', '@mofn/bitcoin': 'bitcoin', '@mofn/ethereum': 'ethereum', '@mofn/signers': 'signers', '@mofn/service': 'service', '@mofn/server': 'server', mofn: 'cli', '@mofn/web': 'web' };
/**
 * Third-party packages that would break `core`'s promise: pure, synchronous, browser-safe, chain-agnostic.
 * @noble/hashes alone is allowed (pure, browser-safe hashing for the audit chain); the rest of @noble stays out.
 */
const forbiddenInCore = /^(node:|fs$|path$|better-sqlite3|kysely|pg$|fastify|viem|@scure\/btc-signer|@noble\/(?!hashes(?:\/|$))|@scure)/;

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) yield* sourceFiles(full);
    else if (/\.tsx?$/.test(name)) yield full;
  }
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

const packages = readdirSync(packagesDir).filter((p) => statSync(join(packagesDir, p, 'src'), { throwIfNoEntry: false })?.isDirectory());

describe('layer rule', () => {
  it('knows every package', () => {
    for (const p of packages) expect(Object.keys(allowed), `package ${p} has no layer in DESIGN.md`).toContain(p);
  });

  for (const pkg of packages) {
    it(`${pkg} imports only what its layer allows`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          const where = relative(root, file);
          if (spec.startsWith('.')) {
            const target = resolve(file, '..', spec);
            if (!target.startsWith(join(packagesDir, pkg, 'src') + sep)) violations.push(`${where}: relative import leaves the package: ${spec}`);
            continue;
          }
          const base = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          const target = workspaceName[base];
          if (target !== undefined) {
            if (target !== pkg && !allowed[pkg]!.includes(target)) violations.push(`${where}: ${pkg} may not import ${spec}`);
          } else if (pkg === 'core' && forbiddenInCore.test(spec)) {
            violations.push(`${where}: core must stay pure and chain-agnostic, imports ${spec}`);
          }
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it('rejects a bad import (negative control)', () => {
    expect(importsOf("import { x } from '@mofn/service';")).toEqual(['@mofn/service']);
    expect(allowed['bitcoin']).not.toContain('service');
    expect(forbiddenInCore.test('@noble/curves/secp256k1.js')).toBe(true);
    expect(forbiddenInCore.test('@noble/hashes/sha2.js')).toBe(false);
  });
});
