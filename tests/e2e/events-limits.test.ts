import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveEvents } from '../../src/application/index.js';
import { drainAndClose } from '../../src/infrastructure/graceful-shutdown.js';
import { connectWs, drain, listen, openSse, parseFrames, stalledSse, stalledWebSocket, type RawFrame } from '../support/event-streams.js';
import { buildE2eApp, signUp, type Account } from '../support/http.js';
import { json, type TestApp } from '../support/test-app.js';

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
  beforeAll(async () => {
    app = await buildE2eApp('memory');
    port = await listen(app);
    user = await signUp(app);
  });
  afterAll(() => app.close());

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
  let app: TestApp;
  let port: number;
  let user: Account;
  beforeAll(async () => {
    app = await buildE2eApp('memory', { EVENTS_HEARTBEAT_SECONDS: '1' });
    port = await listen(app);
    user = await signUp(app);
  });
  afterAll(() => app.close());

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
  beforeAll(async () => {
    app = await buildE2eApp('memory', { EVENTS_MAX_BUFFER: '64kb' });
    port = await listen(app);
  });
  afterAll(() => app.close());

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
