import { describe, expect, it } from 'vitest';
import { Authenticate, EVENT_TICKET_SECRETS, EVENT_TICKET_STORE, type EventTicketStore, type PersonalTokenSecrets } from '../../src/application/index.js';
import { availableEngines, type SqlEngine } from '../support/databases.js';
import { connectWs, listen, openSse, serveForSuite, sseRefusal, wsRefusal, type Refusal } from '../support/event-streams.js';
import { bearer, buildE2eApp, logIn, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

const engines: Array<SqlEngine | 'memory'> = ['memory', ...(await availableEngines())];

const PROBLEM_TYPE = /^application\/problem\+json/;

/** Each check is made before the upgrade: the same refusal whether the request asked for a WebSocket or SSE. */
const transports = {
  websocket: wsRefusal,
  sse: sseRefusal,
};

function expectRefusal(refusal: Refusal, status: number): void {
  expect(refusal.status, JSON.stringify(refusal.body)).toBe(status);
  expect(refusal.headers['content-type']).toMatch(PROBLEM_TYPE);
  expect(refusal.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  if (status === 401) expect(refusal.headers['www-authenticate']).toMatch(/^Bearer\b/);
}

describe('GET /events refuses before any upgrade', () => {
  let app: TestApp;
  let port: number;
  let user: Account;
  serveForSuite((served) => ({ app, port, user } = served), 'memory');

  describe.each(Object.entries(transports))('as %s', (_transport, refusal) => {
    it('401 without a credential, or with a bad one', async () => {
      expectRefusal(await refusal(port, '/events'), 401);
      const bad = await refusal(port, '/events', bearer('not-a-token'));
      expectRefusal(bad, 401);
      expect(bad.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it.each([
      ['access_token', (token: string) => `/events?access_token=${token}`, false],
      ['token, beside a valid header', (token: string) => `/events?token=${token}`, true],
      ['a JWT under any name', (token: string) => `/events?since=1&x=${token}`, true],
      ['a personal access token as the ticket', () => '/events?ticket=tfp_abcdefghijklmnopqrstuvwxyz', false],
    ])('401 for an access token in the query string: %s', async (_case, path, withHeader) => {
      const refused = await refusal(port, path(user.tokens.access_token), withHeader ? user.auth : {});
      expectRefusal(refused, 401);
      expect(refused.body.detail).toMatch(/URL/);
    });

    it('403 when the token lacks tasks:read', async () => {
      const profileOnly = json(await app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: user.password, scope: 'profile' } }));
      const refused = await refusal(port, '/events', bearer(profileOnly.access_token));
      expectRefusal(refused, 403);
      expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="tasks:read"');
    });

    it.each(['abc', '0', '-1', '1.5', '9'.repeat(19)])('422 for since=%s, naming since', async (since) => {
      const refused = await refusal(port, `/events?since=${since}`, user.auth);
      expectRefusal(refused, 422);
      expect(refused.body.errors).toEqual([{ field: 'since', message: expect.any(String) }]);
    });

    it('422 for an unknown query parameter', async () => {
      const refused = await refusal(port, '/events?limit=5', user.auth);
      expectRefusal(refused, 422);
      expect(refused.body.errors).toEqual([{ field: 'limit', message: 'is not allowed' }]);
    });

    it('410 for a since this server never issued to anyone', async () => {
      expectRefusal(await refusal(port, '/events?since=987654321', user.auth), 410);
    });
  });

  it.each([
    ['no Accept', {}],
    ['Accept: */*', { accept: '*/*' }],
    ['Accept: application/json', { accept: 'application/json' }],
    ['text/event-stream refused with q=0', { accept: 'text/event-stream;q=0, application/json' }],
  ])('406 for a plain GET with %s', async (_case, headers) => {
    const response = await app.inject({ method: 'GET', url: '/events', headers: { ...user.auth, ...headers } });
    expect(response.statusCode).toBe(406);
    expect(response.headers['content-type']).toMatch(PROBLEM_TYPE);
  });

  it('accepts an Accept header that names text/event-stream among others', async () => {
    const sse = await openSse(port, '/events', { ...user.auth, accept: 'application/json;q=0.5, text/event-stream' });
    expect((await sse.frames.next()).event).toBe('ready');
    sse.close();
  });

  it('refuses a WebSocket upgrade on any other route with a problem, before any handshake', async () => {
    expectRefusal(await wsRefusal(port, '/tasks', user.auth), 400);
    expectRefusal(await wsRefusal(port, '/health'), 400);
    expectRefusal(await wsRefusal(port, '/no-such-route'), 404);
    expect((await app.inject({ method: 'GET', url: '/tasks', headers: user.auth })).statusCode).toBe(200);
  });

  it('422 for a Last-Event-ID that is not an event id, naming the header', async () => {
    const refused = await sseRefusal(port, '/events', { ...user.auth, 'last-event-id': 'yesterday' });
    expectRefusal(refused, 422);
    expect(refused.body.errors).toEqual([{ field: 'last-event-id', message: expect.any(String) }]);
  });

  it('documents both routes in the OpenAPI document, with every status', async () => {
    const doc = json(await app.inject({ method: 'GET', url: '/openapi.json' }));
    const stream = doc.paths['/events'].get;
    expect(Object.keys(stream.responses).sort()).toEqual(['101', '200', '401', '403', '406', '410', '422', '429', '503']);
    expect(stream.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(stream.description).toMatch(/WebSocket/);
    expect(stream.description).toMatch(/Server-Sent Events/);
    expect(stream.security).toContainEqual({ eventTicket: [] });
    expect(doc.components.securitySchemes.eventTicket).toMatchObject({ type: 'apiKey', in: 'query', name: 'ticket' });
    expect(Object.keys(doc.paths['/events/tickets'].post.responses)).toContain('201');
    expect(doc.paths['/events'].head).toBeUndefined();
  });
});

describe('stream and request limits on GET /events', () => {
  let app: TestApp;
  let port: number;
  serveForSuite((served) => ({ app, port } = served), 'memory', { EVENTS_MAX_STREAMS_PER_USER: '2' });

  it('429 with Retry-After for the stream over EVENTS_MAX_STREAMS_PER_USER, on either transport; a closed one frees its slot', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const ws = await connectWs(port, '/events', user.auth);
    const sse = await openSse(port, '/events', user.auth);
    for (const refused of [await wsRefusal(port, '/events', user.auth), await sseRefusal(port, '/events', user.auth)]) {
      expectRefusal(refused, 429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The limit is per user.
    (await connectWs(port, '/events', other.auth)).socket.close();

    ws.socket.close();
    await ws.closed;
    const again = await connectWs(port, '/events', user.auth);
    await again.ready();
    again.socket.close();
    sse.close();
  });

  it('counts opening a stream against the per-user rate limit', async () => {
    const limited = await buildE2eApp('memory', { RATE_LIMIT_MAX: '2' });
    const limitedPort = await listen(limited);
    try {
      const user = await signUp(limited);
      for (let i = 0; i < 2; i++) (await openSse(limitedPort, '/events', user.auth)).close();
      const refused = await wsRefusal(limitedPort, '/events', user.auth);
      expectRefusal(refused, 429);
      expect(refused.headers['retry-after']).toEqual(expect.any(String));
      expect(refused.headers['ratelimit-remaining']).toBe('0');
    } finally {
      await limited.close();
    }
  });

  it('503 with Retry-After once the drain has started: the stream belongs on another instance', async () => {
    const draining = await buildE2eApp('memory');
    const drainingPort = await listen(draining);
    try {
      const user = await signUp(draining);
      draining.http.beginDrain();
      for (const refused of [await wsRefusal(drainingPort, '/events', user.auth), await sseRefusal(drainingPort, '/events', user.auth)]) {
        expectRefusal(refused, 503);
        expect(refused.headers['retry-after']).toEqual(expect.any(String));
      }
    } finally {
      await draining.close();
    }
  });
});

describe.each(engines)('event tickets on %s', (engine) => {
  let app: TestApp;
  let port: number;
  serveForSuite((served) => ({ app, port } = served), engine);

  const issue = (auth: Record<string, string>) => app.inject({ method: 'POST', url: '/events/tickets', headers: auth });
  const ticketFor = async (auth: Record<string, string>) => {
    const response = await issue(auth);
    expect(response.statusCode, response.body).toBe(201);
    return json(response).ticket as string;
  };

  it('POST /events/tickets → 201 { ticket, expires_in: 30 }, never cached; it needs tasks:read', async () => {
    const user = await signUp(app);
    const response = await issue(user.auth);
    expect(response.statusCode).toBe(201);
    expect(json(response)).toEqual({ ticket: expect.stringMatching(/^tfe_/), expires_in: 30 });
    expect(response.headers['cache-control']).toBe('no-store');
    expect((await issue({})).statusCode).toBe(401);
    const profileOnly = json(await app.inject({ method: 'POST', url: '/login', payload: { username: user.username, password: user.password, scope: 'profile' } }));
    expect((await issue(bearer(profileOnly.access_token))).statusCode).toBe(403);
  });

  it('opens a WebSocket once: used again, on either transport, it is a 401', async () => {
    const user = await signUp(app);
    const ticket = await ticketFor(user.auth);
    const ws = await connectWs(port, `/events?ticket=${ticket}`);
    expect(await ws.ready()).toEqual({ type: 'ready', last_id: null });
    const task = json(await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'seen through a ticket' } }));
    expect((await ws.messages.next()).data.task.id).toBe(task.id);
    ws.socket.close();
    expectRefusal(await wsRefusal(port, `/events?ticket=${ticket}`), 401);
    expectRefusal(await sseRefusal(port, `/events?ticket=${ticket}`), 401);
  });

  it('opens an SSE stream, with since', async () => {
    const user = await signUp(app);
    const first = await connectWs(port, '/events', user.auth);
    await first.ready();
    await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'one' } });
    const since = (await first.messages.next()).id;
    first.socket.close();
    const two = json(await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'two' } }));
    const sse = await openSse(port, `/events?ticket=${await ticketFor(user.auth)}&since=${since}`);
    await sse.frames.next();
    expect((await sse.nextEvent()).data.task.id).toBe(two.id);
    sse.close();
  });

  it('is refused together with an Authorization header, and the ticket stays unused', async () => {
    const user = await signUp(app);
    const ticket = await ticketFor(user.auth);
    expectRefusal(await wsRefusal(port, `/events?ticket=${ticket}`, user.auth), 401);
    (await connectWs(port, `/events?ticket=${ticket}`)).socket.close();
  });

  it('is bound to the session that asked: after logout it is a 401', async () => {
    const user = await signUp(app);
    const session = await logIn(app, user.username, user.password);
    const ticket = await ticketFor(bearer(session.access_token));
    expect((await app.inject({ method: 'POST', url: '/logout', headers: bearer(session.access_token) })).statusCode).toBe(204);
    expectRefusal(await wsRefusal(port, `/events?ticket=${ticket}`), 401);
  });

  it('expired, it is a 401', async () => {
    const user = await signUp(app);
    const principal = await app.container.resolve(Authenticate).execute(user.tokens.access_token);
    const { token, digest } = app.container.resolve<PersonalTokenSecrets>(EVENT_TICKET_SECRETS).generate();
    await app.container.resolve<EventTicketStore>(EVENT_TICKET_STORE).save({
      digest,
      userId: principal.userId,
      sessionId: principal.sessionId,
      personalTokenId: null,
      expiresAt: new Date(Date.now() - 1_000),
    });
    expectRefusal(await sseRefusal(port, `/events?ticket=${token}`), 401);
  });

  it('a personal access token may ask for one; the stream lives as long as the token', async () => {
    const user = await signUp(app);
    const created = json(await app.inject({ method: 'POST', url: '/me/tokens', headers: user.auth, payload: { name: 'browser extension', scopes: ['tasks:read'] } }));
    const ws = await connectWs(port, `/events?ticket=${await ticketFor(bearer(created.token))}`);
    await ws.ready();
    expect((await app.inject({ method: 'DELETE', url: `/me/tokens/${created.id}`, headers: user.auth })).statusCode).toBe(204);
    expect((await ws.closed).code).toBe(4401);
  });
});
