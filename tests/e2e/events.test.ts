import { describe, expect, it } from 'vitest';
import { LiveEvents } from '../../src/application/index.js';
import { availableEngines, type SqlEngine } from '../support/databases.js';
import { connectWs, openSse, serveForSuite, sseRefusal, wsRefusal, type Message } from '../support/event-streams.js';
import { logIn, signUp, bearer, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines: Array<SqlEngine | 'memory'> = ['memory', ...(await availableEngines())];

describe.each(engines)('GET /events on %s', (engine) => {
  let app: TestApp;
  let port: number;
  serveForSuite((served) => ({ app, port } = served), engine);

  const createTask = async (user: Account, title: string) => {
    const response = await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title } });
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  };
  const patchTask = async (user: Account, id: number, payload: Record<string, unknown>) => {
    const response = await app.inject({ method: 'PATCH', url: `/tasks/${id}`, headers: user.auth, payload });
    expect(response.statusCode, response.body).toBe(200);
    return json(response);
  };
  const deleteTask = async (user: Account, id: number) => {
    expect((await app.inject({ method: 'DELETE', url: `/tasks/${id}`, headers: user.auth })).statusCode).toBe(204);
  };

  /** Creates, updates and deletes one task; returns what GET /tasks/{id} said after each write. */
  async function lifecycle(user: Account) {
    const created = await createTask(user, 'Watch me');
    const updated = await patchTask(user, created.id, { status: 'done' });
    await deleteTask(user, created.id);
    return { created, updated };
  }

  function expectLifecycle(events: Message[], { created, updated }: Awaited<ReturnType<typeof lifecycle>>) {
    expect(events.map((event) => event.type)).toEqual(['task.created', 'task.updated', 'task.deleted']);
    expect(events[0]!.data).toEqual({ task: created });
    expect(events[1]!.data).toEqual({ task: updated });
    expect(events[2]!.data).toEqual({ id: created.id });
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(['data', 'id', 'occurred_at', 'type']);
      expect(event.id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
      expect(new Date(event.occurred_at).toISOString()).toBe(event.occurred_at);
    }
  }

  describe('over a WebSocket', () => {
    it('says ready with the newest event id, then delivers created, updated and deleted in order, as GET /tasks/{id} shows them', async () => {
      const user = await signUp(app);
      const ws = await connectWs(port, '/events', user.auth);
      expect(await ws.ready()).toEqual({ type: 'ready', last_id: null });
      const writes = await lifecycle(user);
      expectLifecycle(await ws.messages.take(3), writes);
      ws.socket.close();

      const again = await connectWs(port, '/events', user.auth);
      const deleted = (await again.ready()).last_id;
      expect(deleted).toEqual(expect.any(String));
      again.socket.close();
    });

    it('keeps one task’s concurrent updates in the order they committed', async () => {
      const user = await signUp(app);
      const task = await createTask(user, 'Busy');
      const ws = await connectWs(port, '/events', user.auth);
      await ws.ready();
      await Promise.all(Array.from({ length: 10 }, (_, i) => patchTask(user, task.id, { description: `edit ${i}` })));
      const versions = (await ws.messages.take(10)).map((event) => event.data.task.version);
      expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      ws.socket.close();
    });

    it('replays every event after since, then continues live', async () => {
      const user = await signUp(app);
      const first = await connectWs(port, '/events', user.auth);
      await first.ready();
      const a = await createTask(user, 'a');
      const [createdA] = await first.messages.take(1);
      first.socket.close();
      const b = await createTask(user, 'b');
      await patchTask(user, a.id, { title: 'a2' });

      const resumed = await connectWs(port, `/events?since=${createdA!.id}`, user.auth);
      const ready = await resumed.ready();
      const replayed = await resumed.messages.take(2);
      expect(replayed.map((event) => [event.type, event.data.task.id])).toEqual([
        ['task.created', b.id],
        ['task.updated', a.id],
      ]);
      expect(ready.last_id).toBe(replayed[1]!.id);
      const c = await createTask(user, 'c');
      expect((await resumed.messages.next()).data.task.id).toBe(c.id);
      resumed.socket.close();
    });

    it('isolates users: B never sees A’s events, and A’s event id as B’s since is a 410', async () => {
      const alice = await signUp(app);
      const bob = await signUp(app);
      const bobs = await connectWs(port, '/events', bob.auth);
      await bobs.ready();
      const alices = await connectWs(port, '/events', alice.auth);
      await alices.ready();
      await createTask(alice, 'secret');
      const alicesEvent = await alices.messages.next();
      const own = await createTask(bob, 'mine');
      // Alice's event committed first: had it reached Bob, it would be his next message.
      expect((await bobs.messages.next()).data.task.id).toBe(own.id);

      const refusal = await wsRefusal(port, `/events?since=${alicesEvent.id}`, bob.auth);
      expect(refusal.status).toBe(410);
      expect(refusal.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await sseRefusal(port, `/events?since=${alicesEvent.id}`, bob.auth)).status).toBe(410);
      bobs.socket.close();
      alices.socket.close();
    });

    it('closes with 4401 within 2 s of logout', async () => {
      const user = await signUp(app);
      const ws = await connectWs(port, '/events', user.auth);
      await ws.ready();
      const loggedOut = (await app.inject({ method: 'POST', url: '/logout', headers: user.auth })).statusCode === 204 && Date.now();
      expect(loggedOut).not.toBe(false);
      const closed = await ws.closed;
      expect(closed.code).toBe(4401);
      expect(closed.at - Number(loggedOut)).toBeLessThan(2_000);
    });

    it('closes with 4401 within 2 s of its personal access token being revoked', async () => {
      const user = await signUp(app);
      const created = json(await app.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'watcher', scopes: ['tasks:read'] } }));
      const ws = await connectWs(port, '/events', bearer(created.token));
      await ws.ready();
      expect((await app.inject({ method: 'DELETE', url: `/me/tokens/${created.id}`, headers: user.auth })).statusCode).toBe(204);
      const revokedAt = Date.now();
      const closed = await ws.closed;
      expect(closed.code).toBe(4401);
      expect(closed.at - revokedAt).toBeLessThan(2_000);
    });
  });

  describe('as Server-Sent Events', () => {
    it('streams text/event-stream with the app’s headers: a ready frame, then each event as id / event / data', async () => {
      const user = await signUp(app);
      const sse = await openSse(port, '/events', user.auth);
      expect(sse.response.headers).toMatchObject({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      expect(sse.response.headers['x-request-id']).toEqual(expect.any(String));
      expect(sse.response.headers['x-content-type-options']).toBe('nosniff');
      const ready = await sse.frames.next();
      expect(ready.event).toBe('ready');
      expect(JSON.parse(ready.data)).toEqual({ type: 'ready', last_id: null });
      const writes = await lifecycle(user);
      expectLifecycle([await sse.nextEvent(), await sse.nextEvent(), await sse.nextEvent()], writes);
      sse.close();
    });

    it('resumes from Last-Event-ID, and since wins over it', async () => {
      const user = await signUp(app);
      const ids = await idsOfNewEvents(user, ['one', 'two', 'three']);

      const resumed = await openSse(port, '/events', { ...user.auth, 'last-event-id': ids[0]! });
      const ready = await resumed.frames.next();
      expect(ready).toMatchObject({ event: 'ready', id: ids[0] });
      expect(JSON.parse(ready.data)).toEqual({ type: 'ready', last_id: ids[2] });
      expect([(await resumed.nextEvent()).id, (await resumed.nextEvent()).id]).toEqual([ids[1], ids[2]]);
      resumed.close();

      const sinceWins = await openSse(port, `/events?since=${ids[1]}`, { ...user.auth, 'last-event-id': ids[0]! });
      await sinceWins.frames.next();
      expect((await sinceWins.nextEvent()).id).toBe(ids[2]);
      sinceWins.close();
    });

    it('after a dropped connection, resuming from the last id received misses nothing and repeats nothing', async () => {
      const user = await signUp(app);
      const sse = await openSse(port, '/events', user.auth);
      await sse.frames.next();
      await createTask(user, 'before');
      const seen = await sse.nextEvent();
      sse.close();
      await pollUntil(() => app.container.resolve(LiveEvents).openStreams === 0);
      const missed = [await createTask(user, 'while away 1'), await createTask(user, 'while away 2')];

      const resumed = await openSse(port, '/events', { ...user.auth, 'last-event-id': seen.id });
      await resumed.frames.next();
      const replayed = [await resumed.nextEvent(), await resumed.nextEvent()];
      expect(replayed.map((event) => event.data.task.id)).toEqual(missed.map((task) => task.id));
      const after = await createTask(user, 'after');
      expect((await resumed.nextEvent()).data.task.id).toBe(after.id);
      resumed.close();
    });

    it('ends the response within 2 s of logout', async () => {
      const user = await signUp(app);
      const second = await logIn(app, user.username, user.password);
      const sse = await openSse(port, '/events', bearer(second.access_token));
      await sse.frames.next();
      expect((await app.inject({ method: 'POST', url: '/logout', headers: bearer(second.access_token) })).statusCode).toBe(204);
      const loggedOut = Date.now();
      expect((await sse.ended) - loggedOut).toBeLessThan(2_000);
    });
  });

  /** Creates a task per title and returns the ids of their task.created events, as a stream saw them. */
  async function idsOfNewEvents(user: Account, titles: string[]): Promise<string[]> {
    const ws = await connectWs(port, '/events', user.auth);
    await ws.ready();
    for (const title of titles) await createTask(user, title);
    const ids = (await ws.messages.take(titles.length)).map((event) => event.id as string);
    ws.socket.close();
    return ids;
  }
});

async function pollUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
