export interface AccessTokenClaims {
  userId: number;
  sessionId: string;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
}

export interface RefreshTokenPair {
  /** Given to the client once. */
  token: string;
  /** What is stored: the token itself never reaches the database. */
  digest: string;
}

export interface TokenService {
  issueAccessToken(claims: AccessTokenClaims): IssuedAccessToken;
  /** The claims of a valid, unexpired token of ours; null for anything else. */
  verifyAccessToken(token: string): AccessTokenClaims | null;
  newRefreshToken(): RefreshTokenPair;
  digestRefreshToken(token: string): string;
  readonly refreshTokenTtlSeconds: number;
}

export const TOKEN_SERVICE = Symbol('TokenService');
