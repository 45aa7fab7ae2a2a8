import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/adapters/persistence/knex/database.js';
import { createApplication } from '../../src/infrastructure/app.js';
import { availableEngines } from '../support/databases.js';
import { aSignUp, buildE2eApp, expectProblem, logInAdmin, signUp } from '../support/http.js';
import { FAST_ARGON2, json, testConfig, type TestApp } from '../support/test-app.js';
import pino from 'pino';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const engines = await availableEngines();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type OpenApiDoc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; parameters?: Array<{ name: string; in: string; schema?: Record<string, unknown> }>; requestBody?: { content: Record<string, { schema: unknown; example?: unknown; examples?: Record<string, { value: unknown }> }> } }>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
};

describe.each(engines)('operations, request ids and the API description on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
  });
  afterAll(() => app.close());

  it('GET /health → 200 {status: ok}', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ status: 'ok' });
  });

  it('GET /ready → 200 when the database answers', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
  });

  describe('x-request-id', () => {
    it.each(['abc-123', 'trace:ABC.def_01', 'x'.repeat(128), 'a'])('echoes a valid incoming id %s', async (id) => {
      const response = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
      expect(response.headers['x-request-id']).toBe(id);
    });

    it.each(['x'.repeat(129), 'has space', 'slash/inside', 'semi;colon', 'ünïcode', ''])('replaces an invalid incoming id %j', async (id) => {
      const response = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } });
      expect(response.headers['x-request-id']).toMatch(UUID);
    });

    it('generates a fresh id when none is sent', async () => {
      const [a, b] = await Promise.all([app.inject({ method: 'GET', url: '/health' }), app.inject({ method: 'GET', url: '/health' })]);
      expect(a.headers['x-request-id']).toMatch(UUID);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it('is on every error response too', async () => {
      const headers = { 'x-request-id': 'err-req-1' };
      for (const request of [
        { method: 'GET', url: '/no/such/route', headers },
        { method: 'GET', url: '/me', headers },
        { method: 'POST', url: '/register', headers: { ...headers, 'content-type': 'application/json' }, payload: '{' },
        { method: 'POST', url: '/register', headers, payload: {} },
        { method: 'POST', url: '/register', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'x' },
      ] as const) {
        const response = await app.inject(request);
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.headers['x-request-id'], `${request.method} ${request.url}`).toBe('err-req-1');
      }
    });
  });

  it('answers an unknown route with a 404 problem', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/nothing-here' }), 404);
  });

  it('accepts every users-and-auth route with a trailing slash', async () => {
    const body = aSignUp();
    expect((await app.inject({ method: 'POST', url: '/register/', payload: body })).statusCode).toBe(201);
    expect((await app.inject({ method: 'POST', url: '/users/', payload: aSignUp() })).statusCode).toBe(201);
    const login = await app.inject({ method: 'POST', url: '/login/', payload: { username: body.username, password: body.password } });
    expect(login.statusCode).toBe(200);
    const auth = { authorization: `Bearer ${json(login).access_token}` };
    const me = await app.inject({ method: 'GET', url: '/me/', headers: auth });
    expect(me.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/users/${json(me).id}/`, headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PATCH', url: `/users/${json(me).id}/`, headers: auth, payload: { name: 'Slash' } })).statusCode).toBe(200);
    const token = await app.inject({
      method: 'POST',
      url: '/token/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: body.username, password: body.password }).toString(),
    });
    expect(token.statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/refresh/', payload: { refresh_token: json(login).refresh_token } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/ready/' })).statusCode).toBe(200);
    const admin = await logInAdmin(app);
    expect((await app.inject({ method: 'GET', url: '/users/', headers: admin.auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/logout/', headers: { authorization: `Bearer ${json(token).access_token}` } })).statusCode).toBe(204);
  });

  describe('the OpenAPI document', () => {
    let doc: OpenApiDoc;
    beforeAll(async () => {
      const response = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(response.statusCode).toBe(200);
      doc = json<OpenApiDoc>(response);
    });

    it('declares the bearer scheme and the OAuth2 password flow at /token', () => {
      expect(doc.openapi).toMatch(/^3\./);
      const schemes = Object.values(doc.components.securitySchemes);
      expect(schemes).toContainEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
      expect(schemes).toContainEqual(expect.objectContaining({ type: 'oauth2', flows: { password: expect.objectContaining({ tokenUrl: '/token' }) } }));
    });

    it('documents every users-and-auth route', () => {
      for (const [path, method] of [
        ['/register', 'post'], ['/users', 'post'], ['/login', 'post'], ['/token', 'post'], ['/refresh', 'post'], ['/logout', 'post'],
        ['/me', 'get'], ['/users', 'get'], ['/users/{id}', 'get'], ['/users/{id}', 'put'], ['/users/{id}', 'patch'], ['/users/{id}', 'delete'],
        ['/health', 'get'], ['/ready', 'get'],
      ] as const) {
        expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
      }
      expect(doc.paths['/token']!.post!.requestBody!.content).toHaveProperty(['application/x-www-form-urlencoded']);
    });

    it('names every operation with a unique camelCase id (stable deep links in /docs, clean generated clients)', () => {
      const ids = Object.values(doc.paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId));
      expect(ids.every((id) => typeof id === 'string' && /^[a-z]+[A-Za-z]*$/.test(id)), ids.join(', ')).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      expect(doc.paths['/tasks/{id}']?.get?.operationId).toBe('getTasksById');
    });

    it('gives no example values to list filters, which Swagger UI would pre-fill and so filter "Try it out" silently', () => {
      for (const parameter of doc.paths['/tasks']?.get?.parameters ?? []) {
        if (parameter.in !== 'query' || parameter.name === 'limit') continue;
        expect(JSON.stringify(parameter.schema ?? {}), parameter.name).not.toMatch(/"examples?"/);
      }
    });

    it('has request-body examples that validate against their own schemas', () => {
      const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
      ajv.addSchema({ ...doc, $id: 'openapi.json' });
      let checked = 0;
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const [mediaType, content] of Object.entries(operation.requestBody?.content ?? {})) {
            const pointer = ['paths', path, method, 'requestBody', 'content', mediaType, 'schema'].map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
            const validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
            const schemaExamples = ((content.schema as { examples?: unknown[] }).examples ?? []) as unknown[];
            const examples = [
              ...(content.example === undefined ? [] : [content.example]),
              ...Object.values(content.examples ?? {}).map((e) => e.value),
              ...schemaExamples,
            ];
            for (const example of examples) {
              expect(validate(example), `${method.toUpperCase()} ${path} ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
              checked++;
            }
          }
        }
      }
      expect(checked).toBeGreaterThanOrEqual(4);
    });

    it('has examples that work as real requests: sign up, then log in with JSON and with the form', async () => {
      const register = doc.paths['/register']!.post!.requestBody!.content['application/json']!.example as Record<string, string>;
      const login = doc.paths['/login']!.post!.requestBody!.content['application/json']!.example as Record<string, string>;
      const token = doc.paths['/token']!.post!.requestBody!.content['application/x-www-form-urlencoded']!.example as Record<string, string>;
      const fresh = await buildE2eApp('memory');
      try {
        expect((await fresh.inject({ method: 'POST', url: '/register', payload: register })).statusCode).toBe(201);
        expect((await fresh.inject({ method: 'POST', url: '/login', payload: login })).statusCode).toBe(200);
        const form = await fresh.inject({
          method: 'POST',
          url: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(token).toString(),
        });
        expect(form.statusCode).toBe(200);
      } finally {
        await fresh.close();
      }
    });

    it('never shows a password or hash field in a response schema', () => {
      const responses = JSON.stringify(Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => (op as { responses?: unknown }).responses)));
      expect(responses).not.toMatch(/"password(_hash)?"/);
    });
  });

  it('GET /docs serves the Swagger UI page', async () => {
    let response = await app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; hops < 3 && response.statusCode >= 300 && response.statusCode < 400; hops++) {
      const location = new URL(String(response.headers.location), 'http://localhost/docs/');
      response = await app.inject({ method: 'GET', url: location.pathname });
    }
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toMatch(/swagger/i);
  });
});

describe('GET /ready when the database does not answer', () => {
  it('→ 503 problem naming the failed check', async () => {
    const unreachable = createDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' }, {
      acquireTimeoutMs: 500,
      log: { warn: () => {}, error: () => {}, debug: () => {} },
    });
    const app = await createApplication(testConfig(), { logger: pino({ level: 'silent' }), db: unreachable, argon2: FAST_ARGON2 });
    try {
      const response = await app.http.inject({ method: 'GET', url: '/ready' });
      const problem = expectProblem(response, 503);
      expect(problem.checks).toMatchObject({ database: 'unavailable' });
      expect((await app.http.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.http.close();
      await unreachable.destroy();
    }
  });
});

describe('sign-up and login on the in-memory adapters behave the same', () => {
  it('registers, rejects a case-insensitive duplicate and logs in', async () => {
    const app = await buildE2eApp('memory');
    try {
      const account = await signUp(app);
      expectProblem(await app.inject({ method: 'POST', url: '/register', payload: aSignUp({ username: account.username.toUpperCase() }) }), 409);
      expect((await app.inject({ method: 'GET', url: '/me', headers: account.auth })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
