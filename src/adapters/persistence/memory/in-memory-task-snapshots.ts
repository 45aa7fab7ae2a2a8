import { withAttachments, type AttachmentRepository, type SnapshotTask, type TaskRepository, type TaskSnapshots } from '../../../application/index.js';

/**
 * The in-memory tasks and their attachments as of the first read: they are in memory already, so
 * copying the user's tasks and their attachments then is what fixes the moment. Oldest first, as
 * the SQL snapshot reads them.
 */
export class InMemoryTaskSnapshots implements TaskSnapshots {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly attachments: AttachmentRepository,
  ) {}

  async *eachPage(userId: number, pageSize: number): AsyncIterable<SnapshotTask[]> {
    const all = await this.tasks.findPage(userId, { filter: {}, sort: { key: 'created_at', descending: false }, limit: Number.MAX_SAFE_INTEGER });
    const snapshot = withAttachments(all, await this.attachments.listOfTasks(userId, all.map((task) => task.id)));
    for (let start = 0; start < snapshot.length; start += pageSize) yield snapshot.slice(start, start + pageSize);
  }
}
