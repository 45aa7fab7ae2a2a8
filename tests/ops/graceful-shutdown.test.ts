import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { aSignUp } from '../support/http.js';

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

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
        response.on('end', () => resolve({ status: response.statusCode!, body: text, headers: response.headers }));
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
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-shutdown-'));
  });
  afterEach(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('on SIGTERM stops accepting, finishes the in-flight request, closes the pools and exits 0', async () => {
    server = await startServer({
      env: { NODE_ENV: 'production', JWT_SECRET: 'shutdown-test-secret-0123456789abcdef', DATA_DIR: dataDir, DATABASE_URL: `file:${path.join(dataDir, 'db.sqlite')}`, LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '8000' },
    });
    const agent = new http.Agent({ keepAlive: true });
    const inFlight = slowSignUp(server, agent, 1_000);
    await inFlight.sent;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the server has read the headers

    const signalled = performance.now();
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(fetch(`${server.baseUrl}/health`)).rejects.toThrow(); // no longer accepting

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
    agent.destroy();
  }, 30_000);

  it('exits 0 at once on SIGTERM when idle, even with an idle keep-alive connection open', async () => {
    server = await startServer({
      env: { NODE_ENV: 'production', JWT_SECRET: 'shutdown-test-secret-0123456789abcdef', DATA_DIR: dataDir, DATABASE_URL: `file:${path.join(dataDir, 'db.sqlite')}`, LOG_LEVEL: 'warn' },
    });
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server!.port, path: '/health', agent }, (response) => response.resume().on('end', resolve)).on('error', reject);
    });
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - signalled).toBeLessThan(2_000);
    agent.destroy();
  }, 30_000);
});
