import type { AttachmentCreation, AttachmentRepository, TaskRepository } from '../../../application/index.js';
import type { Attachment } from '../../../domain/index.js';

const copy = (entity: Attachment): Attachment => structuredClone(entity);

const byCreation = (a: Attachment, b: Attachment): number =>
  a.taskId - b.taskId || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Behaves like the SQL repository, its triggers included: whatever removes an attachment (delete,
 * or the cascades from tasks and users, which the composition root wires to `deleteAllOfTask`
 * and `deleteAllOf`) gives its bytes back and records its key as garbage due at once. Returns
 * copies, never live objects.
 */
export class InMemoryAttachmentRepository implements AttachmentRepository {
  private readonly stored = new Map<string, Attachment>();
  private readonly usageOf = new Map<number, number>();
  private readonly garbage = new Map<string, Date>();

  /** `tasks`: whose tasks exist, as the SQL foreign key knows. */
  constructor(
    private readonly tasks: Pick<TaskRepository, 'findById'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(entity: Attachment, quotaBytes: number): Promise<AttachmentCreation> {
    if (this.stored.has(entity.id)) throw new Error(`attachment ${entity.id} exists already`);
    if (!(await this.tasks.findById(entity.userId, entity.taskId))) return 'task-gone';
    const used = this.usageOf.get(entity.userId) ?? 0;
    if (used + entity.size > quotaBytes) return 'over-quota';
    this.usageOf.set(entity.userId, used + entity.size);
    this.stored.set(entity.id, copy(entity));
    return 'created';
  }

  async findById(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    const found = this.stored.get(id);
    return found && found.userId === userId && found.taskId === taskId ? copy(found) : null;
  }

  async listOfTask(userId: number, taskId: number): Promise<Attachment[]> {
    return this.listOfTasks(userId, [taskId]);
  }

  async listOfTasks(userId: number, taskIds: readonly number[]): Promise<Attachment[]> {
    const tasks = new Set(taskIds);
    return [...this.stored.values()].filter((entity) => entity.userId === userId && tasks.has(entity.taskId)).sort(byCreation).map(copy);
  }

  async delete(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    const found = this.stored.get(id);
    if (!found || found.userId !== userId || found.taskId !== taskId) return null;
    this.remove(found);
    return copy(found);
  }

  async usage(userId: number): Promise<number> {
    return this.usageOf.get(userId) ?? 0;
  }

  async recordGarbage(key: string, deleteAfter: Date): Promise<void> {
    this.garbage.set(key, new Date(deleteAfter));
  }

  async claimGarbage(key: string, now: Date): Promise<boolean> {
    const due = this.garbage.get(key);
    if (!due || due <= now) return false;
    return this.garbage.delete(key);
  }

  async dueGarbage(now: Date, limit: number): Promise<string[]> {
    return [...this.garbage]
      .filter(([, due]) => due <= now)
      .sort(([a, x], [b, y]) => x.getTime() - y.getTime() || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([key]) => key);
  }

  async forgetGarbage(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.garbage.delete(key);
  }

  /** As ON DELETE CASCADE from tasks. */
  deleteAllOfTask(userId: number, taskId: number): void {
    for (const entity of [...this.stored.values()]) if (entity.userId === userId && entity.taskId === taskId) this.remove(entity);
  }

  /** As ON DELETE CASCADE from users: their usage goes too. */
  deleteAllOf(userId: number): void {
    for (const entity of [...this.stored.values()]) if (entity.userId === userId) this.remove(entity);
    this.usageOf.delete(userId);
  }

  /**
   * For a unit of work's rollback: a function that puts back what is named (an attachment, a
   * user's usage, a garbage record) as it is now, absent included.
   */
  undoPoint(named: { id?: string; userId?: number; key?: string }): () => void {
    const restore = <K, V>(map: Map<K, V>, key: K | undefined): (() => void) => {
      if (key === undefined) return () => {};
      const had = map.has(key);
      const saved = map.get(key);
      return () => (had ? map.set(key, saved!) : map.delete(key));
    };
    const steps = [restore(this.stored, named.id), restore(this.usageOf, named.userId), restore(this.garbage, named.key)];
    return () => steps.forEach((step) => step());
  }

  /** What the SQL trigger does for a row that goes. */
  private remove(entity: Attachment): void {
    this.stored.delete(entity.id);
    const used = this.usageOf.get(entity.userId);
    if (used !== undefined) this.usageOf.set(entity.userId, used - entity.size);
    this.garbage.set(entity.storageKey, this.now());
  }
}
