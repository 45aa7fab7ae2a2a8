import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PurgeExpiredEvents } from '../../src/application/index.js';
import { availableEngines } from '../support/databases.js';
import { bearer, buildE2eApp, expectProblem, expectUnauthorized, fieldsOf, signUp, type Account } from '../support/http.js';
import { byId, SyncCopy, type SyncBody, type TaskBody } from '../support/sync-copy.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

describe.each(engines)('GET /sync on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
  });
  afterAll(() => app.close());

  const syncRequest = (account: Account, query: Record<string, string | number> = {}) =>
    app.inject({ method: 'GET', url: '/sync', headers: account.auth, query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
  async function sync(account: Account, query: Record<string, string | number> = {}): Promise<SyncBody> {
    const response = await syncRequest(account, query);
    expect(response.statusCode, response.body).toBe(200);
    return json<SyncBody>(response);
  }
  async function createTask(account: Account, title: string): Promise<TaskBody> {
    const response = await app.inject({ method: 'POST', url: '/tasks', headers: account.auth, payload: { title } });
    expect(response.statusCode, response.body).toBe(201);
    return json<TaskBody>(response);
  }
  const patchTask = (account: Account, id: number, title: string) => app.inject({ method: 'PATCH', url: `/tasks/${id}`, headers: account.auth, payload: { title } });
  const deleteTask = (account: Account, id: number) => app.inject({ method: 'DELETE', url: `/tasks/${id}`, headers: account.auth });
  async function serverTasks(account: Account): Promise<TaskBody[]> {
    const all: TaskBody[] = [];
    let cursor: string | null = null;
    do {
      const page = json(await app.inject({ method: 'GET', url: '/tasks', headers: account.auth, query: { limit: '100', ...(cursor ? { cursor } : {}) } }));
      all.push(...(page.items as TaskBody[]));
      cursor = page.next_cursor as string | null;
    } while (cursor);
    return all.sort(byId);
  }

  const syncCopyOf = (account: Account) => new SyncCopy((query) => sync(account, query));

  it('pages a full sync of the caller\'s tasks, then sends changes and tombstones', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const created = [];
    for (const title of ['one', 'two', 'three', 'four', 'five']) created.push(await createTask(user, title));
    await createTask(other, 'not yours');

    const first = await syncRequest(user, { limit: 2 });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    const body = json<SyncBody>(first);
    expect(Object.keys(body).sort()).toEqual(['deleted', 'full_sync', 'has_more', 'sync_token', 'tasks']);
    expect(body).toMatchObject({ tasks: created.slice(0, 2), deleted: [], has_more: true, full_sync: true });

    const client = syncCopyOf(user);
    const pages = [client.apply(body), ...(await client.untilDone(2))];
    expect(pages.map((page) => page.tasks.length)).toEqual([2, 2, 1]);
    expect(pages.map((page) => page.has_more)).toEqual([true, true, false]);
    expect(client.tasks()).toEqual(created);

    const changed = json<TaskBody>(await patchTask(user, created[1]!.id, 'two, changed'));
    expect((await deleteTask(user, created[2]!.id)).statusCode).toBe(204);
    const added = await createTask(user, 'six');
    const brief = await createTask(user, 'created and deleted');
    await deleteTask(user, brief.id);

    const changes = await sync(user, { since: client.token! });
    expect(changes).toEqual({
      tasks: [changed, added],
      deleted: [
        { id: created[2]!.id, deleted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
        { id: brief.id, deleted_at: expect.any(String) },
      ],
      sync_token: expect.any(String),
      has_more: false,
      full_sync: false,
    });
    client.apply(changes);
    expect(client.tasks()).toEqual(await serverTasks(user));
    expect(await sync(user, { since: changes.sync_token })).toMatchObject({ tasks: [], deleted: [], has_more: false, full_sync: false });
  });

  it('answers an account without tasks with an empty full sync', async () => {
    const user = await signUp(app);
    expect(await sync(user)).toEqual({ tasks: [], deleted: [], sync_token: expect.any(String), has_more: false, full_sync: true });
  });

  it('needs a token (401) granted tasks:read (403)', async () => {
    expectUnauthorized(await app.inject({ method: 'GET', url: '/sync' }));
    const user = await signUp(app);
    const created = await app.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'writer', scopes: ['tasks:write'] } });
    expect(created.statusCode, created.body).toBe(201);
    const refused = await app.inject({ method: 'GET', url: '/sync', headers: bearer(json(created).token) });
    expectProblem(refused, 403);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:read"');

    const reader = await app.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'reader', scopes: ['tasks:read'] } });
    expect((await app.inject({ method: 'GET', url: '/sync', headers: bearer(json(reader).token) })).statusCode).toBe(200);
  });

  it('refuses a bad limit, an unknown parameter and a token altered or of another user with a 422 naming the field', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    await createTask(user, 'a task');
    for (const limit of ['0', '1001', '-1', '2.5', 'many']) expect(fieldsOf(expectProblemResponse(await syncRequest(user, { limit })))).toEqual(['limit']);
    expect(fieldsOf(expectProblemResponse(await syncRequest(user, { page: 2 })))).toEqual(['page']);

    const mine = (await sync(user)).sync_token;
    const others = (await sync(other)).sync_token;
    const scanning = (await sync(other, { limit: 1 })).sync_token;
    const cursor = json(await app.inject({ method: 'GET', url: '/tasks?limit=1', headers: user.auth })).next_cursor as string | null;
    const altered = `${mine.slice(0, 5)}${mine[5] === 'A' ? 'B' : 'A'}${mine.slice(6)}`;
    for (const since of [others, scanning, altered, 'not a token', '', ...(cursor ? [cursor] : [])]) {
      const response = await syncRequest(user, { since });
      expect(fieldsOf(expectProblemResponse(response)), since).toEqual(['since']);
    }
    expect((await syncRequest(user, { since: mine })).statusCode).toBe(200);
  });

  it('answers 410 when the changes after a token are past retention, and a full sync starts afresh', async () => {
    const user = await signUp(app);
    const { sync_token: token } = await sync(user);
    const task = await createTask(user, 'soon forgotten');
    const db = app.database!.db;
    await db('events').where({ user_id: user.id }).update({ occurred_at: new Date(Date.now() - 30 * 86_400_000).toISOString() });
    expect((await app.container.resolve(PurgeExpiredEvents).execute()).events).toBeGreaterThanOrEqual(1);

    const gone = expectProblem(await syncRequest(user, { since: token }), 410);
    expect(gone.type).toMatch(/history-gone$/);
    expect(await sync(user)).toMatchObject({ tasks: [task], full_sync: true, has_more: false });
  });

  it('converges when writes race a paged sync', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const mine: TaskBody[] = [];
    for (let i = 0; i < 24; i += 1) mine.push(await createTask(user, `task ${i}`));
    const client = syncCopyOf(user);

    let round = 0;
    let page: SyncBody;
    do {
      round += 1;
      const target = mine[(round * 7) % mine.length]!;
      // Two writes of the user's per round against pages of five: the sync catches up while they race it.
      const racing = [
        patchTask(user, target.id, `changed in round ${round}`),
        round % 2 === 0 ? deleteTask(user, mine[round]!.id) : createTask(user, `raced ${round}`).then((task) => mine.push(task)),
        createTask(other, `someone else ${round}`),
      ];
      [page] = await Promise.all([client.page(5), ...racing]);
    } while (page.has_more && round < 40);
    expect(page.has_more).toBe(false);
    expect(round).toBeGreaterThanOrEqual(5); // 24 tasks at five a page: every page of the full sync was raced

    await client.untilDone(5);
    expect(client.tasks()).toEqual(await serverTasks(user));
  });
});

describe('GET /sync in the OpenAPI document', () => {
  it('names its query, its answers and the scope it needs', async () => {
    const app = await buildE2eApp('memory');
    const operation = json(await app.inject({ method: 'GET', url: '/openapi.json' })).paths['/sync'].get;
    await app.close();
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['limit', 'since']);
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '401', '403', '410', '422', '429']);
    expect(Object.keys(operation.responses['200'].content['application/json'].schema.properties).sort()).toEqual([
      'deleted',
      'full_sync',
      'has_more',
      'sync_token',
      'tasks',
    ]);
    expect(operation.security).toContainEqual({ oauth2: ['tasks:read'] });
  });
});

/** A 422 problem, checked; the response itself, for fieldsOf. */
function expectProblemResponse(response: Parameters<typeof expectProblem>[0]): Parameters<typeof expectProblem>[0] {
  expectProblem(response, 422);
  return response;
}
