// Builds the optional CKDpub addon (packages/bitcoin/native/ckdpub.c) into
// packages/bitcoin/native/build/ckdpub.node with one C compiler command, against Node's own headers
// and the libsecp256k1 sources the `secp256k1` npm package ships. No network, no node-gyp.
//
// It is an optimisation only: mofn derives the same keys without it (keys/nativeDerive.ts falls back
// to the JS/secp256k1 path). So this script prints one line saying what happened and always exits 0,
// and never leaves a half-written or unloadable addon behind.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages', 'bitcoin');
const nativeDir = join(pkgDir, 'native');
const outDir = join(nativeDir, 'build');
const out = join(outDir, 'ckdpub.node');

function say(message) {
  process.stdout.write(`build-native: ${message}\n`);
}

function skip(reason) {
  say(`ckdpub.node not built (${reason}); mofn uses its JS derivation path`);
}

function firstLine(text) {
  const line = String(text ?? '').split('\n').find((l) => /error/i.test(l)) ?? String(text ?? '').split('\n')[0] ?? '';
  return line.trim().slice(0, 200);
}

function nodeHeaders() {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

function libsecpSources() {
  try {
    const pkgJson = createRequire(join(pkgDir, 'package.json')).resolve('secp256k1/package.json');
    const src = join(dirname(pkgJson), 'src', 'secp256k1');
    return existsSync(join(src, 'src', 'group_impl.h')) ? src : undefined;
  } catch {
    return undefined;
  }
}

function build() {
  if (process.env.MOFN_NATIVE_DERIVE === '0') return skip('MOFN_NATIVE_DERIVE=0');
  if (process.platform === 'win32') return skip('Windows: no cc-style compiler build');
  const headers = nodeHeaders();
  if (headers === undefined) return skip('no Node headers (node_api.h) next to the node binary or in /usr/include/node');
  const secp = libsecpSources();
  if (secp === undefined) return skip('libsecp256k1 sources not found in the secp256k1 package');

  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `ckdpub.${process.pid}.tmp.node`);
  const args = [
    '-O3', '-fPIC', '-shared', '-pthread', '-fvisibility=hidden',
    '-Wno-unused-function', '-Wno-unused-parameter', '-Wno-sign-compare', '-Wno-nonnull-compare',
    '-DNAPI_VERSION=6',
    '-I', headers, '-I', secp, '-I', join(secp, 'src'),
    ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
    '-o', tmp, join(nativeDir, 'ckdpub.c'),
  ];
  const compilers = process.env.CC ? [process.env.CC] : ['cc', 'gcc', 'clang'];
  let lastError = 'no C compiler found (cc, gcc or clang)';
  const started = Date.now();
  for (const compiler of compilers) {
    const r = spawnSync(compiler, args, { encoding: 'utf8', timeout: 180_000 });
    if (r.error !== undefined) {
      if (r.error.code !== 'ENOENT') lastError = `${compiler}: ${r.error.message}`;
      continue;
    }
    if (r.status !== 0) {
      lastError = `${compiler} failed: ${firstLine(r.stderr)}`;
      continue;
    }
    // Load it in a separate process before installing it: a binary that does not load (wrong ABI,
    // missing symbol) must not replace nothing-or-a-good-one.
    const check = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(tmp)});if(typeof m.derive!=='function')process.exit(3)`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (check.status !== 0) {
      rmSync(tmp, { force: true });
      return skip(`the built addon does not load: ${firstLine(check.stderr) || `exit ${String(check.status)}`}`);
    }
    renameSync(tmp, out);
    return say(`built ${out.slice(root.length + 1)} with ${compiler} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  rmSync(tmp, { force: true });
  return skip(lastError);
}

try {
  build();
} catch (err) {
  skip(err instanceof Error ? err.message : String(err));
}
process.exitCode = 0;
