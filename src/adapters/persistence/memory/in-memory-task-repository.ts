import type { DueReminder, NewTask, SortPosition, TaskFilter, TaskPageQuery, TaskRepository, TaskSort } from '../../../application/index.js';
import { sortPositionOf } from '../../../application/index.js';
import { sameInstant, titleKey, type Task } from '../../../domain/index.js';

const copy = (task: Task): Task => ({
  ...task,
  tags: [...task.tags],
  dueDate: task.dueDate && new Date(task.dueDate),
  remindAt: task.remindAt && new Date(task.remindAt),
  completedAt: task.completedAt && new Date(task.completedAt),
  createdAt: new Date(task.createdAt),
  updatedAt: new Date(task.updatedAt),
});

/** Code point order, as SQLite's BINARY and PostgreSQL's "C" collation compare UTF-8 text. */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate encodes a code point above U+FFFF, above every unit that is not one.
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Compares positions under a sort, nulls (no due date) last in both directions. */
function comparePositions(a: SortPosition, b: SortPosition, sort: TaskSort): number {
  if (a.value === null || b.value === null) {
    if (a.value !== b.value) return a.value === null ? 1 : -1;
  } else if (a.value !== b.value) {
    const order = typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : compareCodePoints(String(a.value), String(b.value));
    return sort.descending ? -order : order;
  }
  return sort.descending ? b.id - a.id : a.id - b.id;
}

function matches(task: Task, filter: TaskFilter): boolean {
  if (filter.statuses && !filter.statuses.includes(task.status)) return false;
  if (filter.priorities && !filter.priorities.includes(task.priority)) return false;
  if (filter.tags && !filter.tags.every((tag) => task.tags.includes(tag))) return false;
  if (filter.q !== undefined && !titleKey(task.title).includes(filter.q)) return false;
  if (filter.dueBefore && !(task.dueDate && task.dueDate < filter.dueBefore)) return false;
  if (filter.dueAfter && !(task.dueDate && task.dueDate >= filter.dueAfter)) return false;
  return true;
}

/** Behaves like the SQL repository, ownership and ordering included; returns copies, never live objects. */
export class InMemoryTaskRepository implements TaskRepository {
  private readonly tasks = new Map<number, Task>();
  /** The remind_at each task's reminder last fired for (reminder_fired_for in SQL). */
  private readonly firedFor = new Map<number, number>();
  private lastId = 0;
  /** Told of every task deleted, as ON DELETE CASCADE from tasks (attachments). */
  readonly onDelete: Array<(userId: number, taskId: number) => void> = [];

  async create(task: NewTask): Promise<Task> {
    const created = copy({ ...task, id: ++this.lastId });
    this.tasks.set(created.id, created);
    return copy(created);
  }

  async findById(userId: number, id: number): Promise<Task | null> {
    const task = this.tasks.get(id);
    return task && task.userId === userId ? copy(task) : null;
  }

  async findByIds(userId: number, ids: readonly number[]): Promise<Task[]> {
    const found: Task[] = [];
    for (const id of new Set(ids)) {
      const task = this.tasks.get(id);
      if (task && task.userId === userId) found.push(copy(task));
    }
    return found;
  }

  findForUpdate(userId: number, id: number): Promise<Task | null> {
    return this.findById(userId, id);
  }

  async update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    const task = this.tasks.get(id);
    if (!task || task.userId !== userId || task.version !== expectedVersion) return null;
    const updated = copy({ ...next, id, userId, createdAt: task.createdAt });
    this.tasks.set(id, updated);
    if (!sameInstant(task.remindAt, updated.remindAt)) this.firedFor.delete(id);
    return copy(updated);
  }

  async delete(userId: number, id: number, expectedVersion?: number): Promise<boolean> {
    const task = this.tasks.get(id);
    if (!task || task.userId !== userId || (expectedVersion !== undefined && task.version !== expectedVersion)) return false;
    this.firedFor.delete(id);
    this.tasks.delete(id);
    for (const listener of this.onDelete) listener(userId, id);
    return true;
  }

  async claimReminder(userId: number, id: number, remindAt: Date): Promise<Task | null> {
    const task = this.tasks.get(id);
    if (!task || task.userId !== userId || !this.isPending(task) || !sameInstant(task.remindAt, remindAt)) return null;
    this.firedFor.set(id, remindAt.getTime());
    return copy(task);
  }

  async findDueReminders(now: Date, limit: number): Promise<DueReminder[]> {
    return [...this.tasks.values()]
      .filter((task) => this.isPending(task) && task.remindAt! <= now)
      .sort((a, b) => a.remindAt!.getTime() - b.remindAt!.getTime() || a.id - b.id)
      .slice(0, limit)
      .map((task) => ({ userId: task.userId, taskId: task.id, remindAt: new Date(task.remindAt!) }));
  }

  async findPage(userId: number, query: TaskPageQuery): Promise<Task[]> {
    const { sort, after } = query;
    const sorted = [...this.tasks.values()]
      .filter((task) => task.userId === userId && matches(task, query.filter))
      .map((task) => ({ task, position: sortPositionOf(task, sort.key) }))
      .sort((a, b) => comparePositions(a.position, b.position, sort));
    const remaining = after ? sorted.filter(({ position }) => comparePositions(position, after, sort) > 0) : sorted.slice(query.offset ?? 0);
    return remaining.slice(0, query.limit).map(({ task }) => copy(task));
  }

  async count(userId: number, filter: TaskFilter): Promise<number> {
    return [...this.tasks.values()].filter((task) => task.userId === userId && matches(task, filter)).length;
  }

  /** Stands in for ON DELETE CASCADE from users. */
  deleteAllOf(userId: number): void {
    for (const [id, task] of this.tasks) {
      if (task.userId !== userId) continue;
      this.tasks.delete(id);
      this.firedFor.delete(id);
    }
  }

  /**
   * For InMemoryTransactionRunner's rollback: a function that puts task `id` back as it is now,
   * absent included, its reminder's state too. Stored tasks are replaced on change, never
   * altered, so keeping one keeps it.
   */
  undoPoint(id: number): () => void {
    const saved = this.tasks.get(id);
    const firedFor = this.firedFor.get(id);
    return () => {
      if (saved) this.tasks.set(id, saved);
      else this.tasks.delete(id);
      if (firedFor === undefined) this.firedFor.delete(id);
      else this.firedFor.set(id, firedFor);
    };
  }

  private isPending(task: Task): boolean {
    return task.remindAt !== null && this.firedFor.get(task.id) !== task.remindAt.getTime();
  }
}
