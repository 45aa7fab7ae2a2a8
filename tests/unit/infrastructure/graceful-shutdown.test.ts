import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/support/server-process.js';
import { drainAndClose } from '../../../src/infrastructure/graceful-shutdown.js';
import { refusesConnections } from '../../support/connections.js';
import { buildTestApp, type TestApp } from '../../support/test-app.js';

/**
 * drainAndClose in this process, on a listening app: the same steps the server process takes on
 * SIGTERM (tests/ops/graceful-shutdown.test.ts checks them through a real signal).
 */
describe('drainAndClose', () => {
  let app: TestApp;
  let port: number;
  const agents: http.Agent[] = [];
  afterEach(async () => {
    agents.splice(0).forEach((agent) => agent.destroy());
    await app.close();
  });

  async function listening(): Promise<void> {
    app = await buildTestApp('memory');
    port = await freePort();
    await app.http.listen({ port, host: '127.0.0.1' });
  }

  const oneConnection = () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  };

  function get(path: string, agent: http.Agent | false): Promise<{ status: number; connection?: string; reused: boolean }> {
    return new Promise((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
        response.resume().on('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection, reused: request.reusedSocket }));
      });
      request.on('error', reject);
    });
  }

  const refused = () => refusesConnections(port);

  it('stops accepting at once without a delay, answers on open connections with Connection: close, then closes', async () => {
    await listening();
    const clients = [oneConnection(), oneConnection(), oneConnection()];
    for (const client of clients) expect((await get('/health', client)).status).toBe(200);

    const drained = drainAndClose(app.http, { delayMs: 0, timeoutMs: 5_000, idleGraceMs: 2_000 }, pino({ level: 'silent' }));
    expect(await refused()).toBe(true);
    const answers = await Promise.all(clients.map((client) => get('/ready', client)));
    expect(answers).toEqual(clients.map(() => ({ status: 503, connection: 'close', reused: true })));
    await expect(drained).resolves.toBe(true);
  });

  it('keeps accepting during the delay while /ready answers 503', async () => {
    await listening();
    const drained = drainAndClose(app.http, { delayMs: 400, timeoutMs: 5_000, idleGraceMs: 50 }, pino({ level: 'silent' }));
    expect(await get('/ready', false)).toEqual({ status: 503, connection: 'close', reused: false });
    expect((await get('/health', false)).status).toBe(200);
    await expect(drained).resolves.toBe(true);
    expect(await refused()).toBe(true);
  });

  it('closes idle connections after the grace, and cuts requests still open at the deadline', async () => {
    await listening();
    const idle = oneConnection();
    await get('/health', idle);
    const idleClosed = new Promise<void>((resolve) => Object.values(idle.freeSockets).flat()[0]!.once('close', () => resolve()));
    const stuck = net.connect(port, '127.0.0.1');
    stuck.on('error', () => {});
    await new Promise((resolve) => stuck.once('connect', resolve));
    // Headers without their end: a request the server has begun and can never finish.
    stuck.write('POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    const stuckClosed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));

    const drained = drainAndClose(app.http, { delayMs: 0, timeoutMs: 600, idleGraceMs: 100 }, pino({ level: 'silent' }));
    await idleClosed;
    await expect(drained).resolves.toBe(false);
    await stuckClosed;
  });
});
