import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { aSignUp, bearer, buildE2eApp, logIn } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

/**
 * Whatever a client sends to a route of the OpenAPI document — any path parameter, query string,
 * header or body, with a valid token — the answer is never a 500: a client error is a 4xx problem
 * document, and the only 5xx is the contract's 503 for AI generation, which is not configured here.
 */
const engines = await availableEngines();

describe.each(engines)('any request to any documented route, on %s', (engine) => {
  let app: TestApp;
  let routes: Array<{ method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string; query: string[] }>;
  let account = aSignUp();

  beforeAll(async () => {
    app = await buildE2eApp(engine);
    expect((await app.inject({ method: 'POST', url: '/register', payload: account })).statusCode).toBe(201);
    const document = json<{ paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> }>(await app.inject({ method: 'GET', url: '/openapi.json' }));
    routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        // The event stream stays open for as long as the client listens: inject would wait for ever.
        .filter(([method]) => !(method === 'get' && path === '/events'))
        .map(([method, operation]) => ({
          method: method.toUpperCase() as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
          path,
          query: (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
        })),
    );
  });
  afterAll(() => app.close());

  /**
   * A token for every route (a route that ended the session or the account before may not starve
   * the next), and ids that exist: the user's own and a task of theirs, so that some requests get
   * past the lookup.
   */
  async function freshSession(): Promise<{ token: string; ids: string[] }> {
    const login = await app.inject({ method: 'POST', url: '/login', payload: { username: account.username, password: account.password } });
    let token: string;
    if (login.statusCode === 200) token = json<{ access_token: string }>(login).access_token;
    else {
      account = aSignUp();
      expect((await app.inject({ method: 'POST', url: '/register', payload: account })).statusCode).toBe(201);
      token = (await logIn(app, account.username, account.password)).access_token;
    }
    const me = json<{ id: number }>(await app.inject({ method: 'GET', url: '/me', headers: bearer(token) }));
    const task = json<{ id: number }>(await app.inject({ method: 'POST', url: '/tasks', headers: bearer(token), payload: { title: 'A task to aim at' } }));
    return { token, ids: [String(me.id), String(task.id)] };
  }

  const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
  const awkward = fc.constantFrom('', '0', '-1', '1.5', '1e400', '99999999999999999999999', 'null', 'true', '[]', '{}', '%', '..', '2026-13-45T25:61:00Z', 'ĉ', '\u0000', '😀'.repeat(50));
  const text = fc.oneof(awkward, fc.string({ unit: 'binary', maxLength: 60 }), fc.nat().map(String));
  const bodies = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    fc.dictionary(fc.oneof(fc.constantFrom('title', 'status', 'priority', 'due_date', 'remind_at', 'tags', 'password', 'scopes', 'format', 'prompt', 'max_tasks', 'save', 'refresh_token'), fc.string()), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map((value) => JSON.stringify(value)),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const headers = fc.record(
    {
      'content-type': fc.constantFrom('application/json', 'application/merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz', 'multipart/form-data', 'application/json; charset=latin1'),
      'if-match': printable,
      'if-none-match': printable,
      'idempotency-key': printable,
      range: fc.oneof(printable, fc.constantFrom('bytes=0-', 'bytes=5-2', 'bytes=-0', 'bytes=0-1,3-4', 'bytes=99999999999999999999-')),
      accept: fc.constantFrom('application/json', 'text/event-stream', 'text/csv', '*/*', 'image/png'),
      'last-event-id': printable,
    },
    { requiredKeys: [] },
  );

  it('answers every route below 500, with a problem document for every error', async () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) {
      const { token, ids } = await freshSession();
      const request = fc.record({
        params: fc.array(fc.oneof(fc.constantFrom(...ids), text), { minLength: 4, maxLength: 4 }),
        query: fc.array(fc.tuple(fc.oneof(route.query.length ? fc.constantFrom(...route.query) : text, text), text), { maxLength: 4 }),
        headers,
        body: route.method === 'GET' || route.method === 'DELETE' ? fc.constant(undefined) : bodies,
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ params, query, headers: sent, body }) => {
          let index = 0;
          const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[index++]!));
          const search = new URLSearchParams(query).toString();
          const response = await app.inject({
            method: route.method,
            url: `${path}${search ? `?${search}` : ''}`,
            headers: { ...sent, ...bearer(token) },
            ...(body === undefined ? {} : { payload: body }),
          });
          const where = `${route.method} ${route.path} → ${response.statusCode}: ${response.body.slice(0, 300)}`;
          if (response.statusCode >= 500) {
            expect(response.statusCode, where).toBe(503);
            expect(json(response).type, where).toMatch(/ai-not-configured$/);
          }
          if (response.statusCode >= 400) expect(response.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 25) },
      );
    }
  }, 180_000);
});
