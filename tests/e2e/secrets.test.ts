import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infrastructure/logger.js';
import { ADMIN, aSignUp, bearer, E2E_ENV, signUp } from '../support/http.js';
import { multipartBody } from '../support/multipart.js';
import { buildTestApp, json, type TestApp } from '../support/test-app.js';

/** Every line the service logs, through the production logger and its redaction rules. */
function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ logLevel: 'trace', nodeEnv: 'production' }, stream), text: () => lines.join('') };
}

describe('no secret reaches a response body or a log line', () => {
  const logs = captureLogs();
  let app: TestApp;
  const bodies: string[] = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    app = await buildTestApp('sqlite', E2E_ENV, { logger: logs.logger });
  });
  afterAll(() => app.close());

  async function call(request: InjectOptions) {
    const response = await app.inject(request);
    bodies.push(response.body);
    return response;
  }

  it('walks every auth flow, the failing ones too', async () => {
    const body = aSignUp({ password: 'Pa55-secret-in-the-signup' });
    const newPassword = 'N3w-secret-after-the-change';
    const clientSecret = 'client-secret-from-swagger';
    const basic = Buffer.from(`swagger-ui:${clientSecret}`).toString('base64');
    secrets.push(body.password, newPassword, clientSecret, basic, ADMIN.password, 'wrong-password-typed');

    await call({ method: 'POST', url: '/register', payload: body });
    await call({ method: 'POST', url: '/register', payload: { ...body, email: 'other@example.com' } });
    await call({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: `{"password":"${body.password}",` });
    await call({ method: 'POST', url: '/login', payload: { username: body.username, password: 'wrong-password-typed' } });
    const login = await call({ method: 'POST', url: '/login', payload: { username: body.username, password: body.password } });
    const tokens = json(login);
    const form = await call({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      payload: new URLSearchParams({ grant_type: 'password', username: body.email, password: body.password, client_id: 'swagger-ui', client_secret: clientSecret }).toString(),
    });
    const refreshed = await call({ method: 'POST', url: '/refresh', payload: { refresh_token: tokens.refresh_token } });
    await call({ method: 'POST', url: '/refresh', payload: { refresh_token: tokens.refresh_token } });
    const auth = bearer(json(form).access_token);
    const me = await call({ method: 'GET', url: '/me', headers: auth });
    await call({ method: 'PATCH', url: `/users/${json(me).id}`, headers: auth, payload: { password: newPassword, current_password: 'wrong-password-typed' } });
    await call({ method: 'PATCH', url: `/users/${json(me).id}`, headers: auth, payload: { password: newPassword, current_password: body.password } });
    await call({ method: 'PATCH', url: `/users/${json(me).id}`, headers: auth, payload: { password: 'short' } });
    await call({ method: 'GET', url: '/me', headers: bearer(`${tokens.access_token}x`) });
    await call({ method: 'POST', url: '/logout', headers: auth });
    secrets.push(tokens.access_token, tokens.refresh_token, json(form).access_token, json(form).refresh_token, json(refreshed).refresh_token);
    expect(secrets.every((s) => typeof s === 'string' && s.length > 8)).toBe(true);
  });

  it('keeps every password, hash and token out of the logs', () => {
    const text = logs.text();
    expect(text).toContain('request completed');
    expect(text).toContain('/token');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\$argon2/);
    expect(text).not.toMatch(/Bearer |Basic /);
  });

  it('keeps every password, hash and other login’s tokens out of the response bodies', () => {
    const joined = bodies.join('\n');
    expect(joined).not.toMatch(/\$argon2|password_hash|passwordHash/);
    for (const secret of secrets.slice(0, 6)) expect(joined).not.toContain(secret);
  });

  it('redacts authorization headers and password fields wherever the logger is handed them', () => {
    const own = captureLogs();
    own.logger.info({ req: { headers: { authorization: 'Bearer abc.def.ghi' } }, body: { password: 'p1-secret', current_password: 'p2-secret', refresh_token: 'r-secret' } }, 'x');
    own.logger.info({ headers: { authorization: 'Basic dXNlcjpwYXNz' }, password: 'p3-secret' }, 'y');
    for (const secret of ['abc.def.ghi', 'p1-secret', 'p2-secret', 'r-secret', 'dXNlcjpwYXNz', 'p3-secret']) expect(own.text()).not.toContain(secret);
    expect(own.text()).toContain('[redacted]');
  });
});

/** Sends `request` as it is over TCP and resolves once the server has closed the connection. */
function sendRaw(port: number, request: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.resume();
    socket.end(Buffer.from(request, 'latin1'));
  });
}

describe('no secret reaches a log line from a request the HTTP parser refused, or from an upload, at trace', () => {
  const logs = captureLogs();
  let app: TestApp;
  let port: number;

  beforeAll(async () => {
    app = await buildTestApp('sqlite', E2E_ENV, { logger: logs.logger });
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    port = (app.http.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  it('logs what Node refused without the request bytes: no header, no body', async () => {
    const header = 'authorization: Bearer token-of-a-refused-request';
    await sendRaw(port, `GET /tasks HTTP/1.1\r\nHost: localhost\r\n${header}\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    const body = '{"username":"ada","password":"password-of-a-refused-request"}';
    // Shorter than the body: the rest is parsed as a next request, which Node refuses.
    await sendRaw(port, `POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n${body}`);
    const text = logs.text();
    expect(text).toContain('refused a malformed request');
    expect(text).not.toContain('rawPacket');
    expect(text).not.toMatch(/token-of-a-refused-request|password-of-a-refused-request/);
  });

  it('logs an upload without its Authorization header', async () => {
    const account = await signUp(app);
    const task = await app.inject({ method: 'POST', url: '/tasks', headers: account.auth, payload: { title: 'with a file' } });
    const upload = multipartBody([{ name: 'file', filename: 'a.txt', contentType: 'text/plain', content: 'hello' }]);
    const response = await app.inject({ method: 'POST', url: `/tasks/${json(task).id}/attachments`, headers: { ...account.auth, ...upload.headers }, payload: upload.payload });
    expect(response.statusCode, response.body).toBe(201);
    expect(logs.text()).toContain('busboyOptions');
    expect(logs.text()).not.toContain(account.tokens.access_token);
  });
});

describe('the production logger with an admin created at start-up', () => {
  it('logs the admin’s creation without the ADMIN_PASSWORD', async () => {
    const logs = captureLogs();
    const withLogs = await buildTestApp('memory', E2E_ENV, { logger: logs.logger });
    await withLogs.close();
    expect(logs.text()).toContain(ADMIN.username);
    expect(logs.text()).not.toContain(ADMIN.password);
  });
});
