import type { Clock, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

export class DeleteTask {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal, id: number, expected?: ExpectedVersions): Promise<void> {
    let version: number | undefined;
    if (expected !== undefined) {
      const current = await this.tasks.findById(actor.userId, id);
      if (!current) throw taskNotFound();
      checkVersion(expected, current.version);
      version = current.version;
    }
    const deleted = await this.transactions.run(async (scope) => {
      if (!(await scope.tasks.delete(actor.userId, id, version))) return false;
      await publishTaskEvent(scope.events, { type: 'task.deleted', userId: actor.userId, occurredAt: this.clock.now(), payload: { taskId: id } });
      return true;
    });
    if (deleted) return;
    if (version === undefined) throw taskNotFound();
    await goneOrChanged(this.tasks, actor.userId, id);
  }
}
