import type { PersonalAccessToken, Role } from '../../domain/index.js';

export interface NewPersonalAccessToken extends Omit<PersonalAccessToken, 'id' | 'lastUsedAt'> {
  /** The digest of the secret (see PersonalTokenSecrets); the secret itself is never stored. */
  digest: string;
}

/** A token found by its digest, with its user's role as the database says now. */
export interface PersonalAccessTokenMatch {
  token: PersonalAccessToken;
  role: Role;
}

export interface PersonalAccessTokenRepository {
  create(token: NewPersonalAccessToken): Promise<PersonalAccessToken>;
  /** The user's tokens, newest first. */
  listOfUser(userId: number): Promise<PersonalAccessToken[]>;
  /** False when the user has no token with that id (another user's included). */
  delete(userId: number, id: number): Promise<boolean>;
  /** One indexed lookup: the token whose secret has this digest, if its user still exists. */
  findByDigest(digest: string): Promise<PersonalAccessTokenMatch | null>;
  /** The token with this id, if it and its user still exist. */
  findById(id: number): Promise<PersonalAccessTokenMatch | null>;
  /** Of these tokens, the ones that still exist and have not expired at `now`. */
  liveOf(ids: readonly number[], now: Date): Promise<Set<number>>;
  /** Sets last_used_at to `minute` unless it already is that late, so parallel writers agree. */
  recordUse(id: number, minute: Date): Promise<void>;
  /** Deletes every user's tokens that expired before `expiredBefore`; returns how many. */
  purgeExpired(expiredBefore: Date): Promise<number>;
}

export const PERSONAL_ACCESS_TOKEN_REPOSITORY = Symbol('PersonalAccessTokenRepository');
