import type { Clock, EventPublisher, Principal, TaskRepository } from '../ports/index.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

export class DeleteTask {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal, id: number, expected?: ExpectedVersions): Promise<void> {
    if (expected === undefined) {
      if (!(await this.tasks.delete(actor.userId, id))) throw taskNotFound();
    } else {
      const current = await this.tasks.findById(actor.userId, id);
      if (!current) throw taskNotFound();
      checkVersion(expected, current.version);
      if (!(await this.tasks.delete(actor.userId, id, current.version))) await goneOrChanged(this.tasks, actor.userId, id);
    }
    await publishTaskEvent(this.events, { type: 'task.deleted', userId: actor.userId, occurredAt: this.clock.now(), payload: { taskId: id } });
  }
}
