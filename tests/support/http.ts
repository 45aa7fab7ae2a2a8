import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildTestApp, json, type TestApp } from './test-app.js';
import type { SqlEngine } from './databases.js';

export const ADMIN = { username: 'root_admin', email: 'root@example.com', password: 'admin password 1234' } as const;

/** The first administrator; generous rate limits come from TEST_ENV (test-app.ts). */
export const E2E_ENV = {
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
};

export const buildE2eApp = (engine: SqlEngine | 'memory', env: Record<string, string> = {}): Promise<TestApp> =>
  buildTestApp(engine, { ...E2E_ENV, ...env });

let counter = 0;

/** A fresh, valid sign-up body; names never collide within a process. */
export function aSignUp(overrides: Record<string, unknown> = {}) {
  counter += 1;
  const tag = `${process.pid.toString(36)}${counter}`;
  return { username: `user_${tag}`, email: `user_${tag}@example.com`, password: `password-${tag}-long`, ...overrides };
}

export interface TokenPairBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface Account {
  id: number;
  username: string;
  email: string;
  password: string;
  tokens: TokenPairBody;
  auth: { authorization: string };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function logIn(app: TestApp, login: string, password: string): Promise<TokenPairBody> {
  const response = await app.inject({ method: 'POST', url: '/login', payload: { username: login, password } });
  expect(response.statusCode, response.body).toBe(200);
  return json<TokenPairBody>(response);
}

/** Signs up through the API and logs in once. */
export async function signUp(app: TestApp, overrides: Record<string, unknown> = {}): Promise<Account> {
  const body = aSignUp(overrides);
  const response = await app.inject({ method: 'POST', url: '/register', payload: body });
  expect(response.statusCode, response.body).toBe(201);
  const tokens = await logIn(app, body.username, body.password);
  return { id: json(response).id, username: body.username, email: body.email, password: body.password, tokens, auth: bearer(tokens.access_token) };
}

export async function logInAdmin(app: TestApp): Promise<Account> {
  const tokens = await logIn(app, ADMIN.username, ADMIN.password);
  const me = await app.inject({ method: 'GET', url: '/me', headers: bearer(tokens.access_token) });
  return { id: json(me).id, ...ADMIN, tokens, auth: bearer(tokens.access_token) };
}

/** Row counts of the tables the auth half owns: a rejected request must leave them as they were. */
export async function rowCounts(app: TestApp): Promise<Record<'users' | 'sessions' | 'refresh_tokens', number>> {
  const db = app.database?.db;
  if (!db) throw new Error('rowCounts needs an SQL test app');
  const count = async (table: string) => Number(((await db(table).count({ n: '*' }).first()) as { n: string | number }).n);
  return { users: await count('users'), sessions: await count('sessions'), refresh_tokens: await count('refresh_tokens') };
}

/** RFC 9457 shape, plus the field list every 422 carries. */
export function expectProblem(response: LightMyRequestResponse, status: number): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = json(response);
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(body.type === 'about:blank' || /^https?:\/\//.test(body.type)).toBe(true);
  if (status === 422) {
    expect(body.errors).toEqual(expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]));
    expect(body.errors.length).toBeGreaterThan(0);
  }
  expect(response.body).not.toMatch(/at .+\.(ts|js):\d+|node_modules|knex|sqlite|postgres|SELECT |INSERT /i);
  return body;
}

export function expectUnauthorized(response: LightMyRequestResponse): void {
  expectProblem(response, 401);
  expect(response.headers['www-authenticate']).toMatch(/^Bearer\b/);
}

export function fieldsOf(response: LightMyRequestResponse): string[] {
  return (json(response).errors as Array<{ field: string }>).map((e) => e.field);
}
