import { attachmentNotFound, isAttachmentIdForm, type Attachment } from '../../domain/index.js';
import type { AttachmentRepository, BlobStorage, ByteRange, Principal, TaskRepository } from '../ports/index.js';
import { taskNotFound } from '../tasks/task-access.js';

/** The caller's task's attachment, else ATTACHMENT_NOT_FOUND (or TASK_NOT_FOUND when the task itself is not theirs). */
export async function findOwnAttachment(tasks: TaskRepository, attachments: AttachmentRepository, actor: Principal, taskId: number, id: string): Promise<Attachment> {
  const found = isAttachmentIdForm(id) ? await attachments.findById(actor.userId, taskId, id) : null;
  if (found) return found;
  if (!(await tasks.findById(actor.userId, taskId))) throw taskNotFound();
  throw attachmentNotFound();
}

/** A task's attachments, oldest first. */
export class ListAttachments {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
  ) {}

  async execute(actor: Principal, taskId: number): Promise<Attachment[]> {
    if (!(await this.tasks.findById(actor.userId, taskId))) throw taskNotFound();
    return this.attachments.listOfTask(actor.userId, taskId);
  }
}

export class GetAttachment {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
  ) {}

  execute(actor: Principal, taskId: number, id: string): Promise<Attachment> {
    return findOwnAttachment(this.tasks, this.attachments, actor, taskId, id);
  }
}

/** Which bytes of an attachment to send: all of them, a range of them, or none (HEAD, 304, 416). */
export type ContentPart = { kind: 'whole' } | { kind: 'range'; range: Required<ByteRange> } | { kind: 'none' };

export interface AttachmentContent {
  attachment: Attachment;
  /** The bytes asked for; null when none were asked for. */
  bytes: AsyncIterable<Uint8Array> | null;
}

/**
 * An attachment of the caller's with its bytes (or a range of them), streamed from storage. Bytes
 * whose record exists but that storage no longer has (a purge on a clock ahead of this one) are
 * answered as not found: a download never serves a partial or a foreign file.
 */
export class OpenAttachmentContent {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
    private readonly storage: BlobStorage,
  ) {}

  async execute(actor: Principal, taskId: number, id: string, part: (attachment: Attachment) => ContentPart): Promise<AttachmentContent> {
    const attachment = await findOwnAttachment(this.tasks, this.attachments, actor, taskId, id);
    const wanted = part(attachment);
    if (wanted.kind === 'none') return { attachment, bytes: null };
    const bytes = await this.storage.get(attachment.storageKey, wanted.kind === 'range' ? wanted.range : undefined);
    if (!bytes) throw attachmentNotFound();
    return { attachment, bytes };
  }
}
