import { createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableEngines } from '../support/databases.js';
import { bearer, buildE2eApp, expectUnauthorized, logIn, logInAdmin, signUp, type Account } from '../support/http.js';
import { TEST_ENV, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();
const SECRET = TEST_ENV.JWT_SECRET;

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const decode = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));

function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, options: { digest?: string; secret?: string } = {}): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(options.digest ?? 'sha256', options.secret ?? SECRET).update(input).digest('base64url')}`;
}

const HS256 = { alg: 'HS256', typ: 'JWT' };
const now = () => Math.floor(Date.now() / 1000);

describe.each(engines)('every forged, stale or revoked token is 401 with WWW-Authenticate: Bearer on %s', (engine) => {
  let app: TestApp;
  let victim: Account;
  let admin: Account;
  let claims: Record<string, unknown>;
  beforeAll(async () => {
    app = await buildE2eApp(engine);
    admin = await logInAdmin(app);
    victim = await signUp(app);
    claims = decode(victim.tokens.access_token);
  });
  afterAll(() => app.close());

  const me = (token: string) => app.inject({ method: 'GET', url: '/me', headers: bearer(token) });

  it('issues the claims the contract names, and a hand-made HS256 token with them is accepted (the forgeries below are meaningful)', async () => {
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'scope', 'sid', 'sub'].sort());
    expect(claims).toMatchObject({ iss: 'taskforge', aud: 'taskforge-api', sub: String(victim.id) });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
    expect(JSON.parse(Buffer.from(victim.tokens.access_token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
    expect((await me(hmacToken(HS256, { ...claims, jti: 'hand-made' }))).statusCode).toBe(200);
  });

  const forgeries: Array<[string, () => string]> = [
    ['alg none, no signature', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
    ['alg none, with the original signature', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${victim.tokens.access_token.split('.')[2]}`],
    ['alg NONE in another case', () => `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims)}.`],
    ['HS512 with the same secret', () => hmacToken({ alg: 'HS512', typ: 'JWT' }, claims, { digest: 'sha512' })],
    ['HS384 with the same secret', () => hmacToken({ alg: 'HS384', typ: 'JWT' }, claims, { digest: 'sha384' })],
    ['an RS256 header over an HMAC of the secret (key confusion)', () => hmacToken({ alg: 'RS256', typ: 'JWT' }, claims)],
    [
      'RS256 signed with an attacker’s key',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
        return `${input}.${rsaSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
      },
    ],
    ['a bad signature (another secret)', () => hmacToken(HS256, claims, { secret: 'another-secret-that-is-also-long-enough-000' })],
    ['a truncated signature', () => victim.tokens.access_token.slice(0, -4)],
    ['a tampered payload (sub of the admin) under the real signature', () => {
      const [header, , signature] = victim.tokens.access_token.split('.');
      return `${header}.${b64({ ...claims, sub: String(admin.id) })}.${signature}`;
    }],
    ['a wrong issuer', () => hmacToken(HS256, { ...claims, iss: 'someone-else' })],
    ['a wrong audience', () => hmacToken(HS256, { ...claims, aud: 'another-api' })],
    ['no issuer', () => hmacToken(HS256, { ...claims, iss: undefined })],
    ['no audience', () => hmacToken(HS256, { ...claims, aud: undefined })],
    ['an audience list without ours', () => hmacToken(HS256, { ...claims, aud: ['another-api'] })],
    ['expired', () => hmacToken(HS256, { ...claims, iat: now() - 3600, exp: now() - 60 })],
    ['not yet valid (nbf in the future)', () => hmacToken(HS256, { ...claims, nbf: now() + 3600 })],
    ['missing sub', () => hmacToken(HS256, { ...claims, sub: undefined })],
    ['missing sid', () => hmacToken(HS256, { ...claims, sid: undefined })],
    ['missing jti', () => hmacToken(HS256, { ...claims, jti: undefined })],
    ['missing exp', () => hmacToken(HS256, { ...claims, exp: undefined })],
    ['missing iat', () => hmacToken(HS256, { ...claims, iat: undefined })],
    ['a non-numeric sub', () => hmacToken(HS256, { ...claims, sub: 'admin' })],
    ['a sub of another user with the victim’s session', () => hmacToken(HS256, { ...claims, sub: String(admin.id) })],
    ['a sub beyond any id', () => hmacToken(HS256, { ...claims, sub: '9007199254740993' })],
    ['an unknown session', () => hmacToken(HS256, { ...claims, sid: '00000000-0000-4000-8000-000000000000' })],
    ['malformed: one segment', () => 'abc'],
    ['malformed: two segments', () => 'abc.def'],
    ['malformed: three garbage segments', () => 'abc.def.ghi'],
    ['malformed: header is not JSON', () => `${b64('not json')}.${b64(claims)}.sig`],
    ['malformed: payload is not JSON', () => `${b64(HS256)}.${b64('{oops')}.sig`],
    ['the refresh token used as an access token', () => victim.tokens.refresh_token],
  ];

  it.each(forgeries)('rejects %s', async (_name, forge) => {
    expectUnauthorized(await me(forge()));
  });

  it.each([
    ['no Authorization header', undefined],
    ['a Basic header', `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['"Bearer" with no token', 'Bearer'],
    ['"Bearer " with spaces only', 'Bearer    '],
    ['a token with a space inside', 'Bearer abc def'],
  ])('rejects %s', async (_name, authorization) => {
    expectUnauthorized(await app.inject({ method: 'GET', url: '/me', headers: authorization === undefined ? {} : { authorization } }));
  });

  it('accepts the scheme in any case', async () => {
    expect((await app.inject({ method: 'GET', url: '/me', headers: { authorization: `bearer ${victim.tokens.access_token}` } })).statusCode).toBe(200);
  });

  it('rejects a token that expired while the verifier had it cached', async () => {
    // exp counts whole seconds from a floored iat, so a token lives between TTL − 1 and TTL
    // seconds: with a TTL of 1 it could expire before the first request (one run in a few dozen).
    const short = await buildE2eApp(engine, { ACCESS_TOKEN_TTL: '2' });
    try {
      const account = await signUp(short);
      expect((await short.inject({ method: 'GET', url: '/me', headers: account.auth })).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expectUnauthorized(await short.inject({ method: 'GET', url: '/me', headers: account.auth }));
    } finally {
      await short.close();
    }
  });

  it('rejects the tokens of a deleted user', async () => {
    const doomed = await signUp(app);
    await app.inject({ method: 'DELETE', url: `/users/${doomed.id}`, headers: admin.auth });
    expectUnauthorized(await me(doomed.tokens.access_token));
    expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: doomed.tokens.refresh_token } }));
  });

  it('rejects a reused refresh token, and the session’s access token after it', async () => {
    const account = await signUp(app);
    await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: account.tokens.refresh_token } });
    expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: account.tokens.refresh_token } }));
    expectUnauthorized(await me(account.tokens.access_token));
  });

  it('rejects the tokens of a session after logout', async () => {
    const account = await signUp(app);
    expect((await app.inject({ method: 'POST', url: '/logout', headers: account.auth })).statusCode).toBe(204);
    expectUnauthorized(await me(account.tokens.access_token));
    expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: account.tokens.refresh_token } }));
  });

  it('rejects the tokens of the other sessions after a password change', async () => {
    const account = await signUp(app);
    const other = await logIn(app, account.username, account.password);
    const changed = await app.inject({
      method: 'PATCH',
      url: `/users/${account.id}`,
      headers: account.auth,
      payload: { password: 'an entirely new secret', current_password: account.password },
    });
    expect(changed.statusCode).toBe(200);
    expectUnauthorized(await me(other.access_token));
    expectUnauthorized(await app.inject({ method: 'POST', url: '/refresh', payload: { refresh_token: other.refresh_token } }));
  });

  it('guards every authenticated route the same way', async () => {
    const forged = `${b64({ alg: 'none' })}.${b64(claims)}.`;
    for (const [method, url] of [['GET', '/me'], ['POST', '/logout'], ['GET', '/users'], ['GET', `/users/${victim.id}`], ['PUT', `/users/${victim.id}`], ['PATCH', `/users/${victim.id}`], ['DELETE', `/users/${victim.id}`]] as const) {
      expectUnauthorized(await app.inject({ method, url, headers: bearer(forged) }));
    }
    expect((await me(victim.tokens.access_token)).statusCode).toBe(200);
  });
});
