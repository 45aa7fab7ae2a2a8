import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { aSignUp, buildE2eApp, expectProblem, fieldsOf, signUp, rowCounts, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

const emoji = (count: number) => '😀'.repeat(count);

describe.each(engines)('bad input is refused with a problem and changes nothing on %s', (engine) => {
  let app: TestApp;
  let user: Account;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
    user = await signUp(app, { name: 'Original' });
  });
  afterAll(() => app.close());

  const userRow = () => app.database!.db('users').where({ id: user.id }).first();

  /** Runs a request that must fail and checks that no table and not the user's row changed. */
  async function refused(request: InjectOptions, status: number) {
    const [countsBefore, rowBefore] = [await rowCounts(app), await userRow()];
    const response = await app.inject(request);
    const problem = expectProblem(response, status);
    expect(await rowCounts(app)).toEqual(countsBefore);
    expect(await userRow()).toEqual(rowBefore);
    return { response, problem };
  }

  const post = (url: string, payload: unknown): InjectOptions => ({ method: 'POST', url, payload: payload as object });

  describe('422 with the offending fields listed', () => {
    it.each<[string, Record<string, unknown>, string[]]>([
      ['an unknown field', { role: 'admin' }, ['role']],
      ['an id', { id: 7 }, ['id']],
      ['a number for username', { username: 12345 }, ['username']],
      ['a boolean for email', { email: true }, ['email']],
      ['a number for password', { password: 12345678 }, ['password']],
      ['a number for name', { name: 5 }, ['name']],
      ['an empty username', { username: '' }, ['username']],
      ['a username of blanks', { username: '     ' }, ['username']],
      ['an empty email', { email: '' }, ['email']],
      ['an empty password', { password: '' }, ['password']],
      ['a 2-character username once trimmed', { username: '  ab  ' }, ['username']],
      ['a 33-character username', { username: 'a'.repeat(33) }, ['username']],
      ['a username with a space inside', { username: 'ada lovelace' }, ['username']],
      ['a username with an @', { username: 'ada@home' }, ['username']],
      ['an email without a domain dot', { email: 'ada@localhost' }, ['email']],
      ['an email without an @', { email: 'ada.example.com' }, ['email']],
      ['an email over 254 characters', { email: `${'a'.repeat(250)}@example.com` }, ['email']],
      ['a 7-character password', { password: 'seven77' }, ['password']],
      ['a password of 7 code points (14 UTF-16 units)', { password: emoji(7) }, ['password']],
      ['a password of 129 code points', { password: 'p'.repeat(129) }, ['password']],
      ['a name of 101 code points', { name: emoji(101) }, ['name']],
    ])('sign-up with %s', async (_name, change, fields) => {
      const { response } = await refused(post('/register', { ...aSignUp(), ...change }), 422);
      expect(fieldsOf(response)).toEqual(fields);
    });

    it('lists every bad field at once', async () => {
      const { response } = await refused(post('/users', { username: 'x', email: 'nope', password: 'short', extra: 1 }), 422);
      expect(fieldsOf(response).sort()).toEqual(['email', 'extra', 'password', 'username']);
    });

    it('names each missing required field', async () => {
      const { response } = await refused(post('/register', {}), 422);
      expect(fieldsOf(response).sort()).toEqual(['email', 'password', 'username']);
    });

    it.each<[string, unknown]>([
      ['an array', [aSignUp()]],
      ['a string', 'ada'],
      ['null', null],
    ])('a JSON body that is %s', async (_name, body) => {
      await refused({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }, 422);
    });

    it.each<[string, Record<string, unknown>]>([
      ['an empty username', { username: '', password: 'whatever it is' }],
      ['a username of blanks', { username: '   ', password: 'whatever it is' }],
      ['an empty password', { username: 'ada_l', password: '' }],
      ['an unknown field', { username: 'ada_l', password: 'whatever it is', remember: true }],
      ['a number for username', { username: 42, password: 'whatever it is' }],
    ])('login with %s', async (_name, body) => {
      await refused(post('/login', body), 422);
    });

    it.each<[string, Record<string, unknown>]>([
      ['an empty refresh_token', { refresh_token: '' }],
      ['no refresh_token', {}],
      ['a number', { refresh_token: 1 }],
      ['an unknown field', { refresh_token: 'x', access_token: 'y' }],
    ])('refresh with %s', async (_name, body) => {
      await refused(post('/refresh', body), 422);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['role from a user', { role: 'admin' }, 'role'],
      ['an id', { id: 1 }, 'id'],
      ['created_at', { created_at: '2020-01-01T00:00:00.000Z' }, 'created_at'],
      ['a number for name', { name: 1 }, 'name'],
      ['an empty username', { username: '' }, 'username'],
      ['an empty email', { email: '  ' }, 'email'],
      ['a short password', { password: 'short', current_password: 'whatever' }, 'password'],
    ])('PATCH with %s', async (_name, payload, field) => {
      const status = field === 'role' ? 403 : 422;
      const request: InjectOptions = { method: 'PATCH', url: `/users/${user.id}`, headers: user.auth, payload };
      if (status === 403) {
        // role is a known field, so only the rule about who may set it stops it
        await refused(request, 403);
        return;
      }
      const { response } = await refused(request, 422);
      expect(fieldsOf(response)).toContain(field);
    });

    it('PUT without its required fields', async () => {
      const { response } = await refused({ method: 'PUT', url: `/users/${user.id}`, headers: user.auth, payload: { name: 'x' } }, 422);
      expect(fieldsOf(response).sort()).toEqual(['email', 'username']);
    });
  });

  describe('lengths count code points after trimming; passwords are never trimmed', () => {
    it('accepts a 100-emoji name, a 128-emoji password and trims around a 32-character username', async () => {
      const body = aSignUp({ name: `  ${emoji(100)}  `, password: emoji(128) });
      const username = `u${Date.now().toString(36)}`.padEnd(32, 'x');
      const response = await app.inject(post('/register', { ...body, username: `   ${username}   ` }));
      expect(response.statusCode, response.body).toBe(201);
      expect(json(response)).toMatchObject({ username, name: emoji(100) });
      const login = await app.inject(post('/login', { username, password: emoji(128) }));
      expect(login.statusCode).toBe(200);
    });

    it('accepts a password of 8 blanks and keeps it exactly', async () => {
      const body = aSignUp({ password: ' '.repeat(8) });
      expect((await app.inject(post('/register', body))).statusCode).toBe(201);
      expect((await app.inject(post('/login', { username: body.username, password: ' '.repeat(8) }))).statusCode).toBe(200);
      expect((await app.inject(post('/login', { username: body.username, password: ' '.repeat(9) }))).statusCode).toBe(401);
    });
  });

  describe('text a database cannot store (NUL, lone surrogates) → 422 naming the field, before any database work', () => {
    const NUL = '\u0000';
    const taskCount = async () => Number(((await app.database!.db('tasks').count({ n: '*' }).first()) as { n: string | number }).n);
    /** JSON text with the escape as written: JSON.stringify would keep a lone surrogate as is, and so would the payload. */
    const rawJson = (body: Record<string, unknown>, field: string, escaped: string): string =>
      JSON.stringify({ ...body, [field]: '@@' }).replace('"@@"', `"a${escaped}b"`);

    async function refusedText(request: InjectOptions, field: string) {
      const tasksBefore = await taskCount();
      const { problem } = await refused(request, 422);
      expect(problem.errors).toContainEqual({ field, message: expect.stringMatching(/NUL|surrogate/) });
      expect(await taskCount()).toBe(tasksBefore);
    }
    const jsonRequest = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: string, headers: Record<string, string> = {}): InjectOptions => ({
      method,
      url,
      headers: { ...headers, 'content-type': 'application/json' },
      payload,
    });

    it.each([
      ['a NUL', '\\u0000'],
      ['a lone high surrogate', '\\ud800'],
      ['a lone low surrogate', '\\udc00'],
    ])('%s in any sign-up field, public route', async (_name, escaped) => {
      for (const field of ['username', 'email', 'password', 'name']) {
        await refusedText(jsonRequest('POST', '/register', rawJson(aSignUp(), field, escaped)), field);
        await refusedText(jsonRequest('POST', '/users', rawJson(aSignUp(), field, escaped)), field);
      }
    });

    it('a NUL in the login, token and refresh bodies, public routes', async () => {
      for (const field of ['username', 'password']) {
        await refusedText(jsonRequest('POST', '/login', rawJson({ username: user.username, password: user.password }, field, '\\u0000')), field);
        const form = new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, [field]: `a${NUL}b` });
        await refusedText({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() }, field);
      }
      await refusedText(jsonRequest('POST', '/refresh', rawJson({}, 'refresh_token', '\\u0000')), 'refresh_token');
    });

    it('in a task’s title, description or one of its tags, nested fields named by their path', async () => {
      await refusedText(jsonRequest('POST', '/tasks', rawJson({}, 'title', '\\u0000'), user.auth), 'title');
      await refusedText(jsonRequest('POST', '/tasks', rawJson({ title: 'ok' }, 'description', '\\udfff'), user.auth), 'description');
      await refusedText({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'ok', tags: ['fine', `b${NUL}`] } }, 'tags.1');
      await refusedText(jsonRequest('POST', '/tasks', `{"title":"ok","tags":["fine","a\\ud83d"]}`, user.auth), 'tags.1');
      const created = await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'kept' } });
      expect(created.statusCode).toBe(201);
      const id = json(created).id as number;
      await refusedText(jsonRequest('PATCH', `/tasks/${id}`, rawJson({}, 'title', '\\u0000'), user.auth), 'title');
      await refusedText(jsonRequest('PUT', `/tasks/${id}`, rawJson({ title: 'x' }, 'description', '\\u0000'), user.auth), 'description');
      expect(json(await app.inject({ method: 'GET', url: `/tasks/${id}`, headers: user.auth }))).toMatchObject({ title: 'kept', version: 1 });
    });

    it('in a user update', async () => {
      await refusedText(jsonRequest('PATCH', `/users/${user.id}`, rawJson({}, 'name', '\\u0000'), user.auth), 'name');
    });

    it('in a key: the field is named with the character escaped', async () => {
      await refusedText(jsonRequest('POST', '/tasks', '{"title":"ok","ti\\u0000tle":"x"}', user.auth), 'ti\\u0000tle');
    });

    it.each([
      ['/tasks?q=a%00b', 'q'],
      ['/tasks?tag=a%00b', 'tag'],
      ['/tasks?tag=fine&tag=a%00b', 'tag.1'],
      ['/tasks?status=todo%00', 'status'],
      ['/tasks?cursor=%00', 'cursor'],
      ['/tasks/1%00', 'id'],
    ])('in a query parameter or path value: %s', async (url, field) => {
      await refusedText({ method: 'GET', url, headers: user.auth }, field);
    });

    it('in a header value', async () => {
      await refusedText({ method: 'POST', url: '/tasks', headers: { ...user.auth, 'idempotency-key': `key${NUL}1` }, payload: { title: 'ok' } }, 'idempotency-key');
      await refusedText({ method: 'POST', url: '/register', headers: { 'x-client-note': `a${NUL}` }, payload: aSignUp() }, 'x-client-note');
    });

    it('a well-formed surrogate pair (an emoji) is accepted', async () => {
      const response = await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: `fine ${emoji(2)}`, tags: [emoji(1)] } });
      expect(response.statusCode, response.body).toBe(201);
      expect(json(response)).toMatchObject({ title: `fine ${emoji(2)}`, tags: [emoji(1)] });
    });
  });

  describe('JSON nested deeper than 64 levels → 400, never a 500 or a stack overflow', () => {
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const nestedArrays = (levels: number) => `{"title":"x","tags":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

    it.each([65, 100_000])('%i levels on a public and on an authenticated route', async (levels) => {
      for (const [url, headers] of [['/login', {}], ['/tasks', user.auth]] as const) {
        for (const payload of [nested(levels), nestedArrays(levels)]) {
          const { problem } = await refused({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload }, 400);
          expect(problem.detail).toMatch(/deeper than 64 levels/);
        }
      }
      const patch = await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: { ...user.auth, 'content-type': 'application/merge-patch+json' }, payload: nested(levels) });
      expectProblem(patch, 400);
    });

    it('64 levels are read, and refused only for what they say', async () => {
      const { response } = await refused({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: nested(64) }, 422);
      expect(fieldsOf(response)).toContain('a');
    });
  });

  describe('400, 413 and 415', () => {
    it.each(['{"username":', '{username: "ada"}', "{'a':1}", '{"a":1}}'])('malformed JSON %s → 400', async (payload) => {
      await refused({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload }, 400);
    });

    it('an empty body declared as JSON → 400', async () => {
      await refused({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: '' }, 400);
    });

    it.each([
      ['a __proto__ key', '{"__proto__":{"role":"admin"}'],
      ['a __proto__ key written with escapes', '{"\\u005f_proto__":{"role":"admin"}'],
      ['a constructor.prototype key', '{"constructor":{"prototype":{"role":"admin"}}'],
    ])('%s → 400 saying such keys are not accepted (the JSON itself is valid)', async (_name, start) => {
      const payload = `${start},${JSON.stringify(aSignUp()).slice(1)}`;
      expect(() => JSON.parse(payload)).not.toThrow();
      for (const [method, url, headers] of [['POST', '/register', {}], ['PATCH', `/users/${user.id}`, user.auth]] as const) {
        const { problem } = await refused({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload }, 400);
        expect(problem.detail).toMatch(/"__proto__".*not accepted/);
      }
    });

    it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
      'content type %s on a JSON route → 415',
      async (contentType) => {
        const payload = contentType.startsWith('application/x-www') ? new URLSearchParams(aSignUp()).toString() : JSON.stringify(aSignUp());
        await refused({ method: 'POST', url: '/register', headers: { 'content-type': contentType }, payload }, 415);
      },
    );

    it.each([
      ['POST', '/register'],
      ['POST', '/login'],
      ['PUT', '/users/:id'],
    ])('a merge patch on %s %s → 415: it is a PATCH format', async (method, url) => {
      await refused(
        { method: method as 'POST' | 'PUT', url: url.replace(':id', String(user.id)), headers: { ...user.auth, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(aSignUp()) },
        415,
      );
    });

    it('a merge patch on PATCH /users/{id} is accepted', async () => {
      const other = await signUp(app);
      const response = await app.inject({
        method: 'PATCH',
        url: `/users/${other.id}`,
        headers: { ...other.auth, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ name: 'Merged' }),
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ name: 'Merged' });
    });

    it('JSON on PATCH with the wrong content type → 415, before anything changes', async () => {
      await refused({ method: 'PATCH', url: `/users/${user.id}`, headers: { ...user.auth, 'content-type': 'text/plain' }, payload: '{"name":"x"}' }, 415);
    });

    it('a body over the 1 MiB default → 413', async () => {
      const payload = JSON.stringify({ ...aSignUp(), name: 'x'.repeat(1024 * 1024 + 10) });
      await refused({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload }, 413);
    });

    it('a body over a configured BODY_LIMIT → 413', async () => {
      const small = await buildE2eApp('memory', { BODY_LIMIT: '1kb' });
      try {
        const response = await small.inject(post('/register', { ...aSignUp(), name: 'x'.repeat(2000) }));
        expectProblem(response, 413);
        expect((await small.inject(post('/register', aSignUp()))).statusCode).toBe(201);
      } finally {
        await small.close();
      }
    });
  });

  it('the user row was never touched by any of the above', async () => {
    const row = await userRow();
    expect(row).toMatchObject({ username: user.username, email: user.email, name: 'Original', role: 'user' });
  });
});
