import type { ExportOutcome, ExportRepository } from '../../../application/index.js';
import { isPendingExport, type Export } from '../../../domain/index.js';

interface StoredExport {
  entity: Export;
  fileRemovedAt: Date | null;
}

const copy = (entity: Export): Export => structuredClone(entity);

const finished = (entity: Export, outcome: ExportOutcome): Export =>
  outcome.status === 'succeeded'
    ? { ...entity, status: 'succeeded', completedAt: outcome.completedAt, expiresAt: outcome.expiresAt, size: outcome.size, error: null }
    : { ...entity, status: 'failed', completedAt: outcome.completedAt, expiresAt: null, size: null, error: outcome.error };

/** Behaves like the SQL repository, ownership and conditional updates included; returns copies, never live objects. */
export class InMemoryExportRepository implements ExportRepository {
  private readonly stored = new Map<string, StoredExport>();

  async create(entity: Export): Promise<void> {
    if (this.stored.has(entity.id)) throw new Error(`export ${entity.id} exists already`);
    this.stored.set(entity.id, { entity: copy(entity), fileRemovedAt: null });
  }

  async findById(userId: number, id: string): Promise<Export | null> {
    const found = this.owned(userId, id);
    return found ? copy(found.entity) : null;
  }

  async listOfUser(userId: number, limit: number): Promise<Export[]> {
    return [...this.stored.values()]
      .map(({ entity }) => entity)
      .filter((entity) => entity.userId === userId)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, limit)
      .map(copy);
  }

  async markRunning(userId: number, id: string): Promise<Export | null> {
    return this.updatePending(userId, id, (entity) => ({ ...entity, status: 'running' }));
  }

  async finish(userId: number, id: string, outcome: ExportOutcome): Promise<Export | null> {
    return this.updatePending(userId, id, (entity) => finished(entity, outcome));
  }

  async expiredWithFiles(now: Date, limit: number): Promise<Export[]> {
    return [...this.stored.values()]
      .filter(({ entity, fileRemovedAt }) => entity.status === 'succeeded' && entity.expiresAt! <= now && fileRemovedAt === null)
      .map(({ entity }) => entity)
      .sort((a, b) => a.expiresAt!.getTime() - b.expiresAt!.getTime())
      .slice(0, limit)
      .map(copy);
  }

  async markFileRemoved(id: string, at: Date): Promise<void> {
    const found = this.stored.get(id);
    if (found && found.fileRemovedAt === null) found.fileRemovedAt = new Date(at);
  }

  async deleteFinishedBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (const [id, { entity, fileRemovedAt }] of this.stored) {
      const expired = entity.status === 'succeeded' && entity.expiresAt! < cutoff && fileRemovedAt !== null;
      const failed = entity.status === 'failed' && entity.completedAt! < cutoff;
      if (expired || failed) deleted += Number(this.stored.delete(id));
    }
    return deleted;
  }

  async queuedBefore(cutoff: Date, limit: number): Promise<Export[]> {
    return [...this.stored.values()]
      .map(({ entity }) => entity)
      .filter((entity) => entity.status === 'queued' && entity.createdAt < cutoff)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map(copy);
  }

  /** As ON DELETE CASCADE from users. */
  deleteAllOf(userId: number): void {
    for (const [id, { entity }] of this.stored) if (entity.userId === userId) this.stored.delete(id);
  }

  /**
   * For a unit of work's rollback: a function that puts back the export with this id as it is now
   * (removing it if it does not exist yet), or every export when no id is given.
   */
  undoPoint(id?: string): () => void {
    const saved = new Map<string, StoredExport>();
    for (const [key, value] of id === undefined ? this.stored : [[id, this.stored.get(id)] as const]) {
      if (value) saved.set(key, { entity: copy(value.entity), fileRemovedAt: value.fileRemovedAt });
    }
    return () => {
      if (id === undefined) this.stored.clear();
      else this.stored.delete(id);
      for (const [key, value] of saved) this.stored.set(key, value);
    };
  }

  private owned(userId: number, id: string): StoredExport | undefined {
    const found = this.stored.get(id);
    return found && found.entity.userId === userId ? found : undefined;
  }

  private updatePending(userId: number, id: string, change: (entity: Export) => Export): Export | null {
    const found = this.owned(userId, id);
    if (!found || !isPendingExport(found.entity)) return null;
    found.entity = change(found.entity);
    return copy(found.entity);
  }
}
