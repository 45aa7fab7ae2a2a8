import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJwtTokenService, type JwtOptions } from '../../../src/adapters/security/jwt-token-service.js';

const OPTIONS: JwtOptions = {
  secret: 'unit-test-secret-of-at-least-thirty-two-bytes',
  issuer: 'taskforge',
  audience: 'taskforge-api',
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 30 * 86_400,
};
const service = await createJwtTokenService(OPTIONS);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const partsOf = (token: string) => token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));

const DIGESTS = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/** A token made by hand, so that what the service accepts is not defined by the library it uses. */
function sign(payload: Record<string, unknown>, options: { algorithm?: keyof typeof DIGESTS; secret?: string } = {}) {
  const algorithm = options.algorithm ?? 'HS256';
  const input = `${b64({ alg: algorithm, typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac(DIGESTS[algorithm], Buffer.from(options.secret ?? OPTIONS.secret, 'utf8')).update(input).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const validClaims = () => ({ sub: '7', sid: 'session-7', jti: 'j-1', iss: 'taskforge', aud: 'taskforge-api', iat: now(), exp: now() + 60 });

describe('JwtTokenService', () => {
  it('issues HS256 tokens with sub, sid, jti, iat, exp, iss, aud and the granted scope', () => {
    const { token, expiresIn } = service.issueAccessToken({ userId: 7, sessionId: 'session-7', scopes: ['tasks:read', 'profile'] });
    const [header, payload] = partsOf(token);
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: '7', sid: 'session-7', iss: 'taskforge', aud: 'taskforge-api', jti: expect.any(String), scope: 'tasks:read profile' });
    expect(payload.exp - payload.iat).toBe(900);
    expect(expiresIn).toBe(900);
    expect(service.verifyAccessToken(token)).toEqual({ userId: 7, sessionId: 'session-7' });
  });

  describe('with verified tokens remembered', () => {
    afterEach(() => vi.useRealTimers());

    it('stops accepting a token it has verified once its exp has passed', async () => {
      const cached = await createJwtTokenService(OPTIONS);
      vi.useFakeTimers({ now: new Date('2026-11-22T10:00:00Z'), toFake: ['Date'] });
      const token = sign(validClaims());
      expect(cached.verifyAccessToken(token)).toEqual({ userId: 7, sessionId: 'session-7' });
      vi.setSystemTime(new Date('2026-11-22T10:00:59Z'));
      expect(cached.verifyAccessToken(token)).toEqual({ userId: 7, sessionId: 'session-7' });
      vi.setSystemTime(new Date('2026-11-22T10:01:01Z'));
      expect(cached.verifyAccessToken(token)).toBeNull();
    });

    it('never takes a token for another that differs in one character of its signature', () => {
      const token = sign(validClaims());
      expect(service.verifyAccessToken(token)).not.toBeNull();
      const i = token.length - 10; // inside the signature, clear of base64url's padding bits
      const tampered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(service.verifyAccessToken(tampered)).toBeNull();
    });
  });

  it('uses a non-ASCII secret as its UTF-8 bytes', async () => {
    const secret = 'geheimnis-mit-ümlauten-und-€-zeichen-0123456789';
    const utf8 = await createJwtTokenService({ ...OPTIONS, secret });
    expect(utf8.verifyAccessToken(sign(validClaims(), { secret }))).toEqual({ userId: 7, sessionId: 'session-7' });
    const latin1Signed = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(validClaims())}`;
    const forged = `${latin1Signed}.${createHmac('sha256', Buffer.from(secret, 'latin1')).update(latin1Signed).digest('base64url')}`;
    expect(utf8.verifyAccessToken(forged)).toBeNull();
  });

  it('gives every token its own jti', () => {
    const a = partsOf(service.issueAccessToken({ userId: 1, sessionId: 's', scopes: [] }).token)[1];
    const b = partsOf(service.issueAccessToken({ userId: 1, sessionId: 's', scopes: [] }).token)[1];
    expect(a.jti).not.toBe(b.jti);
  });

  it('accepts a well-formed HS256 token signed with its secret (so the rejections below mean something)', () => {
    expect(service.verifyAccessToken(sign(validClaims()))).toEqual({ userId: 7, sessionId: 'session-7' });
  });

  it.each<[string, () => string]>([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.`],
    ['HS384 with the same secret', () => sign(validClaims(), { algorithm: 'HS384' })],
    ['HS512 with the same secret', () => sign(validClaims(), { algorithm: 'HS512' })],
    [
      'an RS256 header over an HMAC',
      () => {
        const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(validClaims())}`;
        return `${input}.${createHmac('sha256', OPTIONS.secret).update(input).digest('base64url')}`;
      },
    ],
    ['another secret', () => sign(validClaims(), { secret: 'a-different-secret-that-is-long-enough!!' })],
    ['a wrong issuer', () => sign({ ...validClaims(), iss: 'evil' })],
    ['a wrong audience', () => sign({ ...validClaims(), aud: 'other-api' })],
    ['no issuer', () => sign({ ...validClaims(), iss: undefined })],
    ['no audience', () => sign({ ...validClaims(), aud: undefined })],
    ['expired', () => sign({ ...validClaims(), iat: now() - 120, exp: now() - 60 })],
    ['no exp', () => sign({ ...validClaims(), exp: undefined })],
    ['no sid', () => sign({ ...validClaims(), sid: undefined })],
    ['no jti', () => sign({ ...validClaims(), jti: undefined })],
    ['a non-numeric sub', () => sign({ ...validClaims(), sub: 'root' })],
    ['a zero sub', () => sign({ ...validClaims(), sub: '0' })],
    ['a negative sub', () => sign({ ...validClaims(), sub: '-3' })],
    ['an unsafe-integer sub', () => sign({ ...validClaims(), sub: '9007199254740993' })],
    ['a numeric sid', () => sign({ ...validClaims(), sid: 5 })],
    ['garbage', () => 'not.a.jwt'],
    ['an empty string', () => ''],
  ])('rejects %s', (_name, forge) => {
    expect(service.verifyAccessToken(forge())).toBeNull();
  });

  it('rejects tokens of a service configured with another issuer or audience', async () => {
    const other = await createJwtTokenService({ ...OPTIONS, issuer: 'other-issuer' });
    const otherAudience = await createJwtTokenService({ ...OPTIONS, audience: 'other-audience' });
    const token = service.issueAccessToken({ userId: 1, sessionId: 's', scopes: [] }).token;
    expect(other.verifyAccessToken(token)).toBeNull();
    expect(otherAudience.verifyAccessToken(token)).toBeNull();
  });

  it('makes opaque, unique refresh tokens and stores only their SHA-256', () => {
    const a = service.newRefreshToken();
    const b = service.newRefreshToken();
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(a.digest).not.toContain(a.token);
    expect(service.digestRefreshToken(a.token)).toBe(a.digest);
    expect(service.refreshTokenTtlSeconds).toBe(30 * 86_400);
  });
});
