import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../scripts/support/server-process.js';
import { ADMIN, aSignUp, E2E_ENV } from '../support/http.js';
import { call, logInTo, startInstances, type Instances } from '../support/instances.js';

const logIn = async (server: ServerProcess, username: string, password: string) => (await logInTo(server, username, password)).access_token;

/**
 * Two service processes on one SQLite file: whatever one of them changes, the other answers
 * from at once — no process keeps a copy of sessions, roles or tasks.
 */
describe('two service processes on one SQLite file', () => {
  let instances: Instances;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    instances = await startInstances({ database: 'sqlite', firstInstanceEnv: E2E_ENV });
    [a, b] = instances.servers as [ServerProcess, ServerProcess];
  }, 60_000);

  afterAll(() => instances?.stop());

  it('a logout through one is refused by the other at once', async () => {
    const user = aSignUp();
    expect((await call(a, 'POST', '/register', undefined, user)).status).toBe(201);
    const token = await logIn(a, user.username, user.password);
    expect((await call(b, 'GET', '/me', token)).status).toBe(200);
    expect((await call(a, 'POST', '/logout', token)).status).toBe(204);
    expect((await call(b, 'GET', '/me', token)).status).toBe(401);
  });

  it('a role change through one applies on the other at once', async () => {
    const user = aSignUp();
    const { body: created } = await call(a, 'POST', '/register', undefined, user);
    const token = await logIn(b, user.username, user.password);
    expect((await call(b, 'GET', '/users', token)).status).toBe(403);
    const admin = await logIn(a, ADMIN.username, ADMIN.password);
    expect((await call(a, 'PATCH', `/users/${created.id}`, admin, { role: 'admin' })).status).toBe(200);
    expect((await call(b, 'GET', '/users', token)).status).toBe(200);
  });

  it('a task changed or deleted through one reads so on the other at once', async () => {
    const user = aSignUp();
    await call(a, 'POST', '/register', undefined, user);
    const token = await logIn(a, user.username, user.password);
    const { body: task } = await call(a, 'POST', '/tasks', token, { title: 'first' });
    expect((await call(b, 'GET', `/tasks/${task.id}`, token)).body).toMatchObject({ title: 'first', version: 1 });
    await call(a, 'PATCH', `/tasks/${task.id}`, token, { title: 'second' });
    expect((await call(b, 'GET', `/tasks/${task.id}`, token)).body).toMatchObject({ title: 'second', version: 2 });
    expect((await call(a, 'DELETE', `/tasks/${task.id}`, token)).status).toBe(204);
    expect((await call(b, 'GET', `/tasks/${task.id}`, token)).status).toBe(404);
  });

  it('parallel PATCHes of one task through both, without If-Match, all apply', async () => {
    const user = aSignUp();
    await call(a, 'POST', '/register', undefined, user);
    const token = await logIn(a, user.username, user.password);
    const { body: task } = await call(a, 'POST', '/tasks', token, { title: 'shared' });
    const writes = Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a : b, 'PATCH', `/tasks/${task.id}`, token, { title: `writer ${i}` }));
    const answers = await Promise.all(writes);
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(answers.map((answer) => answer.body.version).sort((x: number, y: number) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect((await call(b, 'GET', `/tasks/${task.id}`, token)).body).toMatchObject({ version: 21 });
  });
});
