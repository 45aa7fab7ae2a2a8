import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplication, type Application } from '../../src/infrastructure/app.js';
import { availableEngines, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { E2E_ENV, bearer, buildE2eApp, expectProblem, expectUnauthorized, fieldsOf, logIn, logInAdmin, signUp, type Account } from '../support/http.js';
import { FAST_ARGON2, json, testConfig, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

describe.each(engines)('personal access tokens on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
  });
  afterAll(() => app.close());

  const create = (account: Account, payload: unknown) => app.inject({ method: 'POST', url: '/me/tokens', headers: account.auth, payload: payload as object });
  const tokenRows = () => app.database!.db('personal_access_tokens').select('*');
  async function aToken(account: Account, scopes = ['tasks:read', 'profile'], extra: Record<string, unknown> = {}) {
    const response = await create(account, { name: 'script', scopes, ...extra });
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  }

  it('creates a token shown once and stored only as a hash; lists never show it', async () => {
    const user = await signUp(app);
    const response = await create(user, { name: '  nightly backup ', scopes: ['profile', 'tasks:read', 'profile'], expires_in_days: 30 });
    expect(response.statusCode).toBe(201);
    const body = json(response);
    expect(Object.keys(body).sort()).toEqual(['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes', 'token']);
    expect(body).toMatchObject({ name: 'nightly backup', scopes: ['tasks:read', 'profile'], last_used_at: null });
    expect(body.token).toMatch(/^tfp_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expires_at) - Date.parse(body.created_at)).toBe(30 * 86_400_000);

    const rows = await app.database!.db('personal_access_tokens').where({ id: body.id });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(body.token.slice(4));
    expect(rows[0].digest).toMatch(/^[0-9a-f]{64}$/);

    const list = await app.inject({ method: 'GET', url: '/me/tokens', headers: user.auth });
    expect(list.statusCode).toBe(200);
    const { token: _secret, ...withoutSecret } = body;
    expect(json(list)).toEqual({ items: [withoutSecret] });
    expect(list.body).not.toContain(body.token.slice(4));
  });

  it('authenticates as its user with its scopes only, and records last use to the minute', async () => {
    const user = await signUp(app);
    const { token, id } = await aToken(user, ['tasks:read']);
    const me = await app.inject({ method: 'GET', url: '/tasks', headers: bearer(token) });
    expect(me.statusCode).toBe(200);
    const write = await app.inject({ method: 'POST', url: '/tasks', headers: bearer(token), payload: { title: 'x' } });
    expectProblem(write, 403);
    expect(write.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:write"');
    const [row] = await app.database!.db('personal_access_tokens').where({ id });
    const lastUsed = new Date(row.last_used_at);
    expect(lastUsed.getUTCSeconds()).toBe(0);
    expect(lastUsed.getUTCMilliseconds()).toBe(0);
    expect(Date.now() - lastUsed.getTime()).toBeLessThan(120_000);
  });

  it('is refused (403) on /me/tokens, for password and email changes and for logout; other profile changes work', async () => {
    const user = await signUp(app);
    const { token, id } = await aToken(user, ['profile']);
    const pat = bearer(token);
    for (const request of [
      { method: 'GET', url: '/me/tokens' },
      { method: 'POST', url: '/me/tokens', payload: { name: 'child', scopes: ['profile'] } },
      { method: 'DELETE', url: `/me/tokens/${id}` },
      { method: 'PATCH', url: `/users/${user.id}`, payload: { password: 'a new password 1', current_password: user.password } },
      { method: 'PATCH', url: `/users/${user.id}`, payload: { email: 'changed@example.com', current_password: user.password } },
      { method: 'POST', url: '/logout' },
    ] as const) {
      const problem = expectProblem(await app.inject({ ...request, headers: pat }), 403);
      expect(problem.type, `${request.method} ${request.url}`).toMatch(/login-session-required$/);
    }
    expect((await tokenRows()).filter((row) => row.user_id === user.id)).toHaveLength(1);
    const renamed = await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: pat, payload: { name: 'Scripted' } });
    expect(json(renamed).name).toBe('Scripted');
  });

  it('survives a password change and a logout of the login session', async () => {
    const user = await signUp(app);
    const { token } = await aToken(user);
    const changed = await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: user.auth, payload: { password: 'a new password 1', current_password: user.password } });
    expect(changed.statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/logout', headers: user.auth })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode).toBe(200);
  });

  it('revokes: DELETE → 204, then 404; the token is refused at once; another user’s token is a 404', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const { token, id } = await aToken(user);
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode).toBe(200);
    expectProblem(await app.inject({ method: 'DELETE', url: `/me/tokens/${id}`, headers: other.auth }), 404);
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(token) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/me/tokens/${id}`, headers: user.auth })).statusCode).toBe(204);
    expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(token) }));
    expectProblem(await app.inject({ method: 'DELETE', url: `/me/tokens/${id}`, headers: user.auth }), 404);
    expectProblem(await app.inject({ method: 'DELETE', url: '/me/tokens/abc', headers: user.auth }), 422);
  });

  it('stops working when its user is deleted, and when it expires', async () => {
    const admin = await logInAdmin(app);
    const user = await signUp(app);
    const { token } = await aToken(user);
    const expiring = await aToken(user, ['profile'], { expires_in_days: 1 });
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(expiring.token) })).statusCode).toBe(200);
    await app.database!.db('personal_access_tokens').where({ id: expiring.id }).update({ expires_at: new Date(Date.now() - 1000).toISOString() });
    expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(expiring.token) }));

    expect((await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(204);
    expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(token) }));
    expect((await tokenRows()).filter((row) => row.user_id === user.id)).toEqual([]);
  });

  it('grants admin to administrators only; refuses bad input with 422 and creates nothing', async () => {
    const user = await signUp(app);
    const before = (await tokenRows()).length;
    const bad: Array<[unknown, string]> = [
      [{ name: 'x', scopes: ['admin'] }, 'scopes'],
      [{ name: 'x', scopes: ['tasks:delete'] }, 'scopes'],
      [{ name: 'x', scopes: ['tasks:read tasks:write'] }, 'scopes'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: 'tasks:read' }, 'scopes'],
      [{ name: 'x'.repeat(101), scopes: ['profile'] }, 'name'],
      [{ name: '   ', scopes: ['profile'] }, 'name'],
      [{ name: 'x', scopes: ['profile'], expires_in_days: 0 }, 'expires_in_days'],
      [{ name: 'x', scopes: ['profile'], expires_in_days: 366 }, 'expires_in_days'],
      [{ name: 'x', scopes: ['profile'], expires_in_days: 1.5 }, 'expires_in_days'],
      [{ name: 'x', scopes: ['profile'], token: 'tfp_chosen' }, 'token'],
      [{ name: 'x', scopes: ['profile'], user_id: 1 }, 'user_id'],
      [{ scopes: ['profile'] }, 'name'],
    ];
    for (const [payload, field] of bad) {
      const response = await create(user, payload);
      expectProblem(response, 422);
      expect(fieldsOf(response).join(), JSON.stringify(payload)).toContain(field);
    }
    expect((await tokenRows()).length).toBe(before);
    const admin = await logInAdmin(app);
    const adminToken = await aToken(admin, ['admin']);
    expect((await app.inject({ method: 'GET', url: '/users', headers: bearer(adminToken.token) })).statusCode).toBe(200);
    expect((await aToken(user, ['profile'], { name: 'é'.repeat(100), expires_in_days: null })).expires_at).toBeNull();
  });

  it('answers a forged or altered tfp_ token with 401 and WWW-Authenticate: Bearer, never a 500', async () => {
    const user = await signUp(app);
    const { token } = await aToken(user);
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    for (const forged of [flip(token, token.length - 1), flip(token, 10), `${token}A`, token.slice(0, -1), 'tfp_', `tfp_${'A'.repeat(43)}`, `tfp_${'é'.repeat(43)}`, `tfp_${'x'.repeat(5000)}`]) {
      const response = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${forged}` } });
      expectUnauthorized(response);
    }
  });
});

