import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aSignUp, bearer, buildE2eApp, expectProblem, expectUnauthorized, fieldsOf } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

/** The web client's session: the refresh token in an HttpOnly cookie the service sets on request. */
describe('the refresh cookie of the web client', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp('sqlite', { TRUST_PROXY: '1', REFRESH_TOKEN_TTL: '7d' });
  });
  afterAll(() => app.close());

  const setCookie = (response: LightMyRequestResponse): string => {
    const header = response.headers['set-cookie'];
    expect(header, 'Set-Cookie').toBeDefined();
    return [header].flat()[0]!;
  };
  const valueOf = (cookie: string): string => cookie.slice(cookie.indexOf('=') + 1, cookie.indexOf(';'));
  const attributesOf = (cookie: string): string[] => cookie.split(';').slice(1).map((part) => part.trim());

  async function account(): Promise<{ username: string; password: string }> {
    const body = aSignUp();
    expect((await app.inject({ method: 'POST', url: '/register', payload: body })).statusCode).toBe(201);
    return body;
  }

  async function webLogin(headers: Record<string, string> = {}) {
    const { username, password } = await account();
    const response = await app.inject({ method: 'POST', url: '/login', headers, payload: { username, password, refresh_cookie: true } });
    expect(response.statusCode, response.body).toBe(200);
    return { response, cookie: setCookie(response), body: json(response) };
  }

  const refreshWithCookie = (token: string) =>
    app.inject({ method: 'POST', url: '/refresh', headers: { cookie: `theme=dark; taskforge_refresh=${token}` }, payload: {} });

  it('is not set for API clients, which keep refresh_token in the body', async () => {
    const { username, password } = await account();
    for (const payload of [{ username, password }, { username, password, refresh_cookie: false }]) {
      const response = await app.inject({ method: 'POST', url: '/login', payload });
      expect(response.statusCode).toBe(200);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(json(response).refresh_token).toEqual(expect.any(String));
    }
  });

  it('is set at login on request: HttpOnly, SameSite=Strict, only for /refresh, as long-lived as the refresh token, and the token stays out of the body', async () => {
    const { cookie, body } = await webLogin();
    expect(cookie.startsWith('taskforge_refresh=')).toBe(true);
    expect(valueOf(cookie).length).toBeGreaterThan(20);
    // REFRESH_TOKEN_TTL is 7 days here: closing the browser does not end the login.
    expect(attributesOf(cookie).sort()).toEqual(['HttpOnly', `Max-Age=${7 * 24 * 3600}`, 'Path=/refresh', 'SameSite=Strict']);
    expect(body).not.toHaveProperty('refresh_token');
    expect(body).toMatchObject({ access_token: expect.any(String), token_type: 'bearer', expires_in: expect.any(Number) });
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(body.access_token) })).statusCode).toBe(200);
  });

  it('is Secure when the request came over HTTPS', async () => {
    const { cookie } = await webLogin({ 'x-forwarded-proto': 'https' });
    expect(attributesOf(cookie)).toContain('Secure');
  });

  it('is refused as a login to any other route', async () => {
    const { cookie } = await webLogin();
    expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: { cookie: `taskforge_refresh=${valueOf(cookie)}` } }));
  });

  it('lets /refresh without a body token use the cookie, rotating it', async () => {
    const { cookie } = await webLogin();
    const response = await refreshWithCookie(valueOf(cookie));
    expect(response.statusCode, response.body).toBe(200);
    const body = json(response);
    expect(body).not.toHaveProperty('refresh_token');
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(body.access_token) })).statusCode).toBe(200);
    const rotated = setCookie(response);
    // Each rotation starts the refresh token's lifetime again, and the cookie's with it.
    expect(attributesOf(rotated).sort()).toEqual(['HttpOnly', `Max-Age=${7 * 24 * 3600}`, 'Path=/refresh', 'SameSite=Strict']);
    expect(valueOf(rotated)).not.toBe(valueOf(cookie));
    expect((await refreshWithCookie(valueOf(rotated))).statusCode).toBe(200);
  });

  it('treats a reused cookie as refresh-token reuse: 401, the cookie cleared, the session revoked', async () => {
    const { cookie, body } = await webLogin();
    const rotated = valueOf(setCookie(await refreshWithCookie(valueOf(cookie))));

    const reuse = await refreshWithCookie(valueOf(cookie));
    expectProblem(reuse, 401);
    const cleared = setCookie(reuse);
    expect(valueOf(cleared)).toBe('');
    expect(attributesOf(cleared)).toEqual(expect.arrayContaining(['Max-Age=0', 'Path=/refresh']));
    expect((await refreshWithCookie(rotated)).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/me', headers: bearer(body.access_token) })).statusCode).toBe(401);
  });

  it('prefers a token in the body, answering as to an API client', async () => {
    const { username, password } = await account();
    const apiPair = json(await app.inject({ method: 'POST', url: '/login', payload: { username, password } }));
    const { cookie } = await webLogin();
    const response = await app.inject({ method: 'POST', url: '/refresh', headers: { cookie: `taskforge_refresh=${valueOf(cookie)}` }, payload: { refresh_token: apiPair.refresh_token } });
    expect(response.statusCode).toBe(200);
    expect(json(response).refresh_token).toEqual(expect.any(String));
    expect(response.headers['set-cookie']).toBeUndefined();
    expect((await refreshWithCookie(valueOf(cookie))).statusCode).toBe(200);
  });

  it('answers /refresh with neither a body token nor the cookie with a 422 naming refresh_token', async () => {
    const response = await app.inject({ method: 'POST', url: '/refresh', payload: {} });
    expectProblem(response, 422);
    expect(fieldsOf(response)).toEqual(['refresh_token']);
  });

  it('answers a forged cookie with 401 and clears it', async () => {
    const response = await refreshWithCookie('forged-token-value');
    expectUnauthorized(response);
    expect(valueOf(setCookie(response))).toBe('');
  });

  it('is cleared by logout, after which it no longer refreshes', async () => {
    const { cookie, body } = await webLogin();
    const response = await app.inject({ method: 'POST', url: '/logout', headers: bearer(body.access_token) });
    expect(response.statusCode).toBe(204);
    const cleared = setCookie(response);
    expect(valueOf(cleared)).toBe('');
    expect(attributesOf(cleared)).toEqual(expect.arrayContaining(['Max-Age=0', 'Path=/refresh', 'HttpOnly', 'SameSite=Strict']));
    expectProblem(await refreshWithCookie(valueOf(cookie)), 401);
  });

  it('is documented in the OpenAPI document as an opt-in of /login', async () => {
    const document = json(await app.inject({ method: 'GET', url: '/openapi.json' }));
    const login = document.paths['/login'].post.requestBody.content['application/json'].schema;
    expect(login.properties.refresh_cookie).toMatchObject({ type: 'boolean', description: expect.stringMatching(/HttpOnly/) });
    expect(document.paths['/refresh'].post.description).toMatch(/cookie/);
  });
});
