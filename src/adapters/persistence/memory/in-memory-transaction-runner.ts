import type {
  AttachmentCreation,
  AttachmentRepository,
  ChangeNotifier,
  ClaimOutcome,
  DomainEvent,
  DueReminder,
  EventPublisher,
  ExportOutcome,
  ExportRepository,
  IdempotencyClaim,
  IdempotencyKeys,
  NewTask,
  TaskFilter,
  TaskPageQuery,
  TaskRepository,
  TransactionRunner,
  TransactionScope,
} from '../../../application/index.js';
import type { Attachment, Export, Task } from '../../../domain/index.js';
import { InMemoryAttachmentRepository } from './in-memory-attachment-repository.js';
import { InMemoryChangeLog } from './in-memory-change-log.js';
import { InMemoryExportRepository } from './in-memory-export-repository.js';
import type { InMemoryIdempotencyStore } from './in-memory-idempotency-store.js';
import type { InMemoryTaskRepository } from './in-memory-task-repository.js';

type Undo = Array<() => void>;

/**
 * Runs a write and, when `wrote` says it changed something, notes `undoPoint` (taken before the
 * write began) so that a rollback puts back what was there.
 */
async function journaled<R>(undo: Undo, undoPoint: () => void, write: Promise<R>, wrote: (result: R) => boolean): Promise<R> {
  const result = await write;
  if (wrote(result)) undo.push(undoPoint);
  return result;
}

/** Tasks held for update, as row locks: each id's holder, and how the next one waits for it. */
class TaskLocks {
  private readonly held = new Map<number, Promise<void>>();

  /** Resolves once this unit holds the task; `release` lets the next one in. */
  async hold(id: number, releases: Array<() => void>): Promise<void> {
    const previous = this.held.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    this.held.set(id, chained);
    releases.push(() => {
      release();
      if (this.held.get(id) === chained) this.held.delete(id);
    });
    await previous;
  }
}

/** The tasks as a unit of work sees them: every write notes how to undo itself. */
class JournaledTasks implements TaskRepository {
  constructor(
    private readonly store: InMemoryTaskRepository,
    private readonly undo: Undo,
    private readonly locks: TaskLocks,
    private readonly releases: Array<() => void>,
  ) {}

  async create(task: NewTask): Promise<Task> {
    const created = await this.store.create(task);
    this.undo.push(() => void this.store.delete(created.userId, created.id));
    return created;
  }

  findById(userId: number, id: number): Promise<Task | null> {
    return this.store.findById(userId, id);
  }

  findByIds(userId: number, ids: readonly number[]): Promise<Task[]> {
    return this.store.findByIds(userId, ids);
  }

  async findForUpdate(userId: number, id: number): Promise<Task | null> {
    await this.locks.hold(id, this.releases);
    return this.store.findById(userId, id);
  }

  update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.update(userId, id, expectedVersion, next), (updated) => updated !== null);
  }

  delete(userId: number, id: number, expectedVersion?: number): Promise<boolean> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.delete(userId, id, expectedVersion), (deleted) => deleted);
  }

  findPage(userId: number, query: TaskPageQuery): Promise<Task[]> {
    return this.store.findPage(userId, query);
  }

  count(userId: number, filter: TaskFilter): Promise<number> {
    return this.store.count(userId, filter);
  }

  claimReminder(userId: number, id: number, remindAt: Date): Promise<Task | null> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.claimReminder(userId, id, remindAt), (claimed) => claimed !== null);
  }

  findDueReminders(now: Date, limit: number): Promise<DueReminder[]> {
    return this.store.findDueReminders(now, limit);
  }
}

/** The Idempotency-Key store as a unit of work sees it: every write notes how to undo itself. */
class JournaledKeys implements IdempotencyKeys {
  constructor(
    private readonly store: InMemoryIdempotencyStore,
    private readonly undo: Undo,
  ) {}

  claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    return journaled(this.undo, this.store.undoPoint(claim.userId, claim.key), this.store.claim(claim), (outcome) => outcome.kind === 'claimed');
  }

  complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void> {
    return journaled(this.undo, this.store.undoPoint(userId, key), this.store.complete(userId, key, token, created), () => true);
  }

  release(userId: number, key: string, token: string): Promise<void> {
    return journaled(this.undo, this.store.undoPoint(userId, key), this.store.release(userId, key, token), () => true);
  }
}

/** The exports as a unit of work sees them: every write notes how to undo itself. */
class JournaledExports implements ExportRepository {
  constructor(
    private readonly store: InMemoryExportRepository,
    private readonly undo: Undo,
  ) {}

  create(entity: Export): Promise<void> {
    return journaled(this.undo, this.store.undoPoint(entity.id), this.store.create(entity), () => true);
  }

  findById(userId: number, id: string): Promise<Export | null> {
    return this.store.findById(userId, id);
  }

  listOfUser(userId: number, limit: number): Promise<Export[]> {
    return this.store.listOfUser(userId, limit);
  }

