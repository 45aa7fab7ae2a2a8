import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import type { AccessTokenClaims, IssuedAccessToken, RefreshTokenPair, TokenService } from '../../application/index.js';

export interface JwtOptions {
  secret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/**
 * HS256 access tokens with the algorithm pinned on both sides, so `alg: none` or a swapped
 * algorithm never verifies. Refresh tokens are opaque random strings stored only as SHA-256.
 */
export class JwtTokenService implements TokenService {
  readonly refreshTokenTtlSeconds: number;
  private readonly sign: (payload: Record<string, unknown>) => string;
  private readonly verify: (token: string) => Record<string, unknown>;

  constructor(private readonly options: JwtOptions) {
    const key = Buffer.from(options.secret, 'utf8');
    this.refreshTokenTtlSeconds = options.refreshTokenTtlSeconds;
    this.sign = createSigner({
      key,
      algorithm: 'HS256',
      iss: options.issuer,
      aud: options.audience,
      expiresIn: options.accessTokenTtlSeconds * 1000,
    });
    this.verify = createVerifier({
      key,
      algorithms: ['HS256'],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      // fast-jwt checks iss and aud only when present; a token without them is not ours either.
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'iss', 'aud'],
      cache: 1000,
      // A verified token is remembered by its own text. fast-jwt's default key is a SHA hash of
      // the token, which cost about as much as verifying it again.
      cacheKeyBuilder: (token: string) => token,
    });
  }

  issueAccessToken(claims: AccessTokenClaims): IssuedAccessToken {
    const token = this.sign({ sub: String(claims.userId), sid: claims.sessionId, jti: randomUUID() });
    return { token, expiresIn: this.options.accessTokenTtlSeconds };
  }

  verifyAccessToken(token: string): AccessTokenClaims | null {
    try {
      const payload = this.verify(token);
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || userId <= 0 || typeof payload.sid !== 'string') return null;
      return { userId, sessionId: payload.sid };
    } catch {
      return null;
    }
  }

  newRefreshToken(): RefreshTokenPair {
    const token = randomBytes(32).toString('base64url');
    return { token, digest: this.digestRefreshToken(token) };
  }

  digestRefreshToken(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}
