import type { Task, TaskFields, TaskInput, TaskPatch } from '../../domain/index.js';
import { applyTaskPatch, parseTaskInput, reviseTask } from '../../domain/index.js';
import type { Clock, EventPublisher, Principal, TaskRepository } from '../ports/index.js';
import { checkVersion, goneOrChanged, taskNotFound, type ExpectedVersions } from './task-access.js';
import { publishTaskEvent } from './task-events.js';

/** Unconditional writes retry a lost race this many times before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Every change to a task: read, check the precondition, compute the next state, then write it
 * only if the version read is still the stored one. A lost race with If-Match is a 412; without,
 * the change is recomputed on the fresh state, so no update is ever silently lost.
 */
export class TaskUpdater {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  async apply(actor: Principal, id: number, change: (current: Task) => TaskFields, expected: ExpectedVersions): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.tasks.findById(actor.userId, id);
      if (!current) throw taskNotFound();
      checkVersion(expected, current.version);
      const now = this.clock.now();
      const next = reviseTask(current, change(current), now);
      if (!next) return current;
      const updated = await this.tasks.update(actor.userId, id, current.version, next);
      if (updated) {
        await publishTaskEvent(this.events, { type: 'task.updated', userId: actor.userId, occurredAt: now, payload: { task: updated } });
        return updated;
      }
      if (expected !== undefined || attempt >= MAX_ATTEMPTS) await goneOrChanged(this.tasks, actor.userId, id);
    }
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
