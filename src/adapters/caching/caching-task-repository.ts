import type { NewTask, TaskFilter, TaskPageQuery, TaskRepository } from '../../application/index.js';
import type { Task } from '../../domain/index.js';
import type { TaskCache } from './task-cache.js';

/**
 * Answers a task by id from the cache when it can, and keeps the cache true to every change this
 * process makes: a write that committed is remembered, one that missed its version — or whose
 * outcome is unknown, having failed — is forgotten, so the next read asks the database. A user's
 * deletion, which takes their tasks with it, is forgotten by UserChangesForgetCached.
 */
export class CachingTaskRepository implements TaskRepository {
  constructor(
    private readonly inner: TaskRepository,
    private readonly cache: TaskCache,
  ) {}

  async create(task: NewTask): Promise<Task> {
    const created = await this.inner.create(task);
    this.cache.remember(created);
    return created;
  }

  async findById(userId: number, id: number): Promise<Task | null> {
    const cached = this.cache.lookup(userId, id);
    if (cached) return cached;
    const task = await this.inner.findById(userId, id);
    if (task) this.cache.remember(task);
    return task;
  }

  async update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    let updated: Task | null = null;
    try {
      updated = await this.inner.update(userId, id, expectedVersion, next);
      return updated;
    } finally {
      if (updated) this.cache.remember(updated);
      else this.cache.forget(id);
    }
  }

  async delete(userId: number, id: number, expectedVersion?: number): Promise<boolean> {
    let deleted = false;
    try {
      deleted = await this.inner.delete(userId, id, expectedVersion);
      return deleted;
    } finally {
      if (deleted) this.cache.deleted(id);
      else this.cache.forget(id);
    }
  }

  findPage(userId: number, query: TaskPageQuery): Promise<Task[]> {
    return this.inner.findPage(userId, query);
  }

  count(userId: number, filter: TaskFilter): Promise<number> {
    return this.inner.count(userId, filter);
  }
}
