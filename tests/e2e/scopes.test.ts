import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredRoutes } from '../../src/adapters/http/route-access.js';
import { createApplication } from '../../src/infrastructure/app.js';
import pino from 'pino';
import { availableEngines } from '../support/databases.js';
import { ADMIN, bearer, buildE2eApp, expectProblem, logIn, logInAdmin, signUp, type Account } from '../support/http.js';
import { FAST_ARGON2, json, testConfig, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

describe.each(engines)('scopes on %s', (engine) => {
  let app: TestApp;
  let user: Account;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
    user = await signUp(app);
  });
  afterAll(() => app.close());

  const login = (payload: Record<string, string>) => app.inject({ method: 'POST', url: '/login', payload });

  it('grants at /login and /token what was asked, says so in the response and the JWT, and keeps it across refresh', async () => {
    const body = json(await login({ username: user.username, password: user.password, scope: 'tasks:read profile' }));
    expect(body.scope).toBe('tasks:read profile');
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
    expect(claims.scope).toBe('tasks:read profile');

    const viaForm = await app.inject({ method: 'POST', url: '/token', ...form({ grant_type: 'password', username: user.username, password: user.password, scope: 'tasks:write' }) });
    expect(viaForm.statusCode).toBe(200);
    expect(json(viaForm).scope).toBe('tasks:write');

    const refreshed = json(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: body.refresh_token } }));
    expect(refreshed.scope).toBe('tasks:read profile');
    expect((await app.inject({ method: 'GET', url: '/tasks', headers: bearer(refreshed.access_token) })).statusCode).toBe(200);
    const write = await app.inject({ method: 'POST', url: '/tasks', headers: bearer(refreshed.access_token), payload: { title: 'no' } });
    expectProblem(write, 403);
    expect(write.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:write"');
  });

  it('without a scope grants everything the user may hold: admin only for an administrator', async () => {
    expect(user.tokens).toMatchObject({ scope: 'tasks:read tasks:write profile' });
    expect((await logIn(app, ADMIN.username, ADMIN.password) as unknown as { scope: string }).scope).toBe('tasks:read tasks:write profile admin');
    const blank = await app.inject({ method: 'POST', url: '/token', ...form({ username: user.username, password: user.password, scope: '' }) });
    expect(json(blank).scope).toBe('tasks:read tasks:write profile');
  });

  it('answers an unknown scope, a malformed one, or admin for a non-admin with a 400 problem and opens no session', async () => {
    const before = await app.database!.db('sessions').count({ n: '*' }).first();
    for (const scope of ['tasks:read tasks:delete', 'TASKS:READ', 'tasks:read,profile', 'admin']) {
      const response = await login({ username: user.username, password: user.password, scope });
      const problem = expectProblem(response, 400);
      expect(problem.type).toMatch(/invalid-scope$/);
      const viaForm = await app.inject({ method: 'POST', url: '/token', ...form({ username: user.username, password: user.password, scope }) });
      expectProblem(viaForm, 400);
    }
    // An unknown scope is refused before the password is looked at: the same answer for a wrong one.
    expectProblem(await login({ username: user.username, password: 'wrong password', scope: 'nope' }), 400);
    expect(await app.database!.db('sessions').count({ n: '*' }).first()).toEqual(before);
    const admin = json(await login({ username: ADMIN.username, password: ADMIN.password, scope: 'admin' }));
    expect(admin.scope).toBe('admin');
  });

  it('checks each route’s scope: reading is not writing, profile and admin are their own', async () => {
    const only = async (scope: string) => bearer(json(await login({ username: user.username, password: user.password, scope })).access_token);
    const read = await only('tasks:read');
    const write = await only('tasks:write');
    const profile = await only('profile');

    const created = await app.inject({ method: 'POST', url: '/tasks', headers: write, payload: { title: 'written with tasks:write' } });
    expect(created.statusCode).toBe(201);
    const id = json(created).id;
    const cases: Array<[string, string, Record<string, string>, string | null]> = [
      ['GET', `/tasks/${id}`, write, 'tasks:read'],
      ['GET', '/tasks', profile, 'tasks:read'],
      ['GET', `/tasks/${id}`, read, null],
      ['PATCH', `/tasks/${id}`, read, 'tasks:write'],
      ['DELETE', `/tasks/${id}`, read, 'tasks:write'],
      ['GET', '/me', read, 'profile'],
      ['GET', '/me', profile, null],
      ['GET', `/users/${user.id}`, write, 'profile'],
      ['GET', '/me/tokens', read, 'profile'],
    ];
    for (const [method, url, headers, needed] of cases) {
      const response = await app.inject({ method: method as 'GET', url, headers, ...(method === 'PATCH' ? { payload: { title: 'x' } } : {}) });
      if (needed === null) {
        expect(response.statusCode, `${method} ${url}`).toBe(200);
      } else {
        expectProblem(response, 403);
        expect(response.headers['www-authenticate'], `${method} ${url}`).toBe(`Bearer error="insufficient_scope", scope="${needed}"`);
      }
    }
    expect(json(await app.inject({ method: 'GET', url: `/tasks/${id}`, headers: read })).title).toBe('written with tasks:write');
  });

  it('an administrator without the admin scope is an ordinary user: 403 on /users, 404 on other accounts', async () => {
    const narrow = bearer(json(await login({ username: ADMIN.username, password: ADMIN.password, scope: 'profile' })).access_token);
    const list = await app.inject({ method: 'GET', url: '/users', headers: narrow });
    expectProblem(list, 403);
    expect(list.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin"');
    expectProblem(await app.inject({ method: 'GET', url: `/users/${user.id}`, headers: narrow }), 404);
    const full = await logInAdmin(app);
    expect((await app.inject({ method: 'GET', url: `/users/${user.id}`, headers: full.auth })).statusCode).toBe(200);
  });

  it('POST /logout needs no scope', async () => {
    const tokens = json(await login({ username: user.username, password: user.password, scope: 'tasks:read' }));
    expect((await app.inject({ method: 'POST', url: '/logout', headers: bearer(tokens.access_token) })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/tasks', headers: bearer(tokens.access_token) })).statusCode).toBe(401);
  });
});

describe('every route declares who may call it', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp('memory', { CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(() => app.close());

  it('walks the route table: each route is public or names its scope, and a protected one refuses a missing or scope-less token', async () => {
    const routes = declaredRoutes(app.http);
    expect(routes.length).toBeGreaterThan(20);
    const publicUrls = new Set(routes.filter((r) => r.access && 'public' in r.access && r.access.public).map((r) => r.url));
    for (const url of ['/register', '/users', '/login', '/token', '/refresh', '/health', '/ready', '/metrics', '/openapi.json', '/docs']) {
      expect(publicUrls, url).toContain(url);
    }
    const user = await signUp(app);
    const scopeless = bearer(json(await app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: user.password, scope: 'tasks:read' } })).access_token);
    for (const route of routes) {
      expect(route.access, `${route.method} ${route.url} declares no access`).toBeDefined();
      const access = route.access!;
      if ('public' in access && access.public) continue;
      const url = route.url.replace(':id', '1');
      const anonymous = await app.inject({ method: route.method as 'GET', url });
      expect(anonymous.statusCode, `${route.method} ${route.url}`).toBe(401);
      if (access.scope && access.scope !== 'tasks:read') {
        const refused = await app.inject({ method: route.method as 'GET', url, headers: scopeless });
        expect(refused.statusCode, `${route.method} ${route.url}`).toBe(403);
        expect(refused.headers['www-authenticate']).toBe(`Bearer error="insufficient_scope", scope="${access.scope}"`);
      }
    }
  });

  it('refuses to start with a route that declares nothing', async () => {
    const application = await createApplication(testConfig(), { persistence: 'memory', logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    application.http.get('/undeclared', async () => 'hello');
    await expect(application.http.ready()).rejects.toThrow(/GET \/undeclared/);
    await application.http.close().catch(() => {});
  });

  it('documents the scopes: the password flow lists them and each operation requires its own', async () => {
    const doc = json(await app.inject({ method: 'GET', url: '/openapi.json' }));
    expect(Object.keys(doc.components.securitySchemes.oauth2.flows.password.scopes)).toEqual(['tasks:read', 'tasks:write', 'profile', 'admin']);
    const security = (path: string, method: string) => doc.paths[path][method].security;
    expect(security('/tasks', 'get')).toEqual([{ bearerAuth: [] }, { oauth2: ['tasks:read'] }]);
    expect(security('/tasks', 'post')).toEqual([{ bearerAuth: [] }, { oauth2: ['tasks:write'] }]);
    expect(security('/users', 'get')).toEqual([{ bearerAuth: [] }, { oauth2: ['admin'] }]);
    expect(security('/me/tokens', 'post')).toEqual([{ bearerAuth: [] }, { oauth2: ['profile'] }]);
    expect(security('/logout', 'post')).toEqual([{ bearerAuth: [] }, { oauth2: [] }]);
    expect(security('/login', 'post')).toBeUndefined();
    expect(doc.paths['/tasks'].get.responses['403']).toBeDefined();
  });
});