describe('a forged personal access token counts toward the failed-authentication limit', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp('sqlite', { RATE_LIMIT_FAILED_AUTH_MAX: '3' });
  });
  afterAll(() => app.close());

  it('answers 401 up to the limit, then 429', async () => {
    const forged = bearer(`tfp_${'Q'.repeat(43)}`);
    for (let i = 0; i < 3; i++) expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: forged }));
    const limited = await app.inject({ method: 'GET', url: '/me', headers: forged });
    expectProblem(limited, 429);
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

/** Two instances of the service over one database, as behind a load balancer. */
describe.each(engines)('revocation seen by a second instance at once on %s', (engine) => {
  let database: TestDatabase;
  let first: Application;
  let second: Application;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
    const start = () => createApplication(testConfig(E2E_ENV), { persistence: 'sql', db: database.db, logger: pino({ level: 'silent' }), argon2: FAST_ARGON2 });
    first = await start();
    second = await start();
    await Promise.all([first.http.ready(), second.http.ready()]);
  });
  afterAll(async () => {
    await first.http.close();
    await second.http.close();
    await database.destroy();
  });

  const asApp = (application: Application) => ({ inject: application.http.inject.bind(application.http) }) as unknown as TestApp;

  it('a token deleted through one instance is refused by the other on the next request', async () => {
    const user = await signUp(asApp(first));
    const created = json(await first.http.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'ci', scopes: ['profile'] } }));
    expect((await second.http.inject({ method: 'GET', url: '/me', headers: bearer(created.token) })).statusCode).toBe(200);
    expect((await first.http.inject({ method: 'DELETE', url: `/me/tokens/${created.id}`, headers: user.auth })).statusCode).toBe(204);
    expectUnauthorized(await second.http.inject({ method: 'GET', url: '/me', headers: bearer(created.token) }));
  });

  it('a user deleted through one instance loses their tokens on the other', async () => {
    const user = await signUp(asApp(first));
    const created = json(await second.http.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'ci', scopes: ['profile'] } }));
    expect((await second.http.inject({ method: 'GET', url: '/me', headers: bearer(created.token) })).statusCode).toBe(200);
    const admin = await logIn(asApp(first), E2E_ENV.ADMIN_USERNAME, E2E_ENV.ADMIN_PASSWORD);
    expect((await first.http.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: bearer(admin.access_token) })).statusCode).toBe(204);
    expectUnauthorized(await second.http.inject({ method: 'GET', url: '/me', headers: bearer(created.token) }));
  });
});
