import { DomainError, type Task } from '../../domain/index.js';

export interface IdempotencyClaim {
  userId: number;
  key: string;
  /** Identifies the request body: the same key with another body is a client error. */
  fingerprint: string;
  now: Date;
  /** Records created before this are forgotten (the key's lifetime has passed). */
  expiredBefore: Date;
  /** An in-flight record older than this was abandoned (its process died) and may be taken over. */
  abandonedBefore: Date;
}

export type ClaimOutcome =
  /**
   * This request owns the key now; it must `complete` or `release` it with `token`. The token is
   * unique to this claim: once a later request takes the key over, this one's token stops working.
   */
  | { kind: 'claimed'; token: string }
  /** The key was used before with the same body: here is what that request created. */
  | { kind: 'replay'; tasks: Task[] }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' };

/**
 * What `complete` throws when the key is no longer held by the given claim: a request slower than
 * the in-flight lease was overtaken by a retry, which owns the key's outcome now. 409, so the
 * client retries and is answered with the outcome of the request that does own the key.
 */
export const idempotencyClaimLost = (): DomainError =>
  new DomainError('IDEMPOTENCY_KEY_IN_FLIGHT', 'Another request with this Idempotency-Key took it over; retry to get its result.');

/**
 * Remembers, per user and key, the outcome of a creating request (IETF Idempotency-Key draft):
 * the part a unit of work writes through (see TransactionScope).
 */
export interface IdempotencyKeys {
  /** Atomic: of concurrent claims of one key, exactly one gets `claimed`. */
  claim(claim: IdempotencyClaim): Promise<ClaimOutcome>;
  /**
   * Stores the snapshot of what the request created (one task, or the tasks of a generation) that
   * every replay returns, even if the tasks change later. Only for the claim holding `token`: if
   * another request has taken the key over, writes nothing and throws `idempotencyClaimLost()`, so
   * a transaction that created the tasks alongside rolls them back.
   */
  complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void>;
  /**
   * Forgets a claimed key whose request failed, so a retry may use it again. Does nothing unless
   * the key is still in flight under `token`: it never frees another request's claim.
   */
  release(userId: number, key: string, token: string): Promise<void>;
}

/** The keys and their upkeep, which belongs to no unit of work. */
export interface IdempotencyStore extends IdempotencyKeys {
  /** Forgets every user's keys created before `expiredBefore` (their lifetime has passed); returns how many. */
  purgeExpired(expiredBefore: Date): Promise<number>;
}

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');
