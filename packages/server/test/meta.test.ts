/**
 * The API describes itself: OpenAPI 3.1 generated from the route schemas lists every /v1 route with
 * its request schemas, /docs serves the browsable docs, /metrics counts requests, and /readyz turns
 * 503 when the store stops answering.
 */
import { describe, expect, it } from 'vitest';
import { client, startTestServer } from '../../../test/support/server.ts';

describe('OpenAPI, docs, health and metrics', () => {
  it('documents every /v1 route from the schemas that validate it', async () => {
    const server = await startTestServer({ kind: 'sqlite' });
    try {
      const doc = (await client(server.url).get('/v1/openapi.json')).body as {
        openapi: string;
        paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; responses: Record<string, unknown> }>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.components.securitySchemes).toHaveProperty('bearer');
      const routes: string[] = [];
      for (const [path, methods] of Object.entries(doc.paths)) for (const m of Object.keys(methods)) routes.push(`${m.toUpperCase()} ${path}`);
      for (const expected of [
        'POST /v1/wallets',
        'POST /v1/wallets/{walletId}/proposals',
        'POST /v1/proposals/{proposalId}/signatures',
        'POST /v1/proposals/{proposalId}/cancel',
        'GET /v1/wallets/{walletId}/audit',
        'POST /v1/wallets/{walletId}/webhooks',
        'POST /v1/users/{userId}/tokens',
      ]) {
        expect(routes).toContain(expected);
      }
      // The documented body is the validating schema: the fields and the error responses are there.
      const create = doc.paths['/v1/wallets/{walletId}/proposals']!['post']!;
      expect(Object.keys(create.requestBody!.content['application/json']!.schema.properties!)).toEqual(['psbt', 'memo', 'ttlSeconds']);
      expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '404', '409', '412', '422', '428', '429']));

      const docs = await fetch(`${server.url}/docs/`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('<html');

      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/mofn_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
      expect(metrics).toContain('mofn_http_request_duration_seconds_bucket');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      await server.store.db.destroy();
      const down = await fetch(`${server.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ error: { code: 'store.unreachable' } });
    } finally {
      await server.close();
    }
  });
});
