import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, json, type TestApp } from '../support/test-app.js';

describe('smoke: sign up, log in, call /me', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildTestApp('sqlite');
  });
  afterAll(() => app.close());

  it('walks the happy path', async () => {
    const registered = await app.inject({
      method: 'POST',
      url: '/register',
      payload: { username: 'ada_l', email: 'ada@example.com', password: 'correct horse battery staple' },
    });
    expect(registered.statusCode).toBe(201);
    expect(registered.headers.location).toBe(`/users/${json(registered).id}`);

    const login = await app.inject({ method: 'POST', url: '/login', payload: { username: 'ADA_L', password: 'correct horse battery staple' } });
    expect(login.statusCode).toBe(200);

    const me = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${json(login).access_token}` } });
    expect(me.statusCode).toBe(200);
    expect(json(me)).toMatchObject({ username: 'ada_l', email: 'ada@example.com', role: 'user', name: null });
  });
});
