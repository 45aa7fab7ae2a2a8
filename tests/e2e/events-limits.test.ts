import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LiveEvents } from '../../src/application/index.js';
import { createApplication } from '../../src/infrastructure/app.js';
import { drainAndClose } from '../../src/infrastructure/graceful-shutdown.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { connectWs, drain, listen, openSse, parseFrames, serveForSuite, stalledSse, stalledWebSocket, type RawFrame } from '../support/event-streams.js';
import { buildE2eApp, signUp, type Account } from '../support/http.js';
import { FAST_ARGON2, json, testConfig, type TestApp } from '../support/test-app.js';

/** Polls `condition` (no event to wait on: the server's own state) until it holds or the deadline passes. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const closeCodeOf = (frame: RawFrame) => frame.payload.readUInt16BE(0);
const CLOSE = 0x8;

describe('what clients send on a WebSocket', () => {
  let app: TestApp;
  let port: number;
  let user: Account;
  serveForSuite((served) => ({ app, port, user } = served), 'memory');

  it('ignores messages up to 4 KiB and answers pings; the stream goes on', async () => {
    const ws = await connectWs(port, '/events', user.auth);
    await ws.ready();
    ws.socket.send(JSON.stringify({ type: 'subscribe', please: true }));
    ws.socket.send('x'.repeat(4096));
    const pong = new Promise<Buffer>((resolve) => ws.socket.once('pong', resolve));
    ws.socket.ping('are you there');
    expect(String(await pong)).toBe('are you there');
    const task = json(await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'still streaming' } }));
    expect((await ws.messages.next()).data.task.id).toBe(task.id);
    ws.socket.close();
  });

  it('closes the connection with 1009 on a frame over 4 KiB', async () => {
    const ws = await connectWs(port, '/events', user.auth);
    await ws.ready();
    ws.socket.send('x'.repeat(4097));
    expect((await ws.closed).code).toBe(1009);
    await eventually(() => app.container.resolve(LiveEvents).openStreams === 0, 'the stream is forgotten');
  });
});

describe('heartbeats every EVENTS_HEARTBEAT_SECONDS', () => {
  let port: number;
  let user: Account;
  serveForSuite((served) => ({ port, user } = served), 'memory', { EVENTS_HEARTBEAT_SECONDS: '1' });

  it('pings a WebSocket, which stays open while its client answers', async () => {
    const ws = await connectWs(port, '/events', user.auth);
    await ws.ready();
    const pinged = (count: number) => new Promise<void>((resolve) => ws.socket.on('ping', () => ws.pings >= count && resolve()));
    await pinged(3);
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
    ws.socket.close();
  });

  it('cuts a WebSocket whose client has not answered the previous ping', async () => {
    const ws = await connectWs(port, '/events', user.auth, { autoPong: false });
    await ws.ready();
    const closed = await ws.closed;
    expect(ws.pings).toBeGreaterThanOrEqual(1);
    expect(closed.code).toBe(1006); // cut, not closed: the peer is presumed gone
  });

  it('sends an SSE comment line', async () => {
    const sse = await openSse(port, '/events', user.auth);
    await sse.frames.next();
    expect(await sse.comments.next()).toBe('heartbeat');
    sse.close();
  });
});

describe('a client that does not read, with EVENTS_MAX_BUFFER at 64 KiB', () => {
  const LIMIT = 64 * 1024;
  let app: TestApp;
  let port: number;
  serveForSuite((served) => ({ app, port } = served), 'memory', { EVENTS_MAX_BUFFER: '64kb' });

  /** Changes a task with a large description until `stop` holds: each change is an event of ~10 KB. */
  async function writeUntil(user: Account, stop: () => boolean, onEach: () => void = () => {}): Promise<number> {
    const task = json(await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title: 'big' } }));
    let writes = 0;
    while (!stop()) {
      if (writes > 5_000) throw new Error('the stream was never closed');
      const description = String(writes % 10).repeat(10_000);
      const response = await app.inject({ method: 'PATCH', url: `/tasks/${task.id}`, headers: user.auth, payload: { description } });
      expect(response.statusCode).toBe(200);
      writes += 1;
      onEach();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return writes;
  }

  const openStreams = () => app.container.resolve(LiveEvents).openStreams;

  it('closes its WebSocket with 4408 instead of buffering, and the server never holds more than the limit for it', async () => {
    const user = await signUp(app);
    const { socket, afterHandshake } = await stalledWebSocket(port, { authorization: user.auth.authorization });
    await eventually(() => openStreams() === 1, 'the stream is open');
    let mostBuffered = 0;
    const measure = () => {
      for (const client of app.http.websocketServer.clients) mostBuffered = Math.max(mostBuffered, client.bufferedAmount);
    };
    await writeUntil(user, () => openStreams() === 0, measure);
    measure();
    expect(mostBuffered).toBeGreaterThan(0);
    expect(mostBuffered).toBeLessThanOrEqual(LIMIT);

    // Once it reads again, it finds the events it was sent, then the close frame saying why.
    const received = await drain(socket, afterHandshake, (bytes) => parseFrames(bytes).some((frame) => frame.opcode === CLOSE));
    const frames = parseFrames(received);
    expect(JSON.parse(String(frames[0]!.payload))).toMatchObject({ type: 'ready' });
    const close = frames.find((frame) => frame.opcode === CLOSE)!;
    expect(closeCodeOf(close)).toBe(4408);
    socket.destroy();
  });

  it('ends its SSE response instead of buffering', async () => {
    const user = await signUp(app);
    const { socket } = await stalledSse(port, user.auth.authorization);
    await eventually(() => openStreams() === 1, 'the stream is open');
    await writeUntil(user, () => openStreams() === 0);
    // Once it reads again, the response is complete: the last chunk of a chunked body, then the connection closes.
    const received = await drain(socket, Buffer.alloc(0), () => false);
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
    expect(received.toString('latin1').endsWith('\r\n0\r\n\r\n')).toBe(true);
  });
});

