import type { Task, TaskFields, TaskInput, TaskPatch } from '../../domain/index.js';
import { applyTaskPatch, parseTaskInput, reviseTask } from '../../domain/index.js';
import type { Clock, EventPublisher, Principal, TaskRepository, TransactionRunner } from '../ports/index.js';
import type { ReminderScheduler } from '../jobs/reminder-scheduler.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

type Change = (current: Task) => TaskFields;

/** A committed change: the task before and after it (the same task when nothing changed). */
interface Revision {
  before: Task;
  after: Task;
}

/**
 * Every change to a task: read, check the precondition, compute the next state, then write it
 * only if the version read is still the stored one, and publish it. Most writes meet no
 * competitor and cost a read and a conditional write. A lost race with If-Match is a 412, as the
 * client asked; without, the change is made again on the task held for update, in a unit of work
 * that publishes with it, so concurrent writers queue rather than fail, and no change is ever
 * lost or refused. Once the change has committed, the task's reminder follows its remind_at.
 */
export class TaskUpdater {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly transactions: TransactionRunner,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly reminders: ReminderScheduler,
  ) {}

  async apply(actor: Principal, id: number, change: Change, expected: ExpectedVersions): Promise<Task> {
    const { before, after } = await this.commit(actor, id, change, expected);
    await this.reminders.changed(before, after);
    return after;
  }

  private async commit(actor: Principal, id: number, change: Change, expected: ExpectedVersions): Promise<Revision> {
    const current = await this.tasks.findById(actor.userId, id);
    const next = this.revise(current, change, expected);
    if (!next) return { before: current!, after: current! };
    const written = await this.write(this.tasks, this.events, actor, current!, next);
    if (written) return { before: current!, after: written };
    if (expected !== undefined) return goneOrChanged(this.tasks, actor.userId, id);
    return this.commitHeld(actor, id, change);
  }

  /** The change made on the task held for update; only a store without row locks can still lose. */
  private async commitHeld(actor: Principal, id: number, change: Change): Promise<Revision> {
    for (;;) {
      const outcome = await this.transactions.run(async (scope): Promise<Revision | 'lost'> => {
        const current = await scope.tasks.findForUpdate(actor.userId, id);
        const next = this.revise(current, change, undefined);
        if (!next) return { before: current!, after: current! };
        const written = await this.write(scope.tasks, scope.events, actor, current!, next);
        return written ? { before: current!, after: written } : 'lost';
      });
      if (outcome !== 'lost') return outcome;
    }
  }

  /** The task's next state; null when the change changes nothing. */
  private revise(current: Task | null, change: Change, expected: ExpectedVersions): Task | null {
    if (!current) throw taskNotFound();
    checkVersion(expected, current.version);
    return reviseTask(current, change(current), this.clock.now());
  }

  /** Writes `next` if `current` is still the stored version, then publishes it; null when another writer got there first. */
  private async write(tasks: TaskRepository, events: EventPublisher, actor: Principal, current: Task, next: Task): Promise<Task | null> {
    const updated = await tasks.update(actor.userId, current.id, current.version, next);
    if (updated) await publishTaskEvent(events, { type: 'task.updated', userId: actor.userId, occurredAt: updated.updatedAt, payload: { task: updated } });
    return updated;
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
