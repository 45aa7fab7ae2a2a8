import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { aSignUp, bearer, buildE2eApp, expectProblem, expectUnauthorized, logIn, rowCounts, signUp, type TokenPairBody } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

describe.each(engines)('sign-up, login, refresh and logout on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
  });
  afterAll(() => app.close());

  const refresh = (token: string) => app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: token } });
  const me = (token: string) => app.inject({ method: 'GET', url: '/me', headers: bearer(token) });

  describe('sign-up', () => {
    it.each(['/register', '/users'])('%s creates a user: 201, Location, the user without secrets', async (url) => {
      const body = aSignUp({ name: 'Ada Lovelace' });
      const response = await app.inject({ method: 'POST', url, payload: body });

      expect(response.statusCode).toBe(201);
      const user = json(response);
      expect(response.headers.location).toBe(`/users/${user.id}`);
      expect(Object.keys(user).sort()).toEqual(['created_at', 'email', 'id', 'name', 'role', 'updated_at', 'username']);
      expect(user).toMatchObject({ username: body.username, email: body.email, name: 'Ada Lovelace', role: 'user' });
      expect(Number.isSafeInteger(user.id) && user.id > 0).toBe(true);
      expect(user.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(user.updated_at).toBe(user.created_at);
      expect(response.body).not.toContain(body.password);
      expect(response.body).not.toContain('argon2');
    });

    it('stores an omitted name as null and trims username, email and name', async () => {
      const body = aSignUp();
      const response = await app.inject({
        method: 'POST',
        url: '/register',
        payload: { ...body, username: `  ${body.username}\t`, email: ` ${body.email} `, name: '  Ada  ' },
      });
      expect(json(response)).toMatchObject({ username: body.username, email: body.email, name: 'Ada' });

      const other = await app.inject({ method: 'POST', url: '/register', payload: aSignUp() });
      expect(json(other).name).toBeNull();
    });

    it('keeps the case of a username', async () => {
      const response = await app.inject({ method: 'POST', url: '/register', payload: aSignUp({ username: `MiXeD_${Date.now()}` }) });
      expect(json(response).username).toMatch(/^MiXeD_/);
    });

    it('answers 409 naming the field for a username taken in another case, and changes nothing', async () => {
      const first = aSignUp();
      await app.inject({ method: 'POST', url: '/register', payload: first });
      const before = await rowCounts(app);

      const response = await app.inject({ method: 'POST', url: '/users', payload: aSignUp({ username: first.username.toUpperCase() }) });

      const problem = expectProblem(response, 409);
      expect(problem.errors).toEqual([{ field: 'username', message: expect.any(String) }]);
      expect(problem.detail).toMatch(/username/i);
      expect(await rowCounts(app)).toEqual(before);
    });

    it('answers 409 naming the field for an email taken in another case', async () => {
      const first = aSignUp();
      await app.inject({ method: 'POST', url: '/register', payload: first });
      const before = await rowCounts(app);

      const response = await app.inject({ method: 'POST', url: '/register', payload: aSignUp({ email: `  ${first.email.toUpperCase()} ` }) });

      const problem = expectProblem(response, 409);
      expect(problem.errors).toEqual([{ field: 'email', message: expect.any(String) }]);
      expect(problem.detail).toMatch(/email/i);
      expect(await rowCounts(app)).toEqual(before);
    });

    it('lets exactly one of several parallel sign-ups with one username through', async () => {
      const base = aSignUp();
      const responses = await Promise.all(
        [0, 1, 2, 3].map((i) => app.inject({ method: 'POST', url: '/register', payload: { ...aSignUp(), username: i % 2 ? base.username : base.username.toUpperCase() } })),
      );
      expect(responses.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409]);
    });

    it('never lets a client choose its role or id', async () => {
      const before = await rowCounts(app);
      for (const extra of [{ role: 'admin' }, { id: 1 }, { created_at: '2020-01-01T00:00:00Z' }]) {
        const response = await app.inject({ method: 'POST', url: '/register', payload: { ...aSignUp(), ...extra } });
        const problem = expectProblem(response, 422);
        expect(problem.errors).toEqual([{ field: Object.keys(extra)[0], message: expect.any(String) }]);
      }
      expect(await rowCounts(app)).toEqual(before);
    });
  });

  describe('login', () => {
    it('accepts the username or the email in any case and returns a bearer token pair', async () => {
      const account = await signUp(app);
      for (const login of [account.username, account.username.toUpperCase(), account.email, account.email.toUpperCase(), `  ${account.email}  `]) {
        const response = await app.inject({ method: 'POST', url: '/login', payload: { username: login, password: account.password } });
        expect(response.statusCode, login).toBe(200);
        const body = json(response);
        expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
        expect(body).toMatchObject({ token_type: 'bearer', expires_in: 900, scope: 'tasks:read tasks:write profile' });
        expect((await me(body.access_token)).statusCode).toBe(200);
      }
    });

    it('gives the same 401 for an unknown user and for a wrong password, creating no session', async () => {
      const account = await signUp(app);
      const before = await rowCounts(app);
      const wrongPassword = await app.inject({ method: 'POST', url: '/login', payload: { username: account.username, password: 'not the password' } });
      const unknownUser = await app.inject({ method: 'POST', url: '/login', payload: { username: 'nobody_here', password: account.password } });

      expectProblem(wrongPassword, 401);
      expectProblem(unknownUser, 401);
      expect(json(wrongPassword)).toEqual(json(unknownUser));
      expect(await rowCounts(app)).toEqual(before);
    });

    it('never trims a password', async () => {
      const account = await signUp(app, { password: '  spaced secret  ' });
      const trimmed = await app.inject({ method: 'POST', url: '/login', payload: { username: account.username, password: 'spaced secret' } });
      expectProblem(trimmed, 401);
      await logIn(app, account.username, '  spaced secret  ');
    });

    it('rejects a form body on /login with 415', async () => {
      const account = await signUp(app);
      const response = await app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username: account.username, password: account.password }).toString(),
      });
      expectProblem(response, 415);
    });
  });

  describe('POST /token (OAuth2 password flow)', () => {
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

    it('logs in from a form with every field Swagger UI sends, including a Basic client header', async () => {
      const account = await signUp(app);
      const response = await app.inject({
        method: 'POST',
        url: '/token',
        headers: { ...formHeaders, authorization: `Basic ${Buffer.from('swagger-ui:').toString('base64')}` },
        payload: form({ grant_type: 'password', username: account.email.toUpperCase(), password: account.password, scope: '', client_id: 'swagger-ui', client_secret: '' }),
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(json(response)).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
      expect((await me(json(response).access_token)).statusCode).toBe(200);
    });

    it('logs in from the bare username and password', async () => {
      const account = await signUp(app);
      const response = await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: form({ username: account.username, password: account.password }) });
      expect(response.statusCode).toBe(200);
    });

    it('fails with the same 401 problem as /login', async () => {
      const account = await signUp(app);
      const viaForm = await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: form({ grant_type: 'password', username: account.username, password: 'wrong password' }) });
      const viaJson = await app.inject({ method: 'POST', url: '/login', payload: { username: account.username, password: 'wrong password' } });
      expectProblem(viaForm, 401);
      expect(json(viaForm)).toEqual(json(viaJson));
    });

    it('rejects another grant type or a missing password with 422', async () => {
      const account = await signUp(app);
      expectProblem(await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: form({ grant_type: 'client_credentials', username: account.username, password: account.password }) }), 422);
      expectProblem(await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: form({ username: account.username }) }), 422);
    });
  });

  describe('refresh', () => {
    it('rotates: the new pair works and the old refresh token is spent', async () => {
      const account = await signUp(app);
      const response = await refresh(account.tokens.refresh_token);
      expect(response.statusCode).toBe(200);
      const next = json<TokenPairBody>(response);
      expect(next.refresh_token).not.toBe(account.tokens.refresh_token);
      expect(next.access_token).not.toBe(account.tokens.access_token);
      expect((await me(next.access_token)).statusCode).toBe(200);

      const again = await refresh(next.refresh_token);
      expect(again.statusCode).toBe(200);
    });

    it('on reuse of a spent token answers 401 and revokes that whole login session only', async () => {
      const account = await signUp(app);
      const otherLogin = await logIn(app, account.username, account.password);
      const rotated = json<TokenPairBody>(await refresh(account.tokens.refresh_token));

      expectUnauthorized(await refresh(account.tokens.refresh_token));

      expectUnauthorized(await me(rotated.access_token));
      expectUnauthorized(await refresh(rotated.refresh_token));
      expectUnauthorized(await me(account.tokens.access_token));
      expect((await me(otherLogin.access_token)).statusCode).toBe(200);
      expect((await refresh(otherLogin.refresh_token)).statusCode).toBe(200);
    });

    it('lets at most one of several parallel refreshes with one token succeed', async () => {
      const account = await signUp(app);
      const responses = await Promise.all(Array.from({ length: 6 }, () => refresh(account.tokens.refresh_token)));
      const codes = responses.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(1);
      expect(codes.every((c) => c === 200 || c === 401)).toBe(true);
    });

    it('answers 401 for an unknown refresh token', async () => {
      expectUnauthorized(await refresh('not-a-token-we-issued'));
    });

    it('treats an expired refresh token as invalid', async () => {
      const shortLived = await buildE2eApp(engine, { REFRESH_TOKEN_TTL: '1' });
      try {
        const body = aSignUp();
        await shortLived.inject({ method: 'POST', url: '/register', payload: body });
        const tokens = await logIn(shortLived, body.username, body.password);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expectUnauthorized(await shortLived.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: tokens.refresh_token } }));
      } finally {
        await shortLived.close();
      }
    });
  });

  describe('logout', () => {
    it('answers 204, after which that session’s access and refresh tokens are 401', async () => {
      const account = await signUp(app);
      const otherLogin = await logIn(app, account.username, account.password);

      const response = await app.inject({ method: 'POST', url: '/logout', headers: account.auth });
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');

      expectUnauthorized(await me(account.tokens.access_token));
      expectUnauthorized(await refresh(account.tokens.refresh_token));
      expectUnauthorized(await app.inject({ method: 'POST', url: '/logout', headers: account.auth }));
      expect((await me(otherLogin.access_token)).statusCode).toBe(200);
    });

    it('needs a bearer token', async () => {
      expectUnauthorized(await app.inject({ method: 'POST', url: '/logout' }));
    });
  });

  describe('GET /me', () => {
    it('returns the current user', async () => {
      const account = await signUp(app, { name: 'Grace' });
      const response = await me(account.tokens.access_token);
      expect(response.statusCode).toBe(200);
      expect(json(response)).toMatchObject({ id: account.id, username: account.username, email: account.email, name: 'Grace', role: 'user' });
    });

    it('answers 401 with WWW-Authenticate: Bearer without a token', async () => {
      expectUnauthorized(await app.inject({ method: 'GET', url: '/me' }));
    });
  });
});
