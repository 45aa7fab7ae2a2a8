import type { Task, TaskFields, TaskInput, TaskPatch } from '../../domain/index.js';
import { applyTaskPatch, parseTaskInput, reviseTask } from '../../domain/index.js';
import type { Clock, EventPublisher, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

type Change = (current: Task) => TaskFields;

/** What one attempt did: wrote `task`, found nothing to change in `task`, or lost a race. */
type Attempt = { written: boolean; task: Task } | 'lost';

/**
 * Every change to a task: read, check the precondition, compute the next state, then write it
 * only if the version read is still the stored one. Most writes meet no competitor and cost a
 * read and a conditional write. A lost race with If-Match is a 412, as the client asked; without,
 * the change is made again on the task held for update, so concurrent writers queue rather than
 * fail, and no change is ever lost or refused.
 */
export class TaskUpdater {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  async apply(actor: Principal, id: number, change: Change, expected: ExpectedVersions): Promise<Task> {
    let attempt = await this.attempt(this.tasks, this.tasks.findById(actor.userId, id), actor, id, change, expected);
    if (attempt === 'lost') {
      if (expected !== undefined) return goneOrChanged(this.tasks, actor.userId, id);
      attempt = await this.applyHeld(actor, id, change);
    }
    if (attempt.written) await publishTaskEvent(this.events, { type: 'task.updated', userId: actor.userId, occurredAt: attempt.task.updatedAt, payload: { task: attempt.task } });
    return attempt.task;
  }

  /** The change made on the task held for update; only a store without row locks can still lose. */
  private async applyHeld(actor: Principal, id: number, change: Change): Promise<{ written: boolean; task: Task }> {
    for (;;) {
      const attempt = await this.transactions.run((scope) =>
        this.attempt(scope.tasks, scope.tasks.findForUpdate(actor.userId, id), actor, id, change, undefined),
      );
      if (attempt !== 'lost') return attempt;
    }
  }

  private async attempt(tasks: TaskRepository, read: Promise<Task | null>, actor: Principal, id: number, change: Change, expected: ExpectedVersions): Promise<Attempt> {
    const current = await read;
    if (!current) throw taskNotFound();
    checkVersion(expected, current.version);
    const next = reviseTask(current, change(current), this.clock.now());
    if (!next) return { written: false, task: current };
    const updated = await tasks.update(actor.userId, id, current.version, next);
    return updated ? { written: true, task: updated } : 'lost';
  }
}

/** PUT: every writable field; omitted optional ones return to their defaults. */
export class ReplaceTask {
  constructor(private readonly updater: TaskUpdater) {}

  execute(actor: Principal, id: number, input: TaskInput, expected?: ExpectedVersions): Promise<Task> {
    const fields = parseTaskInput(input);
    return this.updater.apply(actor, id, () => fields, expected);
  }
}

/** PATCH (JSON merge patch): only the fields given change; a patch that changes nothing keeps the version. */
export class PatchTask {
  constructor(private readonly updater: TaskUpdater) {}

  execute(actor: Principal, id: number, patch: TaskPatch, expected?: ExpectedVersions): Promise<Task> {
    return this.updater.apply(actor, id, (current) => applyTaskPatch(current, patch), expected);
  }
}
