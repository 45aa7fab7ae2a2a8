import type { Attachment } from '../../domain/index.js';

export type AttachmentCreation = 'created' | 'over-quota' | 'task-gone';

/**
 * The attachments of every user, their owners' usage, and the blob garbage: storage keys whose
 * bytes no attachment names (or soon will not), with when they may be deleted.
 *
 * Garbage records are what makes "nothing left behind" hold whatever dies when: an upload records
 * its key before it writes a byte, and the unit of work that creates the attachment claims the
 * record; an attachment that goes (deleted, or with its task or user) records its key as due at
 * once, in the statement that removes it. The purge deletes the bytes of due records, then the
 * records. The methods that take a user id are scoped to that owner: another user's attachment
 * behaves as if it did not exist.
 */
export interface AttachmentRepository {
  /**
   * Inserts the attachment and charges its size to its owner's usage, atomically and only if the
   * usage stays within `quotaBytes` (of concurrent creates by one user, exactly those that fit
   * succeed) and its task is still there, the owner's. Otherwise writes nothing and says why.
   */
  create(entity: Attachment, quotaBytes: number): Promise<AttachmentCreation>;
  findById(userId: number, taskId: number, id: string): Promise<Attachment | null>;
  /** The task's attachments, oldest first (ties by id). */
  listOfTask(userId: number, taskId: number): Promise<Attachment[]>;
  /** The attachments of these tasks of the user, each task's oldest first. */
  listOfTasks(userId: number, taskIds: readonly number[]): Promise<Attachment[]>;
  /**
   * Deletes it, gives its bytes back to the quota and records its key as garbage due now; returns
   * the deleted attachment, null when there was none. (A task or user deleted takes their
   * attachments with them the same way.)
   */
  delete(userId: number, taskId: number, id: string): Promise<Attachment | null>;
  /** Bytes the user's attachments take, as charged against the quota. */
  usage(userId: number): Promise<number>;

  /** Records that `key` may hold bytes that are garbage after `deleteAfter` unless claimed first. */
  recordGarbage(key: string, deleteAfter: Date): Promise<void>;
  /**
   * Removes the key's garbage record, as the attachment that names it is created, provided it is
   * not due by `now`: false when there is no such record (or it is due, and the purge may be
   * deleting the bytes already).
   */
  claimGarbage(key: string, now: Date): Promise<boolean>;
  /** Keys whose records are due at `now`, soonest first, at most `limit`. */
  dueGarbage(now: Date, limit: number): Promise<string[]>;
  /** Forgets these garbage records, once their bytes are gone. */
  forgetGarbage(keys: readonly string[]): Promise<void>;
}

export const ATTACHMENT_REPOSITORY = Symbol('AttachmentRepository');
