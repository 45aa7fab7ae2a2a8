import type { Export } from '../../domain/index.js';

/** How a pending export ends: its file made, or given up on. */
export type ExportOutcome =
  | { status: 'succeeded'; completedAt: Date; expiresAt: Date; size: number }
  | { status: 'failed'; completedAt: Date; error: string };

/**
 * The exports of every user. The methods that take a user id are scoped to that owner: another
 * user's export behaves as if it did not exist. The others serve housekeeping.
 */
export interface ExportRepository {
  create(entity: Export): Promise<void>;
  findById(userId: number, id: string): Promise<Export | null>;
  /** The user's exports, newest first, at most `limit`. */
  listOfUser(userId: number, limit: number): Promise<Export[]>;
  /** A pending (queued or running) export becomes running; null when it is not pending (it finished, or is gone). */
  markRunning(userId: number, id: string): Promise<Export | null>;
  /**
   * A pending export succeeds or fails, in one conditional statement: of two attempts to finish
   * it, one wins; null for the other, and for an export that is gone.
   */
  finish(userId: number, id: string, outcome: ExportOutcome): Promise<Export | null>;
  /** Succeeded exports that expired at or before `now` and whose file is still to be removed, soonest expiry first. */
  expiredWithFiles(now: Date, limit: number): Promise<Export[]>;
  /** Notes that the export's file is gone, so that housekeeping neither removes it again nor forgets the export before. */
  markFileRemoved(id: string, at: Date): Promise<void>;
  /**
   * Forgets exports finished long ago: succeeded ones that expired before `cutoff` and whose file
   * was removed, failed ones that failed before it. Returns how many.
   */
  deleteFinishedBefore(cutoff: Date): Promise<number>;
  /** Exports still queued that were created before `cutoff`, oldest first: their job may have been lost. */
  queuedBefore(cutoff: Date, limit: number): Promise<Export[]>;
}

export const EXPORT_REPOSITORY = Symbol('ExportRepository');
