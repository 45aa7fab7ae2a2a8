import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/http.js';
import { buildTestApp, type TestApp } from '../support/test-app.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes as they are over TCP (no client library to tidy them) and reads until the server closes. */
function rawRequest(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server closes once it has answered; a reset after the answer arrived changes nothing.
    socket.on('error', (error) => {
      if (chunks.length === 0) reject(error);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.end(Buffer.from(request, 'latin1'));
  });
}

function expectRawProblem(response: RawResponse, status: number): Record<string, unknown> {
  expect(response.status, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body));
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem).toMatchObject({ type: 'about:blank', status, title: expect.any(String), detail: expect.any(String) });
  expect(response.body).not.toMatch(/HPE_|FST_|fastify|node_modules/i);
  return problem;
}

describe('errors Node or Fastify raise before a route runs are problem+json too', () => {
  let app: TestApp;
  let port: number;
  beforeAll(async () => {
    app = await buildTestApp('memory');
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    port = (app.http.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  describe('over real TCP, from Node’s HTTP parser', () => {
    it('a 20 KB header → 431', async () => {
      const response = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(expectRawProblem(response, 431).detail).toMatch(/headers/);
    });

    it('a malformed request line → 400', async () => {
      expectRawProblem(await rawRequest(port, 'this is not http\r\n\r\n'), 400);
    });

    it('an invalid header name → 400', async () => {
      expectRawProblem(await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n'), 400);
    });

    it('both Content-Length and Transfer-Encoding (request smuggling) → 400', async () => {
      const request = 'POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
      expectRawProblem(await rawRequest(port, request), 400);
    });

    it('a NUL in a header value → 422 naming the header', async () => {
      const response = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: a\u0000b\r\n\r\n');
      expect(response.status).toBe(422);
      expect(JSON.parse(response.body)).toMatchObject({ status: 422, errors: [{ field: 'x-note', message: expect.stringMatching(/NUL/) }] });
    });

    it('the server still answers normally afterwards', async () => {
      const response = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      expect(response.status).toBe(200);
    });
  });

  describe('from Fastify, before or instead of a route', () => {
    it.each([
      ['a URL that is not validly percent-encoded', '/tasks/%zz', 400],
      ['a truncated percent-escape', '/%E0%A4%A', 400],
      ['a path segment over the router’s limit', `/tasks/${'9'.repeat(200)}`, 414],
      ['an unknown route', '/no-such-route', 404],
    ])('%s → problem+json with a request id', async (_name, url, status) => {
      const response = await app.inject({ method: 'GET', url, headers: { 'x-request-id': 'trace-1' } });
      expectProblem(response, status);
      expect(response.headers['x-request-id']).toBe('trace-1');
      expect(response.body).not.toMatch(/FST_/);
    });

    it.each(['PROPFIND', 'TRACE', 'PURGE'])('an unsupported method %s → 404 problem', async (method) => {
      expectProblem(await app.inject({ method: method as 'GET', url: '/health' }), 404);
    });
  });
});