  markRunning(userId: number, id: string): Promise<Export | null> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.markRunning(userId, id), (updated) => updated !== null);
  }

  finish(userId: number, id: string, outcome: ExportOutcome): Promise<Export | null> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.finish(userId, id, outcome), (updated) => updated !== null);
  }

  expiredWithFiles(now: Date, limit: number): Promise<Export[]> {
    return this.store.expiredWithFiles(now, limit);
  }

  markFileRemoved(id: string, at: Date): Promise<void> {
    return journaled(this.undo, this.store.undoPoint(id), this.store.markFileRemoved(id, at), () => true);
  }

  deleteFinishedBefore(cutoff: Date): Promise<number> {
    return journaled(this.undo, this.store.undoPoint(), this.store.deleteFinishedBefore(cutoff), (deleted) => deleted > 0);
  }

  queuedBefore(cutoff: Date, limit: number): Promise<Export[]> {
    return this.store.queuedBefore(cutoff, limit);
  }
}

/** The attachments as a unit of work sees them: every write notes how to undo itself. */
class JournaledAttachments implements AttachmentRepository {
  constructor(
    private readonly store: InMemoryAttachmentRepository,
    private readonly undo: Undo,
  ) {}

  create(entity: Attachment, quotaBytes: number): Promise<AttachmentCreation> {
    const undoPoint = this.store.undoPoint({ id: entity.id, userId: entity.userId });
    return journaled(this.undo, undoPoint, this.store.create(entity, quotaBytes), (outcome) => outcome === 'created');
  }

  findById(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    return this.store.findById(userId, taskId, id);
  }

  listOfTask(userId: number, taskId: number): Promise<Attachment[]> {
    return this.store.listOfTask(userId, taskId);
  }

  listOfTasks(userId: number, taskIds: readonly number[]): Promise<Attachment[]> {
    return this.store.listOfTasks(userId, taskIds);
  }

  async delete(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    const found = await this.store.findById(userId, taskId, id);
    if (!found) return null;
    const undoPoint = this.store.undoPoint({ id, userId, key: found.storageKey });
    return journaled(this.undo, undoPoint, this.store.delete(userId, taskId, id), (deleted) => deleted !== null);
  }

  usage(userId: number): Promise<number> {
    return this.store.usage(userId);
  }

  recordGarbage(key: string, deleteAfter: Date): Promise<void> {
    return journaled(this.undo, this.store.undoPoint({ key }), this.store.recordGarbage(key, deleteAfter), () => true);
  }

  claimGarbage(key: string, now: Date): Promise<boolean> {
    return journaled(this.undo, this.store.undoPoint({ key }), this.store.claimGarbage(key, now), (claimed) => claimed);
  }

  dueGarbage(now: Date, limit: number): Promise<string[]> {
    return this.store.dueGarbage(now, limit);
  }

  async forgetGarbage(keys: readonly string[]): Promise<void> {
    for (const key of keys) await journaled(this.undo, this.store.undoPoint({ key }), this.store.forgetGarbage([key]), () => true);
  }
}

/**
 * The change log as a unit of work sees it: what it publishes is held back and appended when the
 * unit commits. Appended at once, an event would be read by a live stream before its unit
 * rolled back, and taking it back afterwards would hand its position to the next event — which
 * that stream, already past it, would then never get.
 */
class PendingEvents implements EventPublisher {
  private readonly pending: DomainEvent[] = [];

  async publish(event: DomainEvent): Promise<void> {
    this.pending.push(structuredClone(event));
  }

  /** Appends them, in publication order; returns whose logs grew. */
  commitTo(log: InMemoryChangeLog): number[] {
    const users = new Set<number>();
    for (const event of this.pending.splice(0)) users.add(log.append(event).userId);
    return [...users];
  }
}

/**
 * A unit of work on the in-memory stores: what it wrote is undone, newest first, when it
 * throws, as a rolled-back SQL transaction leaves nothing behind, and a task it read for update
 * waits for the unit that holds it, as a row lock does. Other work sees its writes before it
 * ends (no isolation): enough for tests and demos, where the SQL runner's contract tests prove
 * the isolation.
 */
export class InMemoryTransactionRunner implements TransactionRunner {
  private readonly locks = new TaskLocks();

  constructor(
    private readonly tasks: InMemoryTaskRepository,
    private readonly idempotency: InMemoryIdempotencyStore,
    private readonly changes: InMemoryChangeLog = new InMemoryChangeLog(),
    private readonly notifier?: ChangeNotifier,
    private readonly exports: InMemoryExportRepository = new InMemoryExportRepository(),
    private readonly attachments: InMemoryAttachmentRepository = new InMemoryAttachmentRepository(tasks),
  ) {}

  async run<T>(work: (scope: TransactionScope) => Promise<T>): Promise<T> {
    const undo: Undo = [];
    const releases: Array<() => void> = [];
    const events = new PendingEvents();
    try {
      const result = await work({
        tasks: new JournaledTasks(this.tasks, undo, this.locks, releases),
        idempotency: new JournaledKeys(this.idempotency, undo),
        exports: new JournaledExports(this.exports, undo),
        attachments: new JournaledAttachments(this.attachments, undo),
        events,
      });
      const users = events.commitTo(this.changes);
      if (users.length > 0) this.notifier?.notify(users);
      return result;
    } catch (error) {
      for (const step of undo.reverse()) step();
      throw error;
    } finally {
      for (const release of releases) release();
    }
  }
}