describe('shutting down with streams open', () => {
  it('closes every stream when the drain starts (WebSocket 1001, SSE ends), so the drain does not wait for them', async () => {
    const app = await buildE2eApp('memory');
    let closed = false;
    try {
      const port = await listen(app);
      const user = await signUp(app);
      const ws = await connectWs(port, '/events', user.auth);
      await ws.ready();
      const sse = await openSse(port, '/events', user.auth);
      await sse.frames.next();

      const started = Date.now();
      const clean = await drainAndClose(app.http, { delayMs: 0, timeoutMs: 8_000 }, pino({ level: 'silent' }));
      closed = true;
      expect(clean).toBe(true);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect((await ws.closed).code).toBe(1001);
      await sse.ended;
    } finally {
      if (!closed) await app.close();
    }
  });

  it('app.close() alone closes them too', async () => {
    const app = await buildE2eApp('memory');
    const port = await listen(app);
    const user = await signUp(app);
    const ws = await connectWs(port, '/events', user.auth);
    await ws.ready();
    const sse = await openSse(port, '/events', user.auth);
    await sse.frames.next();
    await app.close();
    expect((await ws.closed).code).toBe(1001);
    await sse.ended;
  });
});

describe('the access log of event streams', () => {
  it('writes a stream’s line when it ends — a WebSocket’s with status 101 and its close code — and never the ticket', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const application = await createApplication(testConfig(), { logger: createLogger({ logLevel: 'info', nodeEnv: 'production' }, sink), persistence: 'memory', argon2: FAST_ARGON2 });
    await application.http.ready();
    const app = { ...application, database: null, inject: application.http.inject.bind(application.http), close: () => application.http.close() } satisfies TestApp;
    try {
      const port = await listen(app);
      const user = await signUp(app);
      const ticket = json(await app.inject({ method: 'POST', url: '/events/tickets', headers: user.auth })).ticket as string;
      const ws = await connectWs(port, `/events?ticket=${ticket}`, { 'x-request-id': 'stream-trace-1' });
      await ws.ready();
      ws.socket.close(1000);
      await ws.closed;
      const sse = await openSse(port, '/events', { ...user.auth, 'x-request-id': 'stream-trace-2' });
      await sse.frames.next();
      sse.close();
      const completed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request completed' && entry.route === '/events');
      await eventually(() => completed().length === 2, 'both streams are logged');
      expect(completed()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ reqId: 'stream-trace-1', method: 'GET', statusCode: 101, closeCode: 1000, userId: user.id, durationMs: expect.any(Number) }),
          expect.objectContaining({ reqId: 'stream-trace-2', method: 'GET', statusCode: 200, userId: user.id, clientClosed: true }),
        ]),
      );
      expect(lines.join('\n')).not.toContain(ticket);
    } finally {
      await app.close();
    }
  });
});
