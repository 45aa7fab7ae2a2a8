import type { AttachmentRepository, Clock, JobQueue, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import { findOwnAttachment } from './read-attachments.js';
import { publishAttachmentEvent } from './attachment-events.js';
import { enqueueBlobGarbagePurge } from './blob-garbage-jobs.js';

/**
 * Deletes an attachment with its `attachment.deleted` event in one unit of work; the deletion
 * gives its bytes back to the quota and records its key as garbage due now (the schema's
 * trigger, or the in-memory twin). A job then deletes the bytes soon; should the queue refuse
 * it, the hourly purge does (`reportEnqueueFailure` is told).
 */
export class DeleteAttachment {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
    private readonly transactions: TransactionRunner,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
    private readonly reportEnqueueFailure: (error: unknown) => void,
  ) {}

  async execute(actor: Principal, taskId: number, id: string): Promise<void> {
    const { userId } = actor;
    const deleted = await this.transactions.run(async (scope) => {
      const gone = await scope.attachments.delete(userId, taskId, id);
      if (gone) await publishAttachmentEvent(scope.events, { type: 'attachment.deleted', userId, occurredAt: this.clock.now(), payload: { taskId, id } });
      return gone;
    });
    // Not found, as GET would say it: the task's or the attachment's.
    if (!deleted) await findOwnAttachment(this.tasks, this.attachments, actor, taskId, id);
    try {
      await enqueueBlobGarbagePurge(this.jobs);
    } catch (error) {
      this.reportEnqueueFailure(error);
    }
  }
}
