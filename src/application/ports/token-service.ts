import type { Scope } from '../../domain/index.js';

export interface AccessTokenClaims {
  userId: number;
  sessionId: string;
}

/** What an access token is issued with: its claims and the scopes its session was granted. */
export interface AccessTokenGrant extends AccessTokenClaims {
  scopes: readonly Scope[];
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
  issueAccessToken(grant: AccessTokenGrant): IssuedAccessToken;
  /** The claims of a valid, unexpired token of ours; null for anything else. */
  verifyAccessToken(token: string): AccessTokenClaims | null;
  newRefreshToken(): RefreshTokenPair;
  digestRefreshToken(token: string): string;
  readonly refreshTokenTtlSeconds: number;
}

export const TOKEN_SERVICE = Symbol('TokenService');
