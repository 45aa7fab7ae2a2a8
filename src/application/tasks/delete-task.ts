import type { Clock, EventPublisher, Principal, TaskRepository } from '../ports/index.js';
import type { ReminderScheduler } from '../jobs/reminder-scheduler.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

/**
 * Deletes a task, then cancels its reminder's job. The task is read first for its remind_at,
 * which names the job; a job that escapes (the remind_at changed between the read and the
 * delete) finds no task to remind of and does nothing.
 */
export class DeleteTask {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly reminders: ReminderScheduler,
  ) {}

  async execute(actor: Principal, id: number, expected?: ExpectedVersions): Promise<void> {
    const current = await this.tasks.findById(actor.userId, id);
    if (!current) throw taskNotFound();
    if (expected === undefined) {
      if (!(await this.tasks.delete(actor.userId, id))) throw taskNotFound();
    } else {
      checkVersion(expected, current.version);
      if (!(await this.tasks.delete(actor.userId, id, current.version))) await goneOrChanged(this.tasks, actor.userId, id);
    }
    await publishTaskEvent(this.events, { type: 'task.deleted', userId: actor.userId, occurredAt: this.clock.now(), payload: { taskId: id } });
    await this.reminders.deleted(current);
  }
}
