import type { Role, Scope } from '../../domain/index.js';

/** One login: the family of refresh tokens that rotate from it, revoked as a whole. */
export interface Session {
  id: string;
  userId: number;
  createdAt: Date;
  /** Granted at login and kept by every refresh of the session. */
  scopes: Scope[];
}

/** Who is calling, as the database says now (a role change applies at once). */
export interface Principal {
  userId: number;
  role: Role;
  /** The login session of the credential; null for a personal access token. */
  sessionId: string | null;
  /** The personal access token of the credential, when it is one. */
  personalTokenId?: number;
  /** What the credential may do now: what it was granted that the user may still hold. */
  scopes: Scope[];
}

export interface StoredRefreshToken {
  digest: string;
  expiresAt: Date;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: Session }
  /** The token had been used before: whoever holds it may be a thief. */
  | { kind: 'reused'; sessionId: string }
  | { kind: 'invalid' };

export interface SessionRepository {
  create(session: Session, refreshToken: StoredRefreshToken): Promise<void>;
  /** The principal of a live session of an existing user, else null. */
  findPrincipal(sessionId: string, userId: number): Promise<Principal | null>;
  /**
   * Marks the refresh token used and stores its successor in one step: of parallel calls with
   * one token at most one rotates; the others see it as reused.
   */
  rotateRefreshToken(digest: string, next: StoredRefreshToken, now: Date): Promise<RefreshOutcome>;
  /** Of these sessions, the ones still live (not revoked, their user still there). */
  liveOf(sessionIds: readonly string[]): Promise<Set<string>>;
  revoke(sessionId: string, now: Date): Promise<void>;
  revokeAllOfUser(userId: number, now: Date, exceptSessionId?: string): Promise<void>;
  /**
   * Deletes the sessions nothing can use any more, with their refresh tokens: revoked ones, and
   * ones whose newest refresh token expired before `expiredBefore`. A session that can still be
   * refreshed keeps every refresh token, used ones included: presenting a used one is how a
   * stolen token is detected. Returns how many sessions went.
   */
  purgeEnded(expiredBefore: Date): Promise<number>;
}

export const SESSION_REPOSITORY = Symbol('SessionRepository');
