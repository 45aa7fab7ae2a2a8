import type { Task } from '../../domain/index.js';

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
  /** This request owns the key now; it must `complete` or `release` it. */
  | { kind: 'claimed' }
  /** The key was used before with the same body: here is what that request created. */
  | { kind: 'replay'; task: Task }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' };

/** Remembers, per user and key, the outcome of a creating request (IETF Idempotency-Key draft). */
export interface IdempotencyStore {
  /** Atomic: of concurrent claims of one key, exactly one gets `claimed`. */
  claim(claim: IdempotencyClaim): Promise<ClaimOutcome>;
  /** Stores the snapshot that every replay returns, even if the task changes later. */
  complete(userId: number, key: string, task: Task): Promise<void>;
  /** Forgets a claimed key whose request failed, so a retry may use it again. */
  release(userId: number, key: string): Promise<void>;
}

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');
