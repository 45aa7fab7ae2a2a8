import type { Attachment, Task } from '../../domain/index.js';

/** A task as a snapshot saw it, with the attachments it had then, oldest first (ties by id). */
export interface SnapshotTask {
  task: Task;
  attachments: Attachment[];
}

/** Reads a user's tasks and their attachments as they stood at one moment, without holding up anyone's writes. */
export interface TaskSnapshots {
  /**
   * Every task of the user, oldest first, in pages of at most `pageSize` tasks, each with its
   * attachments, all as of one moment (when the first page is read): writes committed meanwhile,
   * to tasks or attachments, are in none of the pages, so an attachment is there exactly when it
   * and its task both existed then. Only a page at a time is in memory, and a page may make each
   * of its tasks only as it is iterated: iterate a page before asking for the next. Leaving the
   * loop early releases what the snapshot holds.
   */
  eachPage(userId: number, pageSize: number): AsyncIterable<Iterable<SnapshotTask>>;
}

export const TASK_SNAPSHOTS = Symbol('TaskSnapshots');

/** A page's attachments by task, each task's in the order they came (oldest first): one read for the page, never one per task. */
export function attachmentsByTask(attachments: readonly Attachment[]): Map<number, Attachment[]> {
  const byTask = new Map<number, Attachment[]>();
  for (const attachment of attachments) {
    const ofTask = byTask.get(attachment.taskId);
    if (ofTask) ofTask.push(attachment);
    else byTask.set(attachment.taskId, [attachment]);
  }
  return byTask;
}

/** Each task of a page with its attachments, from one read of the page's attachments. */
export function withAttachments(tasks: readonly Task[], attachments: readonly Attachment[]): SnapshotTask[] {
  const byTask = attachmentsByTask(attachments);
  return tasks.map((task) => ({ task, attachments: byTask.get(task.id) ?? [] }));
}
