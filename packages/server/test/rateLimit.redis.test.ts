/**
 * Rate limits shared through Redis: two instances on one store and one Redis count a token's
 * requests together, and answer 429 with Retry-After and the standard error body.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { buildApp } from '@mofn/server';
import { createContext, createToken, createUser } from '@mofn/service';
import type { FastifyInstance } from 'fastify';
import { dropTestStore, openTestStore } from '../../../test/support/server.ts';
import type { Store } from '@mofn/service';

let store: Store;
let second: Store;
let redis: Redis;
const apps: FastifyInstance[] = [];
const urls: string[] = [];

beforeAll(async () => {
  redis = new Redis(process.env['MOFN_TEST_REDIS_URL']!, { maxRetriesPerRequest: 1 });
  store = await openTestStore('sqlite');
  second = await openTestStore('sqlite', store);
  const serverKey = randomBytes(32);
  for (const s of [store, second]) {
    const app = await buildApp({ store: s, serverKey, logger: false, redis, rateLimit: { perToken: 6, perIp: 1000, windowMs: 60_000 } });
    urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
    apps.push(app);
  }
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await second.close();
  await dropTestStore(store);
  redis.disconnect();
});

describe('rate limits through Redis', () => {
  it('count one token across two instances: the 7th request in the window is 429 with Retry-After', async () => {
    const ctx = createContext(store);
    const user = await createUser(ctx, { name: `rl-${randomBytes(4).toString('hex')}` });
    const { token } = await createToken(ctx, user.id);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${urls[i % 2]!}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(last.status);
      if (last.status === 429) break;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last!.json()).toMatchObject({ error: { code: 'rate.limited' } });
    // Another token is counted on its own.
    const other = await createToken(ctx, user.id);
    expect((await fetch(`${urls[0]!}/v1/users/me`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(200);
  });
});
