import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { bearer, buildE2eApp, expectProblem, expectUnauthorized, logIn, logInAdmin, signUp, type Account } from '../support/http.js';
import type { TestApp } from '../support/test-app.js';

const engines = await availableEngines();

/**
 * On SQLite the service keeps the principals of recently seen sessions in memory. Each test here
 * first uses every token it will check, so a stale principal would answer, then makes the change
 * and expects it to hold on the very next request. The same tests run on PostgreSQL, where every
 * request asks the database.
 */
describe.each(engines)('revocation applies at once, whatever was answered before, on %s', (engine) => {
  let app: TestApp;
  let admin: Account;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
    admin = await logInAdmin(app);
  });
  afterAll(() => app.close());

  const me = (token: string) => app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
  const expectAccepted = async (...tokens: string[]) => {
    for (const token of tokens) expect((await me(token)).statusCode).toBe(200);
  };

  it('logout ends the session for its access token and for no other', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.username, user.password);
    await expectAccepted(user.tokens.access_token, second.access_token);
    expect((await app.inject({ method: 'POST', url: '/logout', headers: bearer(second.access_token) })).statusCode).toBe(204);
    expectUnauthorized(await me(second.access_token));
    await expectAccepted(user.tokens.access_token);
  });

  it('a password change by an administrator signs out every session of the user', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.username, user.password);
    await expectAccepted(user.tokens.access_token, second.access_token);
    const changed = await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.auth, payload: { password: 'chosen by the admin 1' } });
    expect(changed.statusCode).toBe(200);
    expectUnauthorized(await me(user.tokens.access_token));
    expectUnauthorized(await me(second.access_token));
    await expectAccepted(admin.tokens.access_token);
  });

  it('reusing a spent refresh token ends that login session at once', async () => {
    const user = await signUp(app);
    await expectAccepted(user.tokens.access_token);
    const refresh = (token: string) => app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: token } });
    const rotated = await refresh(user.tokens.refresh_token);
    expect(rotated.statusCode).toBe(200);
    await expectAccepted(user.tokens.access_token, rotated.json().access_token);
    expectUnauthorized(await refresh(user.tokens.refresh_token));
    expectUnauthorized(await me(user.tokens.access_token));
    expectUnauthorized(await me(rotated.json().access_token));
  });

  it('deleting a user ends all of their sessions', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.username, user.password);
    await expectAccepted(user.tokens.access_token, second.access_token);
    expect((await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(204);
    expectUnauthorized(await me(user.tokens.access_token));
    expectUnauthorized(await me(second.access_token));
  });

  it('a demotion takes the administrator’s rights away from their live tokens', async () => {
    const user = await signUp(app);
    await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.auth, payload: { role: 'admin' } });
    expect((await app.inject({ method: 'GET', url: '/users', headers: user.auth })).statusCode).toBe(200);
    await app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.auth, payload: { role: 'user' } });
    expectProblem(await app.inject({ method: 'GET', url: '/users', headers: user.auth }), 403);
  });
});
