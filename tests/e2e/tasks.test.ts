import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { buildE2eApp, expectProblem, expectUnauthorized, fieldsOf, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = ['memory' as const, ...(await availableEngines())];

type Body = Record<string, unknown>;

describe.each(engines)('tasks over HTTP on %s', (engine) => {
  let app: TestApp;
  let ada: Account;
  let bob: Account;

  beforeAll(async () => {
    app = await buildE2eApp(engine);
    ada = await signUp(app);
    bob = await signUp(app);
  });
  afterAll(() => app.close());

  const call = (who: Account, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: method as 'GET', url, headers: { ...who.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as Body }) });
  const create = async (who: Account, body: Body = {}) => {
    const response = await call(who, 'POST', '/tasks', { title: 'A task', ...body });
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  };
  const db = () => app.database!.db;
  const taskRow = (id: number) => db()('tasks').where({ id }).first();
  const taskCount = async () => Number(((await db()('tasks').count({ n: '*' }).first()) as { n: string | number }).n);

  describe('create', () => {
    it('answers 201 with Location, ETag and every field at its default', async () => {
      const response = await call(ada, 'POST', '/tasks', { title: '  Buy milk  ' });
      expect(response.statusCode).toBe(201);
      const task = json(response);
      expect(response.headers.location).toBe(`/tasks/${task.id}`);
      expect(response.headers.etag).toBe('"1"');
      expect(task).toEqual({
        id: expect.any(Number),
        user_id: ada.id,
        title: 'Buy milk',
        description: '',
        status: 'todo',
        completed: false,
        priority: 'medium',
        due_date: null,
        remind_at: null,
        tags: [],
        completed_at: null,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updated_at: task.created_at,
        version: 1,
      });
    });

    it('keeps every given field, answers due_date in UTC and merges duplicate tags in first-seen order', async () => {
      const task = await create(ada, {
        title: 'Report',
        description: 'Numbers first.',
        status: 'in_progress',
        priority: 'urgent',
        due_date: '2026-12-01T17:00:00+02:00',
        tags: ['work', ' q4 ', 'work', 'home'],
      });
      expect(task).toMatchObject({ status: 'in_progress', priority: 'urgent', due_date: '2026-12-01T15:00:00.000Z', tags: ['work', 'q4', 'home'] });
    });

    it('takes completed as a shorthand for status and refuses a contradiction', async () => {
      const done = await create(ada, { completed: true });
      expect(done).toMatchObject({ status: 'done', completed: true, completed_at: expect.any(String) });
      expect(await create(ada, { completed: false })).toMatchObject({ status: 'todo', completed: false, completed_at: null });
      expect(await create(ada, { completed: false, status: 'in_progress' })).toMatchObject({ status: 'in_progress' });
      expect(await create(ada, { completed: true, status: 'done' })).toMatchObject({ status: 'done' });
      for (const body of [{ completed: true, status: 'todo' }, { completed: false, status: 'done' }, { completed: true, status: 'in_progress' }]) {
        const response = await call(ada, 'POST', '/tasks', { title: 'x', ...body });
        expectProblem(response, 422);
        expect(fieldsOf(response)).toContain('completed');
      }
    });

    const valid: Array<[string, Body]> = [
      ['title of 200 characters', { title: 't'.repeat(200) }],
      ['title of 200 astral code points', { title: '😀'.repeat(200) }],
      ['description of 10,000 characters', { description: 'd'.repeat(10_000) }],
      ['20 distinct tags', { tags: Array.from({ length: 20 }, (_, i) => `t${i}`) }],
      ['21 tags of which 20 distinct', { tags: [...Array.from({ length: 20 }, (_, i) => `t${i}`), 't0'] }],
      ['a tag of 50 characters', { tags: ['g'.repeat(50)] }],
      ['an empty description', { description: '' }],
      ['a null due date', { due_date: null }],
      ['every status', { status: 'done' }],
      ['every priority', { priority: 'low' }],
    ];
    it.each(valid)('accepts %s', async (_name, body) => {
      await create(ada, body);
    });

    const invalid: Array<[string, Body, string]> = [
      ['no title', { title: undefined }, 'title'],
      ['an empty title', { title: '' }, 'title'],
      ['a blank title', { title: '   ' }, 'title'],
      ['a title of 201 characters', { title: 't'.repeat(201) }, 'title'],
      ['a title of 201 astral code points', { title: '😀'.repeat(201) }, 'title'],
      ['a numeric title', { title: 42 }, 'title'],
      ['a description of 10,001 characters', { description: 'd'.repeat(10_001) }, 'description'],
      ['a null description', { description: null }, 'description'],
      ['an unknown status', { status: 'blocked' }, 'status'],
      ['an unknown priority', { priority: 'critical' }, 'priority'],
      ['a string completed', { completed: 'true' }, 'completed'],
      ['a date without time', { due_date: '2026-12-01' }, 'due_date'],
      ['a date without offset', { due_date: '2026-12-01T10:00:00' }, 'due_date'],
      ['an impossible date', { due_date: '2026-02-30T10:00:00Z' }, 'due_date'],
      ['21 distinct tags', { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      ['a tag of 51 characters', { tags: ['g'.repeat(51)] }, 'tags.0'],
      ['an empty tag', { tags: ['ok', ''] }, 'tags.1'],
      ['a blank tag', { tags: ['  '] }, 'tags.0'],
      ['tags as a string', { tags: 'work' }, 'tags'],
    ];
    it.each(invalid)('refuses %s with 422 naming the field', async (_name, body, field) => {
      const response = await call(ada, 'POST', '/tasks', { title: 'x', ...body });
      expectProblem(response, 422);
      expect(fieldsOf(response)).toContain(field);
    });

    it.each(['id', 'user_id', 'version', 'created_at', 'updated_at', 'completed_at', 'owner'])('refuses %s in the body and stores nothing', async (field) => {
      const before = engine === 'memory' ? 0 : await taskCount();
      const response = await call(ada, 'POST', '/tasks', { title: 'x', [field]: field === 'user_id' ? bob.id : field.endsWith('_at') ? '2020-01-01T00:00:00Z' : 99 });
      expectProblem(response, 422);
      expect(fieldsOf(response)).toContain(field);
      if (engine !== 'memory') expect(await taskCount()).toBe(before);
    });

    it('answers 400 for unparsable JSON and 415 for other content types', async () => {
      const broken = await app.inject({ method: 'POST', url: '/tasks', headers: { ...ada.auth, 'content-type': 'application/json' }, payload: '{"title":' });
      expectProblem(broken, 400);
      const text = await app.inject({ method: 'POST', url: '/tasks', headers: { ...ada.auth, 'content-type': 'text/plain' }, payload: 'title' });
      expectProblem(text, 415);
      const mergePatch = await app.inject({
        method: 'POST',
        url: '/tasks',
        headers: { ...ada.auth, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ title: 'x' }),
      });
      expectProblem(mergePatch, 415);
    });

    it('loses nothing under parallel creates', async () => {
      const responses = await Promise.all(Array.from({ length: 25 }, (_, i) => call(bob, 'POST', '/tasks', { title: `parallel ${i}`, tags: ['parallel'] })));
      expect(responses.map((r) => r.statusCode)).toEqual(Array(25).fill(201));
      expect(new Set(responses.map((r) => json(r).id)).size).toBe(25);
      const list = await call(bob, 'GET', '/tasks?tag=parallel&limit=100');
      expect(json(list).total).toBe(25);
    });
  });

  it('documents every task route, and the examples in the OpenAPI document are valid requests', async () => {
    const doc = json(await app.inject({ method: 'GET', url: '/openapi.json' }));
    const task = await create(ada);
    const operations: Array<[string, string, string, number]> = [
      ['/tasks', 'post', '/tasks', 201],
      ['/tasks/{id}', 'put', `/tasks/${task.id}`, 200],
      ['/tasks/{id}', 'patch', `/tasks/${task.id}`, 200],
    ];
    for (const [path, method, url, status] of operations) {
      const content = doc.paths[path][method].requestBody.content as Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }>;
      const examples = Object.values(content).flatMap((media) => [
        ...('example' in media ? [media.example] : []),
        ...Object.values(media.examples ?? {}).map((e) => e.value),
      ]);
      expect(examples.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const example of examples) expect((await call(ada, method.toUpperCase(), url, example)).statusCode, `${method} ${path}`).toBe(status);
    }
    expect(Object.keys(doc.paths['/tasks/{id}'])).toEqual(expect.arrayContaining(['get', 'put', 'patch', 'delete']));
    expect(doc.paths['/tasks'].get.parameters.find((p: Body) => p.name === 'limit').required).toBe(false);
  });

  describe('read', () => {
    it('answers the task with its ETag, and 304 to a matching If-None-Match', async () => {
      const task = await create(ada);
      const got = await call(ada, 'GET', `/tasks/${task.id}`);
      expect(got.statusCode).toBe(200);
      expect(got.headers.etag).toBe('"1"');
      expect(json(got)).toEqual(task);
      for (const tag of ['"1"', 'W/"1"', '"7", "1"', '*']) {
        const notModified = await call(ada, 'GET', `/tasks/${task.id}`, undefined, { 'if-none-match': tag });
        expect(notModified.statusCode).toBe(304);
        expect(notModified.body).toBe('');
        expect(notModified.headers.etag).toBe('"1"');
      }
      const changed = await call(ada, 'GET', `/tasks/${task.id}`, undefined, { 'if-none-match': '"2"' });
      expect(changed.statusCode).toBe(200);
    });

    it('answers 404 for an absent task and 422 for an id that is not a positive integer', async () => {
      expectProblem(await call(ada, 'GET', '/tasks/999999'), 404);
      for (const id of ['abc', '1.5', '1e', 'one']) expectProblem(await call(ada, 'GET', `/tasks/${id}`), 422);
      // Other spellings of a number never reach a task: only decimal digits name one.
      const task = await create(ada);
      for (const id of [`0x${task.id.toString(16)}`, `${task.id}e0`, `%20${task.id}`, `+${task.id}`]) {
        expectProblem(await call(ada, 'GET', `/tasks/${id}`), 422);
      }
      for (const id of ['0', '-1', '9007199254740992', '9007199254740993', '99999999999999999999', '2147483648']) {
        for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
          const response = await call(ada, method, `/tasks/${id}`, method === 'PUT' || method === 'PATCH' ? { title: 'x' } : undefined);
          expect([404, 422], `${method} ${id}: ${response.body}`).toContain(response.statusCode);
          expectProblem(response, response.statusCode);
        }
      }
    });

    it('accepts a trailing slash', async () => {
      const task = await create(ada);
      expect((await call(ada, 'GET', `/tasks/${task.id}/`)).statusCode).toBe(200);
      expect((await call(ada, 'GET', '/tasks/')).statusCode).toBe(200);
    });

    it('needs a bearer token on every route', async () => {
      const task = await create(ada);
      for (const [method, url] of [
        ['GET', '/tasks'],
        ['POST', '/tasks'],
        ['GET', `/tasks/${task.id}`],
        ['PUT', `/tasks/${task.id}`],
        ['PATCH', `/tasks/${task.id}`],
        ['DELETE', `/tasks/${task.id}`],
      ] as const) {
        expectUnauthorized(await app.inject({ method, url, payload: method === 'GET' || method === 'DELETE' ? undefined : { title: 'x' } }));
      }
    });
  });

  describe('replace and patch', () => {
    it('PUT replaces every writable field, omitted ones returning to defaults', async () => {
      const task = await create(ada, { description: 'old', priority: 'high', due_date: '2026-01-01T00:00:00Z', tags: ['a'], status: 'in_progress' });
      const response = await call(ada, 'PUT', `/tasks/${task.id}`, { title: 'New title' });
      expect(response.statusCode).toBe(200);
      expect(response.headers.etag).toBe('"2"');
      expect(json(response)).toMatchObject({
        id: task.id,
        title: 'New title',
        description: '',
        status: 'todo',
        priority: 'medium',
        due_date: null,
        tags: [],
        version: 2,
        created_at: task.created_at,
      });
      expectProblem(await call(ada, 'PUT', `/tasks/${task.id}`, { description: 'no title' }), 422);
    });

    it('PATCH changes only the fields given, under both JSON media types', async () => {
      const task = await create(ada, { description: 'keep me', tags: ['x'] });
      const plain = await call(ada, 'PATCH', `/tasks/${task.id}`, { priority: 'high' });
      expect(json(plain)).toMatchObject({ priority: 'high', description: 'keep me', tags: ['x'], version: 2 });
      const merge = await app.inject({
        method: 'PATCH',
        url: `/tasks/${task.id}`,
        headers: { ...ada.auth, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ due_date: '2027-03-01T09:30:00.000Z' }),
      });
      expect(merge.statusCode, merge.body).toBe(200);
      expect(json(merge)).toMatchObject({ due_date: '2027-03-01T09:30:00.000Z', priority: 'high', version: 3 });
      expect(merge.headers.etag).toBe('"3"');
      const cleared = await call(ada, 'PATCH', `/tasks/${task.id}`, { due_date: null });
      expect(json(cleared)).toMatchObject({ due_date: null, version: 4 });
    });

    it.each(['title', 'description', 'status', 'completed', 'priority', 'tags'])('PATCH refuses null for %s', async (field) => {
      const task = await create(ada);
      const response = await call(ada, 'PATCH', `/tasks/${task.id}`, { [field]: null });
      expectProblem(response, 422);
      expect(fieldsOf(response)).toContain(field);
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toEqual(task);
    });

    it('a PATCH that changes nothing, including {}, answers 200 and keeps the version', async () => {
      const task = await create(ada, { priority: 'low', tags: ['a', 'b'] });
      for (const body of [{}, { priority: 'low' }, { tags: ['a', 'b', 'a'] }, { title: ' A task ' }, { completed: false }]) {
        const response = await call(ada, 'PATCH', `/tasks/${task.id}`, body);
        expect(response.statusCode).toBe(200);
        expect(json(response)).toEqual(task);
        expect(response.headers.etag).toBe('"1"');
      }
    });

    it('sets completed_at on entering done, keeps it while done and clears it on leaving', async () => {
      const task = await create(ada);
      const done = json(await call(ada, 'PATCH', `/tasks/${task.id}`, { completed: true }));
      expect(done).toMatchObject({ status: 'done', completed: true, completed_at: expect.any(String), version: 2 });
      const renamed = json(await call(ada, 'PATCH', `/tasks/${task.id}`, { title: 'Renamed' }));
      expect(renamed.completed_at).toBe(done.completed_at);
      const reopened = json(await call(ada, 'PATCH', `/tasks/${task.id}`, { status: 'in_progress' }));
      expect(reopened).toMatchObject({ status: 'in_progress', completed: false, completed_at: null, version: 4 });
      expectProblem(await call(ada, 'PATCH', `/tasks/${task.id}`, { status: 'done', completed: false }), 422);
    });

    it.each(['PUT', 'PATCH'])('%s with a stale If-Match answers 412 and writes nothing; a current one succeeds', async (method) => {
      const task = await create(ada);
      await call(ada, 'PATCH', `/tasks/${task.id}`, { priority: 'high' });
      const stale = await call(ada, method, `/tasks/${task.id}`, { title: 'stale write' }, { 'if-match': '"1"' });
      expectProblem(stale, 412);
      for (const weak of ['W/"2"', 'garbage']) expectProblem(await call(ada, method, `/tasks/${task.id}`, { title: 'weak' }, { 'if-match': weak }), 412);
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toMatchObject({ title: 'A task', version: 2 });
      const fresh = await call(ada, method, `/tasks/${task.id}`, { title: 'fresh write' }, { 'if-match': '"2"' });
      expect(fresh.statusCode).toBe(200);
      expect(json(fresh)).toMatchObject({ title: 'fresh write', version: 3 });
      expect((await call(ada, method, `/tasks/${task.id}`, { title: 'any' }, { 'if-match': '*' })).statusCode).toBe(200);
    });

    it.skipIf(engine === 'memory')('never overwrites a change made behind the service (SQL by hand), cached or not', async () => {
      const task = await create(ada, { title: 'A task' });
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toMatchObject({ version: 1 }); // now cached on SQLite
      await db()('tasks').where({ id: task.id }).update({ title: 'by hand', title_key: 'by hand', version: 2 });

      const stale = await call(ada, 'PATCH', `/tasks/${task.id}`, { priority: 'low' }, { 'if-match': '"1"' });
      expect(stale.statusCode).toBe(412);
      expect(await taskRow(task.id)).toMatchObject({ title: 'by hand', version: 2 });

      const patched = await call(ada, 'PATCH', `/tasks/${task.id}`, { priority: 'high' });
      expect(patched.statusCode).toBe(200);
      expect(json(patched)).toMatchObject({ title: 'by hand', priority: 'high', version: 3 });
      expect(await taskRow(task.id)).toMatchObject({ title: 'by hand', priority: 'high', version: 3 });
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toEqual(json(patched));
    });

    it('of concurrent PATCHes with the same If-Match exactly one wins', async () => {
      const task = await create(ada);
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) => call(ada, 'PATCH', `/tasks/${task.id}`, { title: `writer ${i}` }, { 'if-match': '"1"' })),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      expect(codes.filter((c) => c === 200)).toHaveLength(1);
      expect(codes.filter((c) => c === 412)).toHaveLength(11);
      const winner = json(responses.find((r) => r.statusCode === 200)!);
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toMatchObject({ title: winner.title, version: 2 });
    });

    it('concurrent PATCHes of different fields without If-Match lose no update', async () => {
      const task = await create(ada);
      const fields = [{ title: 'T' }, { priority: 'urgent' }, { description: 'D' }, { tags: ['z'] }, { status: 'in_progress' }];
      const responses = await Promise.all(fields.map((body) => call(ada, 'PATCH', `/tasks/${task.id}`, body)));
      expect(responses.map((r) => r.statusCode)).toEqual(Array(fields.length).fill(200));
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toMatchObject({
        title: 'T',
        priority: 'urgent',
        description: 'D',
        tags: ['z'],
        status: 'in_progress',
        version: 1 + fields.length,
      });
    });

    it.each(['PUT', 'PATCH'])('twenty parallel %s requests without If-Match all apply: twenty 200s, version +20', async (method) => {
      const task = await create(ada);
      const writers = Array.from({ length: 20 }, (_, i) => `writer ${i}`);
      const responses = await Promise.all(writers.map((title) => call(ada, method, `/tasks/${task.id}`, { title, description: title })));
      expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
      // Each answer is its own write: versions 2..21, each once, each with the body it sent.
      expect(responses.map((r) => json(r).version).sort((a, b) => a - b)).toEqual(writers.map((_, i) => i + 2));
      for (const response of responses) expect(json(response).description).toBe(json(response).title);
      const last = responses.find((r) => json(r).version === 21)!;
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toMatchObject({ title: json(last).title, version: 21 });
    });

    it.each(['PUT', 'PATCH'])('%s refuses system fields with 422 and changes nothing', async (method) => {
      const task = await create(ada);
      const before = engine === 'memory' ? null : await taskRow(task.id);
      for (const [field, value] of Object.entries({ id: 12345, user_id: bob.id, version: 9, created_at: '2020-01-01T00:00:00Z', updated_at: '2020-01-01T00:00:00Z', completed_at: null })) {
        const response = await call(ada, method, `/tasks/${task.id}`, { title: 'hijack', [field]: value });
        expectProblem(response, 422);
        expect(fieldsOf(response)).toContain(field);
      }
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toEqual(task);
      if (before) expect(await taskRow(task.id)).toEqual(before);
    });
  });

  describe('what reads answer after a change', () => {
    it('a listing and a read show every change at once, in the very JSON the write answered', async () => {
      const owner = await signUp(app);
      const created = await create(owner, { title: 'First', tags: ['a'] });
      const listed = async () => {
        const response = await call(owner, 'GET', '/tasks');
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        return (json(response).items as Body[]).find((item) => item.id === created.id);
      };
      const read = async () => json(await call(owner, 'GET', `/tasks/${created.id}`));
      expect(await listed()).toEqual(created);
      expect(await read()).toEqual(created);

      const patched = await call(owner, 'PATCH', `/tasks/${created.id}`, { title: 'Second', status: 'done' });
      expect(patched.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(json(patched)).toMatchObject({ title: 'Second', status: 'done', completed: true, version: 2 });
      expect(await listed()).toEqual(json(patched));
      expect(await read()).toEqual(json(patched));

      const replaced = json(await call(owner, 'PUT', `/tasks/${created.id}`, { title: 'Third' }));
      expect(replaced).toMatchObject({ title: 'Third', status: 'todo', tags: [], version: 3 });
      expect(await listed()).toEqual(replaced);
      expect(await read()).toEqual(replaced);
    });
  });

  describe('delete', () => {
    it('answers 204, then 404', async () => {
      const task = await create(ada);
      const deleted = await call(ada, 'DELETE', `/tasks/${task.id}`);
      expect(deleted.statusCode).toBe(204);
      expect(deleted.body).toBe('');
      expectProblem(await call(ada, 'DELETE', `/tasks/${task.id}`), 404);
      expectProblem(await call(ada, 'GET', `/tasks/${task.id}`), 404);
    });

    it('with a stale If-Match answers 412 and deletes nothing', async () => {
      const task = await create(ada);
      await call(ada, 'PATCH', `/tasks/${task.id}`, { title: 'v2' });
      expectProblem(await call(ada, 'DELETE', `/tasks/${task.id}`, undefined, { 'if-match': '"1"' }), 412);
      expect((await call(ada, 'GET', `/tasks/${task.id}`)).statusCode).toBe(200);
      expect((await call(ada, 'DELETE', `/tasks/${task.id}`, undefined, { 'if-match': '"2"' })).statusCode).toBe(204);
    });
  });

  describe('isolation between users', () => {
    it('another user can never read, change, delete, list or count a task: 404 for every verb', async () => {
      const eve = await signUp(app);
      const task = await create(ada, { title: 'Ada secret', tags: ['secret'] });
      const before = engine === 'memory' ? null : await taskRow(task.id);
      const attempts: Array<[string, unknown, Record<string, string>?]> = [
        ['GET', undefined],
        ['GET', undefined, { 'if-none-match': '"1"' }],
        ['PUT', { title: 'pwned' }],
        ['PUT', { title: 'pwned' }, { 'if-match': '"1"' }],
        ['PATCH', { title: 'pwned' }],
        ['PATCH', {}],
        ['DELETE', undefined],
        ['DELETE', undefined, { 'if-match': '"1"' }],
      ];
      for (const [method, body, headers] of attempts) {
        const response = await call(eve, method, `/tasks/${task.id}`, body, headers);
        expectProblem(response, 404);
        expect(response.body).not.toContain('Ada secret');
      }
      const list = json(await call(eve, 'GET', '/tasks?limit=100&q=secret&tag=secret'));
      expect(list).toMatchObject({ items: [], total: 0 });
      expect(json(await call(eve, 'GET', '/tasks')).total).toBe(0);
      expect(json(await call(ada, 'GET', `/tasks/${task.id}`))).toEqual(task);
      if (before) expect(await taskRow(task.id)).toEqual(before);
    });

    it('deleting a user deletes their tasks', async () => {
      const carol = await signUp(app);
      const task = await create(carol);
      expect((await call(carol, 'DELETE', `/users/${carol.id}`)).statusCode).toBe(204);
      if (engine !== 'memory') expect(await taskRow(task.id)).toBeUndefined();
    });
  });

  describe('Idempotency-Key', () => {
    const post = (who: Account, key: string, body: Body) => call(who, 'POST', '/tasks', body, { 'idempotency-key': key });
    const same = (a: LightMyRequestResponse, b: LightMyRequestResponse) => {
      expect(b.statusCode).toBe(a.statusCode);
      expect(b.headers.location).toBe(a.headers.location);
      expect(b.headers.etag).toBe(a.headers.etag);
      expect(b.body).toBe(a.body);
    };

    it('replays the first response, even after the task changed, and creates exactly one task', async () => {
      const dave = await signUp(app);
      const body = { title: 'Pay rent', tags: ['home'] };
      const first = await post(dave, 'rent-2026-11', body);
      expect(first.statusCode).toBe(201);
      const retries = await Promise.all([post(dave, 'rent-2026-11', body), post(dave, 'rent-2026-11', { tags: ['home'], title: 'Pay rent' })]);
      for (const retry of retries) same(first, retry);
      await call(dave, 'PATCH', `/tasks/${json(first).id}`, { title: 'Paid' });
      same(first, await post(dave, 'rent-2026-11', body));
      expect(json(await call(dave, 'GET', '/tasks')).total).toBe(1);
    });

    it('refuses the same key with another body (422) and does not let it create anything', async () => {
      const first = await post(ada, 'key-mismatch', { title: 'One' });
      expect(first.statusCode).toBe(201);
      const other = await post(ada, 'key-mismatch', { title: 'Two' });
      expectProblem(other, 422);
      expect(json(await call(ada, 'GET', '/tasks?q=Two&limit=100')).items.filter((t: Body) => t.title === 'Two')).toEqual([]);
    });

    it('scopes keys per user', async () => {
      const a = await post(ada, 'shared-key', { title: 'Scoped' });
      const b = await post(bob, 'shared-key', { title: 'Scoped' });
      expect(a.statusCode).toBe(201);
      expect(b.statusCode).toBe(201);
      expect(json(b).id).not.toBe(json(a).id);
      expect(json(b).user_id).toBe(bob.id);
    });

    it('does not use up a key on a 4xx', async () => {
      expectProblem(await post(ada, 'retry-after-fix', { title: '' }), 422);
      expectProblem(await post(ada, 'retry-after-fix', { title: 'x', completed: true, status: 'todo' }), 422);
      const fixed = await post(ada, 'retry-after-fix', { title: 'Fixed' });
      expect(fixed.statusCode).toBe(201);
      same(fixed, await post(ada, 'retry-after-fix', { title: 'Fixed' }));
    });

    it.each([
      ['empty', ''],
      ['with a space', 'a b'],
      ['non-ASCII', 'clé'],
      ['256 characters', 'k'.repeat(256)],
    ])('refuses a key that is %s with 422', async (_name, key) => {
      expectProblem(await post(ada, key, { title: 'x' }), 422);
    });

    it('accepts 255 visible ASCII characters', async () => {
      expect((await post(ada, `${'!~'.repeat(127)}k`, { title: 'x' })).statusCode).toBe(201);
    });

    it('of simultaneous first requests with one key, exactly one task is created', async () => {
      const erin = await signUp(app);
      const responses = await Promise.all(Array.from({ length: 6 }, () => post(erin, 'simultaneous', { title: 'Once' })));
      for (const response of responses) expect([201, 409]).toContain(response.statusCode);
      const created = responses.filter((r) => r.statusCode === 201);
      expect(new Set(created.map((r) => json(r).id)).size).toBe(1);
      for (const conflict of responses.filter((r) => r.statusCode === 409)) expectProblem(conflict, 409);
      expect(json(await call(erin, 'GET', '/tasks')).total).toBe(1);
    });
  });

  describe('listing', () => {
    let lister: Account;
    const titles: Record<number, string> = {};
    let ids: number[] = [];

    const list = async (query: string, who: Account = lister) => {
      const response = await call(who, 'GET', `/tasks${query ? `?${query}` : ''}`);
      expect(response.statusCode, response.body).toBe(200);
      return json(response);
    };
    const titlesOf = (page: Body) => (page.items as Body[]).map((t) => t.title);

    beforeAll(async () => {
      lister = await signUp(app);
      const specs: Body[] = [
        { title: 'alpha', priority: 'low', due_date: '2026-01-10T00:00:00Z', tags: ['work', 'q1'], status: 'todo' },
        { title: 'Bravo', priority: 'urgent', due_date: null, tags: ['work'], status: 'done' },
        { title: 'charlie 100%', priority: 'high', due_date: '2026-01-05T00:00:00Z', tags: ['home'], status: 'in_progress' },
        { title: 'delta_x', priority: 'medium', due_date: '2026-01-10T00:00:00Z', tags: ['work', 'home'], status: 'todo' },
        { title: 'Echo\\path', priority: 'high', due_date: null, tags: [], status: 'done' },
        { title: 'foxtrot', priority: 'low', due_date: '2026-02-01T00:00:00Z', tags: ['q1'], status: 'in_progress' },
        { title: 'ALPHA two', priority: 'urgent', due_date: '2025-12-31T23:59:59Z', tags: ['work'], status: 'todo' },
      ];
      ids = [];
      for (const spec of specs) {
        const task = await create(lister, spec);
        ids.push(task.id);
        titles[task.id] = task.title;
      }
    });

    it('defaults to newest first with offset paging and total', async () => {
      const page = await list('limit=3');
      expect(page).toMatchObject({ total: 7, limit: 3, offset: 0, next_cursor: expect.any(String) });
      expect(page.items.map((t: Body) => t.id)).toEqual([...ids].reverse().slice(0, 3));
      const second = await list('limit=3&offset=3');
      expect(second.items.map((t: Body) => t.id)).toEqual([...ids].reverse().slice(3, 6));
      const last = await list('limit=3&offset=6');
      expect(last).toMatchObject({ offset: 6, next_cursor: null });
      expect(last.items).toHaveLength(1);
      expect((await list('offset=50')).items).toEqual([]);
    });

    it('walks every task exactly once by cursor, limit may change, offset is null', async () => {
      let page = await list('limit=2&sort=title');
      const seen = [...titlesOf(page)];
      let limit = 2;
      while (page.next_cursor) {
        limit = limit === 2 ? 3 : 2;
        page = await list(`cursor=${page.next_cursor}&limit=${limit}`);
        expect(page.offset).toBeNull();
        expect(page.total).toBe(7);
        seen.push(...titlesOf(page));
      }
      expect(seen).toEqual(['alpha', 'ALPHA two', 'Bravo', 'charlie 100%', 'delta_x', 'Echo\\path', 'foxtrot']);
    });

    it('continues an offset page with its next_cursor', async () => {
      const page = await list('limit=2&offset=2&sort=priority');
      const next = await list(`cursor=${page.next_cursor}&limit=10`);
      const all = await list('limit=100&sort=priority');
      expect([...titlesOf(page), ...titlesOf(next)]).toEqual(titlesOf(all).slice(2));
    });

    it('sorts by priority rank, ties by id in the same direction', async () => {
      expect(titlesOf(await list('sort=priority&limit=100'))).toEqual(['alpha', 'foxtrot', 'delta_x', 'charlie 100%', 'Echo\\path', 'Bravo', 'ALPHA two']);
      expect(titlesOf(await list('sort=-priority&limit=100'))).toEqual(['ALPHA two', 'Bravo', 'Echo\\path', 'charlie 100%', 'delta_x', 'foxtrot', 'alpha']);
    });

    it('puts tasks without a due date last in both directions', async () => {
      expect(titlesOf(await list('sort=due_date&limit=100'))).toEqual(['ALPHA two', 'charlie 100%', 'alpha', 'delta_x', 'foxtrot', 'Bravo', 'Echo\\path']);
      expect(titlesOf(await list('sort=-due_date&limit=100'))).toEqual(['foxtrot', 'delta_x', 'alpha', 'charlie 100%', 'ALPHA two', 'Echo\\path', 'Bravo']);
      for (const sort of ['due_date', '-due_date']) {
        let page = await list(`sort=${sort}&limit=1`);
        const seen = [...titlesOf(page)];
        while (page.next_cursor) {
          page = await list(`cursor=${page.next_cursor}&limit=1`);
          seen.push(...titlesOf(page));
        }
        expect(seen).toEqual(titlesOf(await list(`sort=${sort}&limit=100`)));
      }
    });

    it('sorts titles case-insensitively and by update time', async () => {
      expect(titlesOf(await list('sort=-title&limit=100'))).toEqual(['foxtrot', 'Echo\\path', 'delta_x', 'charlie 100%', 'Bravo', 'ALPHA two', 'alpha']);
      expect((await list('sort=updated_at&limit=100')).items.map((t: Body) => t.id)).toEqual(ids);
      expect((await list('sort=created_at&limit=100')).items.map((t: Body) => t.id)).toEqual(ids);
    });

    it('filters by status, completed, priority, tags (all of them) and due dates', async () => {
      expect((await list('status=done')).total).toBe(2);
      expect((await list('status=todo,in_progress')).total).toBe(5);
      expect((await list('status=todo&status=done')).total).toBe(5);
      expect((await list('completed=true')).total).toBe(2);
      expect((await list('completed=false')).total).toBe(5);
      expect((await list('completed=true&status=todo')).total).toBe(0);
      expect((await list('priority=high')).total).toBe(2);
      expect((await list('priority=low,urgent')).total).toBe(4);
      expect(titlesOf(await list('tag=work&sort=title'))).toEqual(['alpha', 'ALPHA two', 'Bravo', 'delta_x']);
      expect(titlesOf(await list('tag=work&tag=home'))).toEqual(['delta_x']);
      expect(titlesOf(await list('tag=work&tag=nothing'))).toEqual([]);
      expect(titlesOf(await list('due_after=2026-01-10T00:00:00Z&sort=title'))).toEqual(['alpha', 'delta_x', 'foxtrot']);
      expect(titlesOf(await list('due_before=2026-01-10T00:00:00Z&sort=title'))).toEqual(['ALPHA two', 'charlie 100%']);
      expect(titlesOf(await list('due_after=2026-01-05T00:00:00Z&due_before=2026-01-10T00:00:00.001Z&sort=title'))).toEqual([
        'alpha',
        'charlie 100%',
        'delta_x',
      ]);
      expect((await list(`due_before=${encodeURIComponent('2026-01-10T01:00:00+02:00')}`)).total).toBe(2);
    });

    it('searches titles case-insensitively, with %, _ and \\ as plain characters', async () => {
      expect(titlesOf(await list('q=ALPHA&sort=title'))).toEqual(['alpha', 'ALPHA two']);
      expect(titlesOf(await list(`q=${encodeURIComponent('%')}`))).toEqual(['charlie 100%']);
      expect(titlesOf(await list('q=_'))).toEqual(['delta_x']);
      expect(titlesOf(await list(`q=${encodeURIComponent('\\')}`))).toEqual(['Echo\\path']);
      expect(titlesOf(await list(`q=${encodeURIComponent('a_x')}`))).toEqual(['delta_x']);
      expect(titlesOf(await list(`q=${encodeURIComponent('h%')}`))).toEqual([]);
      expect((await list('q=zzz')).total).toBe(0);
    });

    it('a cursor keeps its filters: repeating them is allowed, omitting them keeps them, changing them is a 422', async () => {
      const first = await list('tag=work&sort=title&limit=2');
      const repeated = await list(`tag=work&sort=title&limit=2&cursor=${first.next_cursor}`);
      const omitted = await list(`limit=2&cursor=${first.next_cursor}`);
      expect(titlesOf(repeated)).toEqual(['Bravo', 'delta_x']);
      expect(omitted.items).toEqual(repeated.items);
      expect(omitted.total).toBe(4);
      for (const change of ['tag=home', 'sort=-title', 'sort=-created_at', 'status=done', 'q=a', 'tag=work&tag=home', 'completed=true', 'due_after=2026-01-01T00:00:00Z']) {
        const response = await call(lister, 'GET', `/tasks?${change}&cursor=${first.next_cursor}`);
        expectProblem(response, 422);
        expect(fieldsOf(response)).toContain('cursor');
      }
    });

    it('refuses a tampered, foreign or malformed cursor with 422', async () => {
      const page = await list('limit=1');
      const cursor = page.next_cursor as string;
      const [body, tag] = cursor.split('.') as [string, string];
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...payload, u: ada.id })).toString('base64url');
      const flipped = `${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1)}.${tag}`;
      for (const bad of [`${forged}.${tag}`, flipped, `${body}.${tag.slice(0, -3)}xyz`, 'garbage', `${body}`, `${body}.${tag}.x`]) {
        const response = await call(lister, 'GET', `/tasks?cursor=${encodeURIComponent(bad)}`);
        expectProblem(response, 422);
      }
      const stolen = await call(ada, 'GET', `/tasks?cursor=${cursor}`);
      expectProblem(stolen, 422);
      expect(fieldsOf(stolen)).toContain('cursor');
    });

    it.each([
      'limit=0',
      'limit=101',
      'limit=x',
      'offset=-1',
      'sort=name',
      'sort=--title',
      'status=blocked',
      'status=todo,',
      'priority=critical',
      'completed=maybe',
      'due_before=tomorrow',
      'due_after=2026-01-01',
      'tag=',
      `tag=${'t'.repeat(51)}`,
      `q=${'q'.repeat(201)}`,
      'unknown=1',
      'user_id=1',
      'offset=2&cursor=abc',
    ])('refuses %s with 422', async (query) => {
      expectProblem(await call(lister, 'GET', `/tasks?${query}`), 422);
    });

    it('counts q in characters, as every other limit: 200 emoji are accepted, 201 refused', async () => {
      const emoji = (n: number) => encodeURIComponent('😀'.repeat(n));
      expect((await call(lister, 'GET', `/tasks?q=${emoji(200)}`)).statusCode).toBe(200);
      expectProblem(await call(lister, 'GET', `/tasks?q=${emoji(201)}`), 422);
    });
  });
});

describe('a change made behind the service', () => {
  it('is what the next read shows: no process keeps a copy of a task', async () => {
    const app = await buildE2eApp('sqlite');
    try {
      const ada = await signUp(app);
      const created = json(await app.inject({ method: 'POST', url: '/tasks', headers: ada.auth, payload: { title: 'A task' } }));
      const read = async () => json(await app.inject({ method: 'GET', url: `/tasks/${created.id}`, headers: ada.auth }));
      expect(await read()).toMatchObject({ title: 'A task' });
      await app.database!.db('tasks').where({ id: created.id }).update({ title: 'by hand', title_key: 'by hand', version: 2 });
      expect(await read()).toMatchObject({ title: 'by hand', version: 2 });
    } finally {
      await app.close();
    }
  });
});
