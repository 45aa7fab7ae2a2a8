import {
  attachmentBlobKey,
  attachmentQuotaExceeded,
  attachmentTooLarge,
  attachmentUploadTimedOut,
  emptyAttachment,
  normalizeContentType,
  sanitizeFilename,
  type Attachment,
} from '../../domain/index.js';
import type { AttachmentRepository, BlobStorage, Clock, IdGenerator, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import { taskNotFound } from '../tasks/task-access.js';
import { publishAttachmentEvent } from './attachment-events.js';
import type { AttachmentSettings } from './attachment-settings.js';

/** A file as a client sent it. */
export interface AttachmentUpload {
  /** As declared: sanitised before it is stored. */
  filename: string | null | undefined;
  /** As declared: normalised before it is stored. */
  contentType: string | null | undefined;
  /**
   * The file's bytes as they arrive. It throws when the transfer fails or turns out malformed
   * (the request is cut off, a second part follows): the upload then stores nothing.
   */
  bytes: AsyncIterable<Uint8Array>;
}

/** Passes the bytes on while they stay within the size limit and the deadline, else throws. */
async function* withinLimits(bytes: AsyncIterable<Uint8Array>, maxBytes: number, deadline: Date, clock: Clock): AsyncIterable<Uint8Array> {
  let size = 0;
  for await (const chunk of bytes) {
    size += chunk.byteLength;
    if (size > maxBytes) throw attachmentTooLarge(maxBytes);
    if (clock.now() >= deadline) throw attachmentUploadTimedOut();
    yield chunk;
  }
}

/**
 * Stores a file on one of the caller's tasks: the bytes stream into blob storage (which counts
 * them and computes their SHA-256) under a key made from the owner and a fresh id, then one unit
 * of work charges the quota, inserts the attachment, claims the key's garbage record and appends
 * `attachment.created`.
 *
 * Nothing is left behind, whatever fails when: the key's garbage record is written before any
 * byte, due at the upload's deadline, so even a process killed mid-upload leaves bytes the purge
 * finds; a failure after the bytes are stored (over the quota, the task deleted meanwhile, past
 * the deadline) deletes them at once, then the record. Past its deadline an upload is refused
 * even once stored: its record is due, so the purge may be deleting its bytes already.
 */
export class UploadAttachment {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
    private readonly storage: BlobStorage,
    private readonly transactions: TransactionRunner,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly settings: AttachmentSettings,
  ) {}

  /**
   * `receive` reads the request up to the file: it is called once the task is known to be the
   * caller's, and throws for a request without a usable file part.
   */
  async execute(actor: Principal, taskId: number, receive: () => Promise<AttachmentUpload>): Promise<Attachment> {
    const { userId } = actor;
    if (!(await this.tasks.findById(userId, taskId))) throw taskNotFound();
    // Nothing more fits: said before a byte is read. The unit of work below is the real guard.
    if ((await this.attachments.usage(userId)) >= this.settings.quotaBytes) throw attachmentQuotaExceeded(this.settings.quotaBytes);
    const upload = await receive();

    const id = this.ids.next();
    const key = attachmentBlobKey(userId, id);
    const startedAt = this.clock.now();
    const deadline = new Date(startedAt.getTime() + this.settings.uploadTimeoutMs);
    await this.attachments.recordGarbage(key, deadline);
    let stored;
    try {
      stored = await this.storage.put(key, withinLimits(upload.bytes, this.settings.maxBytes, deadline, this.clock));
    } catch (error) {
      // Nothing was stored (put's promise); the record goes, or the purge finds nothing to delete.
      await this.attachments.forgetGarbage([key]).catch(() => {});
      throw error;
    }

    const entity: Attachment = {
      id,
      userId,
      taskId,
      filename: sanitizeFilename(upload.filename),
      contentType: normalizeContentType(upload.contentType),
      size: stored.size,
      sha256: stored.sha256,
      storageKey: key,
      createdAt: this.clock.now(),
    };
    try {
      if (entity.size === 0) throw emptyAttachment();
      await this.transactions.run(async (scope) => {
        const outcome = await scope.attachments.create(entity, this.settings.quotaBytes);
        if (outcome === 'task-gone') throw taskNotFound();
        if (outcome === 'over-quota') throw attachmentQuotaExceeded(this.settings.quotaBytes);
        if (!(await scope.attachments.claimGarbage(key, this.clock.now()))) throw attachmentUploadTimedOut();
        await publishAttachmentEvent(scope.events, { type: 'attachment.created', userId, occurredAt: entity.createdAt, payload: { taskId, attachment: entity } });
      });
    } catch (error) {
      await this.discard(key);
      throw error;
    }
    return entity;
  }

  /**
   * Bytes first, the record after: never a blob no record names. If storage fails here, the
   * record stays and the purge deletes the bytes later; the client hears of its upload's failure,
   * not of storage's.
   */
  private async discard(key: string): Promise<void> {
    try {
      await this.storage.delete(key);
      await this.attachments.forgetGarbage([key]);
    } catch {
      // See above: deferred to the purge, not lost.
    }
  }
}
