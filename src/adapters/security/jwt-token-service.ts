import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fastifyJwt, { type FastifyJWTOptions, type JWT } from '@fastify/jwt';
import Fastify from 'fastify';
import type { AccessTokenClaims, AccessTokenGrant, IssuedAccessToken, RefreshTokenPair, TokenService } from '../../application/index.js';

export interface JwtOptions {
  secret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/**
 * Verified tokens the verifier remembers until their exp: every request of a client presents the
 * same token. Only successes are kept, so forged tokens cannot crowd out real ones for long.
 */
const VERIFIED_TOKENS_KEPT = 10_000;

/**
 * HS256 with the algorithm pinned on both sides, so `alg: none` or a swapped algorithm never
 * verifies; the secret is used as its UTF-8 bytes.
 */
export function jwtPluginOptions(options: JwtOptions): FastifyJWTOptions {
  return {
    secret: Buffer.from(options.secret, 'utf8'),
    sign: { algorithm: 'HS256', iss: options.issuer, aud: options.audience, expiresIn: options.accessTokenTtlSeconds },
    verify: {
      algorithms: ['HS256'],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      // iss and aud are checked only when present; a token without them is not ours either.
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud'],
      cache: VERIFIED_TOKENS_KEPT,
    },
  };
}

/**
 * Access tokens through the `JWT` object @fastify/jwt decorates a Fastify instance with (its
 * public sign and verify). Refresh tokens are opaque random strings stored only as SHA-256.
 */
export class JwtTokenService implements TokenService {
  readonly refreshTokenTtlSeconds: number;
  private readonly accessTokenTtlSeconds: number;

  constructor(
    private readonly jwt: JWT,
    lifetimes: Pick<JwtOptions, 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds'>,
  ) {
    this.accessTokenTtlSeconds = lifetimes.accessTokenTtlSeconds;
    this.refreshTokenTtlSeconds = lifetimes.refreshTokenTtlSeconds;
  }

  /** `scope` tells clients what the token was granted; requests are checked against the session's own record. */
  issueAccessToken(grant: AccessTokenGrant): IssuedAccessToken {
    const token = this.jwt.sign({ sub: String(grant.userId), sid: grant.sessionId, jti: randomUUID(), scope: grant.scopes.join(' ') });
    return { token, expiresIn: this.accessTokenTtlSeconds };
  }

  verifyAccessToken(token: string): AccessTokenClaims | null {
    if (!token) return null;
    let payload: Record<string, unknown>;
    try {
      payload = this.jwt.verify<Record<string, unknown>>(token);
    } catch {
      return null;
    }
    const userId = Number(payload.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0 || typeof payload.sid !== 'string') return null;
    return { userId, sessionId: payload.sid };
  }

  newRefreshToken(): RefreshTokenPair {
    const token = randomBytes(32).toString('base64url');
    return { token, digest: this.digestRefreshToken(token) };
  }

  digestRefreshToken(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}

/**
 * @fastify/jwt exists only as a plugin, so the service gets a Fastify instance of its own to
 * carry it: tokens are issued and checked by use cases, before and apart from any HTTP app.
 */
export async function createJwtTokenService(options: JwtOptions): Promise<JwtTokenService> {
  const host = Fastify({ logger: false });
  await host.register(fastifyJwt, jwtPluginOptions(options));
  await host.ready();
  return new JwtTokenService(host.jwt, options);
}
