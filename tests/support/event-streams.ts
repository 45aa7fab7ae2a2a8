import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { freePort } from '../../scripts/support/server-process.js';
import { SseParser, type SseItem } from '../../src/adapters/http-client/sse-parser.js';
import { afterAll, beforeAll } from 'vitest';
import type { SqlEngine } from './databases.js';
import { buildE2eApp, signUp, type Account } from './http.js';
import type { TestApp } from './test-app.js';

/** Messages as they arrive, taken one at a time; `next` waits for the next one or fails after `timeoutMs`. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | null = null;

  push(item: T): void {
    this.items.push(item);
    this.waiter?.();
  }

  async next(timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing arrived within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.items.shift()!;
  }

  /** The next `count` items, in order. */
  async take(count: number, timeoutMs?: number): Promise<T[]> {
    const taken: T[] = [];
    while (taken.length < count) taken.push(await this.next(timeoutMs));
    return taken;
  }

  get size(): number {
    return this.items.length;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are checked by assertions
export type Message = Record<string, any>;

/** The app listening on a free port of the tests' range. */
export async function listen(app: TestApp): Promise<number> {
  const port = await freePort();
  await app.http.listen({ port, host: '127.0.0.1' });
  return port;
}

/** An app for a suite of stream tests: listening on a free port, with one user signed up. */
export interface ServedApp {
  app: TestApp;
  port: number;
  user: Account;
}

/** Serves the app on `engine` before the suite's tests, hands it to `use`, and closes it after them. */
export function serveForSuite(use: (served: ServedApp) => void, engine: SqlEngine | 'memory', env: Record<string, string> = {}): void {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await buildE2eApp(engine, env);
    use({ app, port: await listen(app), user: await signUp(app) });
  });
  afterAll(() => app?.close());
}

/** A refusal answered before any upgrade: the HTTP status, headers and problem body. */
export interface Refusal {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Message;
}

function readRefusal(response: http.IncomingMessage): Promise<Refusal> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text ? (JSON.parse(text) as Message) : {} }));
  });
}

export class WsClient {
  readonly messages = new Inbox<Message>();
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  pings = 0;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Message));
    socket.on('ping', () => (this.pings += 1));
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })));
  }

  /** The ready message, checked to be the first thing received. */
  async ready(): Promise<Message> {
    const first = await this.messages.next();
    if (first.type !== 'ready') throw new Error(`the first message was not ready: ${JSON.stringify(first)}`);
    return first;
  }
}

/** Opens a WebSocket on GET /events (path carries the query); rejects with the refusal if it is not upgraded. */
export function connectWs(port: number, path = '/events', headers: Record<string, string> = {}, options: { autoPong?: boolean } = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, autoPong: options.autoPong ?? true });
    const client = new WsClient(socket);
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => void readRefusal(response).then((refusal) => reject(Object.assign(new Error(`refused ${refusal.status}`), { refusal }))));
    socket.once('error', (error) => reject(error));
  });
}

/** The refusal of a WebSocket request that must not be upgraded. */
export async function wsRefusal(port: number, path = '/events', headers: Record<string, string> = {}): Promise<Refusal> {
  try {
    const client = await connectWs(port, path, headers);
    client.socket.terminate();
  } catch (error) {
    const refusal = (error as { refusal?: Refusal }).refusal;
    if (refusal) return refusal;
    throw error;
  }
  throw new Error(`GET ${path} was upgraded to a WebSocket`);
}

export class SseClient {
  readonly frames = new Inbox<Extract<SseItem, { kind: 'message' }>>();
  readonly comments = new Inbox<string>();
  readonly ended: Promise<number>;

  constructor(readonly response: http.IncomingMessage) {
    const parser = new SseParser();
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      for (const item of parser.push(chunk)) {
        if (item.kind === 'message') this.frames.push(item);
        else this.comments.push(item.text);
      }
    });
    this.ended = new Promise((resolve) => response.once('close', () => resolve(Date.now())));
  }

  /** The next event frame's event object, checked against the frame's id and event lines. */
  async nextEvent(timeoutMs?: number): Promise<Message> {
    const frame = await this.frames.next(timeoutMs);
    const event = JSON.parse(frame.data) as Message;
    if (frame.id !== event.id || frame.event !== event.type) throw new Error(`frame lines disagree with its data: ${JSON.stringify(frame)}`);
    return event;
  }

  close(): void {
    this.response.destroy();
  }
}

/** GET /events as Server-Sent Events; resolves with the stream on 200, else with the refusal. */
export function requestSse(port: number, path = '/events', headers: Record<string, string> = {}): Promise<SseClient | Refusal> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      if (response.statusCode === 200) resolve(new SseClient(response));
      else void readRefusal(response).then(resolve);
    });
    request.on('error', reject);
  });
}

/** GET /events as SSE; rejects with the refusal (as connectWs does) if it is not a stream. */
export async function openSse(port: number, path = '/events', headers: Record<string, string> = {}): Promise<SseClient> {
  const answer = await requestSse(port, path, headers);
  if (!(answer instanceof SseClient)) throw Object.assign(new Error(`GET ${path} as SSE answered ${answer.status}: ${JSON.stringify(answer.body)}`), { refusal: answer });
  return answer;
}

export async function sseRefusal(port: number, path = '/events', headers: Record<string, string> = {}): Promise<Refusal> {
  const answer = await requestSse(port, path, headers);
  if (answer instanceof SseClient) {
    answer.close();
    throw new Error(`GET ${path} as SSE was answered with a stream`);
  }
  return answer;
}

/** A WebSocket frame as it came over the wire (server frames are not masked). */
export interface RawFrame {
  opcode: number;
  payload: Buffer;
}

/** Splits what a server sent after its 101 response into frames; a trailing partial frame is left out. */
export function parseFrames(bytes: Buffer): RawFrame[] {
  const frames: RawFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) break;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (at + header + length > bytes.length) break;
    frames.push({ opcode, payload: bytes.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return frames;
}

/**
 * A client that completes the WebSocket handshake by hand on a raw TCP socket and then stops
 * reading: what the server sends piles up in the kernel, then in the server's own buffer.
 */
export async function stalledWebSocket(port: number, headers: Record<string, string>): Promise<{ socket: net.Socket; afterHandshake: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines = [
    'GET /events HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let received = Buffer.alloc(0);
  const afterHandshake = await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      const head = received.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`not upgraded: ${head.split('\r\n')[0]}`));
      else resolve(received.subarray(end + 4));
    };
    socket.on('data', onData);
  });
  return { socket, afterHandshake };
}

/** An SSE request on a raw socket that is never read from. */
export async function stalledSse(port: number, authorization: string): Promise<{ socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.pause();
  socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nAuthorization: ${authorization}\r\n\r\n`);
  return { socket };
}

/** Reads everything a paused socket has (and gets) until it closes or `until` holds. */
export function drain(socket: net.Socket, initial: Buffer, until: (received: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = initial;
    const timer = setTimeout(() => reject(new Error(`socket did not deliver what was expected within ${timeoutMs} ms`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(received);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (until(received)) finish();
    };
    socket.on('data', onData);
    socket.once('close', finish);
    socket.on('error', () => {});
    socket.resume();
  });
}
