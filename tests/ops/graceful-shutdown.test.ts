import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { refusesConnections } from '../support/connections.js';
import { aSignUp } from '../support/http.js';

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Whether the request went out on a connection the agent had already used. */
  reused: boolean;
}

/** One request through `agent`; a reset or a connection closed without an answer rejects. */
function send(server: ServerProcess, agent: http.Agent | false, path: string, options: { method?: string; body?: unknown } = {}): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<Answer>((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text, headers: response.headers, reused: request.reusedSocket }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A keep-alive client that holds exactly one connection, so every request after the first reuses it. */
const oneConnectionAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });

/** True when a fresh TCP connection to the server is refused (nothing listens any more). */
const refusesNewConnections = (server: ServerProcess) => refusesConnections(server.port);

const SECRET = 'shutdown-test-secret-0123456789abcdef';

/**
 * A sign-up whose body arrives in two parts, `gapMs` apart: the request is in flight (headers
 * received, handler not yet run) for that whole gap. The keep-alive agent is what a real client
 * would use, and what could hold a closing server open.
 */
function slowSignUp(server: ServerProcess, agent: http.Agent, gapMs: number): { sent: Promise<void>; answer: Promise<Answer> } {
  const body = JSON.stringify(aSignUp());
  const half = Math.floor(body.length / 2);
  let resolveSent!: () => void;
  const sent = new Promise<void>((resolve) => (resolveSent = resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: server.port, path: '/register', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text, headers: response.headers, reused: request.reusedSocket }));
      },
    );
    request.on('error', reject);
    request.write(body.slice(0, half), () => resolveSent());
    setTimeout(() => request.end(body.slice(half)), gapMs);
  });
  return { sent, answer };
}

describe('graceful shutdown of the real server process', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  const agents: http.Agent[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-shutdown-'));
  });
  afterEach(() => {
    agents.splice(0).forEach((agent) => agent.destroy());
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}) =>
    startServer({
      env: { NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir, DATABASE_URL: `file:${path.join(dataDir, 'db.sqlite')}`, LOG_LEVEL: 'info', ...env },
    });
  const agent = () => {
    const created = oneConnectionAgent();
    agents.push(created);
    return created;
  };

  it('on SIGTERM stops accepting, finishes the in-flight request, closes the pools and exits 0', async () => {
    server = await start({ SHUTDOWN_TIMEOUT_MS: '8000' });
    const inFlight = slowSignUp(server, agent(), 1_000);
    await inFlight.sent;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the server has read the headers

    const signalled = performance.now();
    server.child.kill('SIGTERM');
    await server.waitForOutput(/no longer accepting connections/);
    expect(await refusesNewConnections(server)).toBe(true);

    const answer = await inFlight.answer;
    expect(answer.status, answer.body).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ id: expect.any(Number) });
    expect(answer.headers.connection).toBe('close');

    const exit = await server.exited;
    const shutdownMs = performance.now() - signalled;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(shutdownMs).toBeLessThan(5_000);
    const logs = server.output();
    expect(logs).toMatch(/shutting down/);
    expect(logs).toMatch(/shut down cleanly/);
  }, 30_000);

  it('answers requests sent on already open keep-alive connections after SIGTERM, each with Connection: close, none reset', async () => {
    server = await start();
    const clients = Array.from({ length: 6 }, agent);
    for (const client of clients) expect((await send(server, client, '/health')).status).toBe(200);

    server.child.kill('SIGTERM');
    await server.waitForOutput(/no longer accepting connections/);
    // Every connection sends at once, as a busy client's pool would, reads and writes alike.
    const answers = await Promise.all(
      clients.map((client, i) => (i % 2 === 0 ? send(server!, client, '/health') : send(server!, client, '/register', { method: 'POST', body: aSignUp() }))),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.reused, `request ${i} went out on its open connection`).toBe(true);
      expect(answer.status, answer.body).toBe(i % 2 === 0 ? 200 : 201);
      expect(answer.headers.connection).toBe('close');
    }
    expect(await refusesNewConnections(server)).toBe(true);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('with SHUTDOWN_DELAY_MS, /ready answers 503 at once while new connections are still accepted until the delay ends', async () => {
    server = await start({ SHUTDOWN_DELAY_MS: '1500' });
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    await server.waitForOutput(/draining: \/ready answers 503/);

    // Each request on a connection of its own (agent: false): new connections are still accepted.
    const ready = await send(server, false, '/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(ready.headers.connection).toBe('close');
    expect((await send(server, false, '/health')).status).toBe(200);
    expect((await send(server, false, '/register', { method: 'POST', body: aSignUp() })).status).toBe(201);

    await server.waitForOutput(/no longer accepting connections/);
    expect(performance.now() - signalled).toBeGreaterThanOrEqual(1_400);
    expect(await refusesNewConnections(server)).toBe(true);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('exits 0 soon after SIGTERM when idle, even with an idle keep-alive connection open', async () => {
    server = await start({ LOG_LEVEL: 'warn' });
    const client = agent();
    expect((await send(server, client, '/health')).status).toBe(200);
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // The idle connection is kept for a grace of a second (IDLE_CONNECTION_GRACE_MS), then closed.
    expect(performance.now() - signalled).toBeLessThan(3_000);
  }, 30_000);

  // Before, the job worker's start-up retry held the close for half a minute; the test's timeout is the failure.
  it('exits 0 on SIGTERM while Redis is unreachable and the job worker is still waiting for it', async () => {
    server = await start({ LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1' });
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 15_000);
});
