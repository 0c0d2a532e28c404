import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { findVectorsDir } from './test/support/vectors.ts';

const haveVectors = findVectorsDir() !== undefined;
const havePg = Boolean(process.env['MOFN_TEST_PG_URL']);
const exclude = ['**/node_modules/**'];
if (!haveVectors) {
  exclude.push('**/*.vectors.test.ts');
  console.log('NOTE: ../shared/vectors not found (set MOFN_VECTORS_DIR): the public-vector suites did not run.');
}
const hasPgSuites = ['packages', 'test'].some((dir) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => !f.includes('node_modules') && f.endsWith('.pg.test.ts')),
);
if (!havePg && hasPgSuites) {
  exclude.push('**/*.pg.test.ts');
  console.log('NOTE: MOFN_TEST_PG_URL is not set: the PostgreSQL suite did not run.');
}

const haveRedis = Boolean(process.env['MOFN_TEST_REDIS_URL']);
if (!haveRedis) {
  exclude.push('**/*.redis.test.ts');
  console.log('NOTE: MOFN_TEST_REDIS_URL is not set: the shared (Redis) rate-limit suite did not run.');
}

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
