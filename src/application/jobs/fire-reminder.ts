import { isCompleted } from '../../domain/index.js';
import type { Clock, JobHandler, TransactionRunner } from '../ports/index.js';
import { publishTaskEvent } from '../tasks/task-events.js';
import { parseReminderPayload, type Reminder } from './reminder-job.js';

/**
 * Fires a task's reminder: appends `task.reminder` with the task as it is now, exactly once
 * however many jobs and sweeps try. The claim (the conditional update that marks the reminder
 * fired) and the event are one unit of work: of concurrent runs one claim wins, and a run that
 * dies before committing leaves the reminder pending for the next try. A done task's reminder
 * is consumed without an event; a deleted task, or one whose remind_at has changed since the
 * job was queued, has nothing to claim.
 */
export class FireReminder implements JobHandler {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async run(payload: unknown): Promise<void> {
    await this.fire(parseReminderPayload(payload));
  }

  /** True when this call consumed the reminder, event or not; false when there was none to consume. */
  fire({ userId, taskId, remindAt }: Reminder): Promise<boolean> {
    return this.transactions.run(async (scope) => {
      const task = await scope.tasks.claimReminder(userId, taskId, remindAt);
      if (!task) return false;
      if (!isCompleted(task.status)) {
        await publishTaskEvent(scope.events, { type: 'task.reminder', userId, occurredAt: this.clock.now(), payload: { task } });
      }
      return true;
    });
  }
}
