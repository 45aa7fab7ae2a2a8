import { sameInstant, type Task } from '../../domain/index.js';
import type { JobQueue } from '../ports/index.js';
import { REMINDERS_QUEUE, reminderJob, reminderJobKey } from './reminder-job.js';

/** Where a failure that must not fail the request goes (the composition root logs it). */
export type ReportFailure = (error: unknown) => void;

/**
 * Keeps the reminders queue in step with tasks' remind_at, after each write has committed: a new
 * time is enqueued to run at that time (at once when it is past), a time replaced or a task
 * deleted cancels its job. The write has happened whatever the queue says, so a failure here
 * never fails it: it is reported, and the due-reminders sweep fires what a lost job would have.
 */
export class ReminderScheduler {
  constructor(
    private readonly queue: JobQueue,
    private readonly reportFailure: ReportFailure,
  ) {}

  created(task: Task): Promise<void> {
    return this.reschedule(task, null, task.remindAt);
  }

  /** After a replace or patch; a write that kept remind_at leaves the queue alone. */
  changed(before: Task, after: Task): Promise<void> {
    return this.reschedule(after, before.remindAt, after.remindAt);
  }

  deleted(task: Task): Promise<void> {
    return this.reschedule(task, task.remindAt, null);
  }

  private async reschedule(task: Task, previous: Date | null, next: Date | null): Promise<void> {
    if (sameInstant(previous, next)) return;
    if (previous) await this.attempt(() => this.queue.cancel(REMINDERS_QUEUE, reminderJobKey(task.id, previous)));
    if (next) {
      const { payload, options } = reminderJob({ userId: task.userId, taskId: task.id, remindAt: next });
      await this.attempt(() => this.queue.enqueue(REMINDERS_QUEUE, payload, options));
    }
  }

  private async attempt(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.reportFailure(error);
    }
  }
}
