import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { ADMIN, aSignUp, bearer, buildE2eApp, expectProblem, expectUnauthorized, fieldsOf, logIn, logInAdmin, rowCounts, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

describe.each(engines)('user accounts on %s', (engine) => {
  let app: TestApp;
  let admin: Account;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
    admin = await logInAdmin(app);
  });
  afterAll(() => app.close());

  const me = (account: { auth: { authorization: string } }) => app.inject({ method: 'GET', url: '/me', headers: account.auth });
  const patch = (account: Account, id: number, payload: Record<string, unknown>) =>
    app.inject({ method: 'PATCH', url: `/users/${id}`, headers: account.auth, payload });

  it('creates the first administrator from ADMIN_* at start-up', async () => {
    const response = await me(admin);
    expect(json(response)).toMatchObject({ username: ADMIN.username, email: ADMIN.email, role: 'admin' });
  });

  describe('GET /users', () => {
    it('is for administrators only: 403 for a user, 401 without a token', async () => {
      const user = await signUp(app);
      expectProblem(await app.inject({ method: 'GET', url: '/users', headers: user.auth }), 403);
      expectUnauthorized(await app.inject({ method: 'GET', url: '/users' }));
    });

    it('pages with limit and offset, in id order, with the total', async () => {
      const response = await app.inject({ method: 'GET', url: '/users?limit=2&offset=0', headers: admin.auth });
      expect(response.statusCode).toBe(200);
      const page = json(response);
      expect(page).toMatchObject({ limit: 2, offset: 0, total: expect.any(Number) });
      expect(page.items).toHaveLength(2);
      expect(page.items[0].id).toBeLessThan(page.items[1].id);

      const next = json(await app.inject({ method: 'GET', url: '/users?limit=2&offset=1', headers: admin.auth }));
      expect(next.items[0].id).toBe(page.items[1].id);
      expect(next.total).toBe(page.total);
    });

    it('defaults to limit 20, offset 0', async () => {
      const page = json(await app.inject({ method: 'GET', url: '/users', headers: admin.auth }));
      expect(page).toMatchObject({ limit: 20, offset: 0 });
    });

    it('searches username, email and name with q, ignoring case', async () => {
      const marker = `zq${Date.now().toString(36)}`;
      const byName = await signUp(app, { name: `Someone ${marker.toUpperCase()}` });
      const byUsername = await signUp(app, { username: `${marker}_u` });
      await signUp(app);

      const page = json(await app.inject({ method: 'GET', url: `/users?q=${marker.toUpperCase()}`, headers: admin.auth }));
      expect(page.items.map((u: { id: number }) => u.id).sort()).toEqual([byName.id, byUsername.id].sort());
      expect(page.total).toBe(2);
    });

    it('treats % and _ in q as plain text', async () => {
      const page = json(await app.inject({ method: 'GET', url: '/users?q=%25', headers: admin.auth }));
      expect(page.total).toBe(0);
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'offset=-1', 'unknown=1'])('rejects %s with 422', async (query) => {
      expectProblem(await app.inject({ method: 'GET', url: `/users?${query}`, headers: admin.auth }), 422);
    });
  });

  describe('GET /users/{id}', () => {
    it('shows a user to themself and to an admin; to anyone else it does not exist', async () => {
      const owner = await signUp(app);
      const stranger = await signUp(app);
      expect(json(await app.inject({ method: 'GET', url: `/users/${owner.id}`, headers: owner.auth })).id).toBe(owner.id);
      expect(json(await app.inject({ method: 'GET', url: `/users/${owner.id}`, headers: admin.auth })).id).toBe(owner.id);
      const hidden = await app.inject({ method: 'GET', url: `/users/${owner.id}`, headers: stranger.auth });
      const absent = await app.inject({ method: 'GET', url: '/users/2147483000', headers: stranger.auth });
      expectProblem(hidden, 404);
      expect(json(hidden)).toEqual(json(absent));
    });
  });

  describe('PUT /users/{id}', () => {
    it('replaces the writable fields; an omitted name is cleared', async () => {
      const user = await signUp(app, { name: 'Old Name' });
      const response = await app.inject({
        method: 'PUT',
        url: `/users/${user.id}`,
        headers: user.auth,
        payload: { username: `${user.username}_x`, email: user.email },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(json(response)).toMatchObject({ username: `${user.username}_x`, email: user.email, name: null });
      expect(Date.parse(json(response).updated_at)).toBeGreaterThanOrEqual(Date.parse(json(response).created_at));
    });

    it('requires username and email', async () => {
      const user = await signUp(app);
      const response = await app.inject({ method: 'PUT', url: `/users/${user.id}`, headers: user.auth, payload: { name: 'x' } });
      expectProblem(response, 422);
      expect(fieldsOf(response).sort()).toEqual(['email', 'username']);
    });

    it('answers 409 when the new username belongs to someone else in another case', async () => {
      const user = await signUp(app);
      const other = await signUp(app);
      const response = await app.inject({
        method: 'PUT',
        url: `/users/${user.id}`,
        headers: user.auth,
        payload: { username: other.username.toUpperCase(), email: user.email },
      });
      expect(expectProblem(response, 409).errors).toEqual([{ field: 'username', message: expect.any(String) }]);
    });

    it('hides another user’s account behind 404 and changes nothing', async () => {
      const user = await signUp(app);
      const stranger = await signUp(app);
      const response = await app.inject({
        method: 'PUT',
        url: `/users/${user.id}`,
        headers: stranger.auth,
        payload: { username: 'stolen_name', email: 'stolen@example.com' },
      });
      expectProblem(response, 404);
      expect(json(await me(user)).username).toBe(user.username);
    });
  });

  describe('PATCH /users/{id}', () => {
    it('changes only the fields given; {} changes nothing', async () => {
      const user = await signUp(app, { name: 'Keep' });
      const renamed = await patch(user, user.id, { username: `${user.username}_p` });
      expect(json(renamed)).toMatchObject({ username: `${user.username}_p`, email: user.email, name: 'Keep' });

      const unchanged = await patch(user, user.id, {});
      expect(unchanged.statusCode).toBe(200);
      expect(json(unchanged)).toEqual(json(renamed));
    });

    it('lets a user change the case of their own username', async () => {
      const user = await signUp(app);
      const response = await patch(user, user.id, { username: user.username.toUpperCase() });
      expect(response.statusCode, response.body).toBe(200);
      expect(json(response).username).toBe(user.username.toUpperCase());
    });

    it('clears the name with null', async () => {
      const user = await signUp(app, { name: 'Someone' });
      expect(json(await patch(user, user.id, { name: null })).name).toBeNull();
    });

    it('hides another user’s account behind 404', async () => {
      const user = await signUp(app);
      const stranger = await signUp(app);
      expectProblem(await patch(stranger, user.id, { name: 'x' }), 404);
      expect(json(await me(user)).name).toBeNull();
    });
  });

  describe('changing one’s own password or email', () => {
    it('without current_password → 422 naming it, and nothing changes', async () => {
      const user = await signUp(app);
      for (const payload of [{ password: 'a brand new password' }, { email: `new_${user.email}` }, { password: 'a brand new password', current_password: '' }]) {
        const response = await patch(user, user.id, payload);
        expectProblem(response, 422);
        expect(fieldsOf(response)).toContain('current_password');
      }
      await logIn(app, user.username, user.password);
      expect(json(await me(user)).email).toBe(user.email);
    });

    it('with a wrong current_password → 403, and nothing changes', async () => {
      const user = await signUp(app);
      const before = await rowCounts(app);
      const response = await patch(user, user.id, { password: 'a brand new password', current_password: 'not my password' });
      expectProblem(response, 403);
      await logIn(app, user.username, user.password);
      expect((await rowCounts(app)).users).toBe(before.users);
      expect((await me(user)).statusCode).toBe(200);
    });

    it('with the right one: the changing session stays valid and every other session is revoked', async () => {
      const user = await signUp(app);
      const other = await logIn(app, user.username, user.password);
      const response = await patch(user, user.id, { password: 'a brand new password', current_password: user.password });
      expect(response.statusCode, response.body).toBe(200);

      expect((await me(user)).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: user.tokens.refresh_token } })).statusCode).toBe(200);
      expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(other.access_token) }));
      expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: other.refresh_token } }));

      expectProblem(await app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: user.password } }), 401);
      await logIn(app, user.email, 'a brand new password');
    });

    it('an email change with the right current_password also signs out the other sessions', async () => {
      const user = await signUp(app);
      const other = await logIn(app, user.username, user.password);
      const email = `changed_${user.email}`;
      expect((await patch(user, user.id, { email, current_password: user.password })).statusCode).toBe(200);
      expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(other.access_token) }));
      await logIn(app, email.toUpperCase(), user.password);
    });

    it('an admin changes another user’s password without current_password and signs them out', async () => {
      const user = await signUp(app);
      const response = await patch(admin, user.id, { password: 'set by the admin 1' });
      expect(response.statusCode, response.body).toBe(200);
      expectUnauthorized(await me(user));
      expect((await me(admin)).statusCode).toBe(200);
      await logIn(app, user.username, 'set by the admin 1');
    });
  });

  describe('roles', () => {
    it('a non-admin sending role → 403, even their current role, and nothing changes', async () => {
      const user = await signUp(app);
      for (const role of ['admin', 'user']) {
        expectProblem(await patch(user, user.id, { role }), 403);
        expectProblem(
          await app.inject({ method: 'PUT', url: `/users/${user.id}`, headers: user.auth, payload: { username: user.username, email: user.email, role } }),
          403,
        );
      }
      expect(json(await me(user)).role).toBe('user');
    });

    it('an admin can set a role, and it applies to the user’s live tokens at once', async () => {
      const user = await signUp(app);
      const promoted = await patch(admin, user.id, { role: 'admin' });
      expect(json(promoted).role).toBe('admin');
      expect((await app.inject({ method: 'GET', url: '/users', headers: user.auth })).statusCode).toBe(200);

      await patch(admin, user.id, { role: 'user' });
      expectProblem(await app.inject({ method: 'GET', url: '/users', headers: user.auth }), 403);
    });

    it('rejects an unknown role with 422', async () => {
      const user = await signUp(app);
      expectProblem(await patch(admin, user.id, { role: 'root' }), 422);
    });
  });

  describe('DELETE /users/{id}', () => {
    it('deletes oneself (204); the sessions die with the account', async () => {
      const user = await signUp(app);
      const other = await logIn(app, user.username, user.password);
      const response = await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: user.auth });
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');

      expectUnauthorized(await me(user));
      expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: bearer(other.access_token) }));
      expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: other.refresh_token } }));
      expectProblem(await app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: user.password } }), 401);
      const sessions = await app.database!.db('sessions').where({ user_id: user.id }).count({ n: '*' }).first();
      expect(Number(sessions?.n)).toBe(0);
    });

    it('an admin deletes another user; again → 404', async () => {
      const user = await signUp(app);
      expect((await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(204);
      expectProblem(await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth }), 404);
      expectUnauthorized(await me(user));
    });

    it('a stranger gets 404 and the user survives', async () => {
      const user = await signUp(app);
      const stranger = await signUp(app);
      expectProblem(await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: stranger.auth }), 404);
      expect((await me(user)).statusCode).toBe(200);
    });

    it('a deleted username can be signed up again', async () => {
      const user = await signUp(app);
      await app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: user.auth });
      const again = await app.inject({ method: 'POST', url: '/register', payload: { ...aSignUp(), username: user.username, email: user.email } });
      expect(again.statusCode).toBe(201);
    });
  });

  describe('path ids', () => {
    it.each([
      ['abc', [422]],
      ['1.5', [422]],
      ['0', [404, 422]],
      ['-1', [404, 422]],
      ['2147483648', [404, 422]],
      ['9007199254740992', [404, 422]],
      ['99999999999999999999999', [404, 422]],
    ])('/users/%s → %j, never 500', async (id, statuses) => {
      for (const [method, payload] of [['GET'], ['PATCH', { name: 'x' }], ['PUT', { username: 'abc', email: 'a@b.co' }], ['DELETE']] as const) {
        const response = await app.inject({ method, url: `/users/${id}`, headers: admin.auth, ...(payload ? { payload } : {}) });
        expect(statuses, `${method} ${response.body}`).toContain(response.statusCode);
        expectProblem(response, response.statusCode);
      }
    });
  });
});
