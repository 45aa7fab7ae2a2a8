import { describe, expect, it } from 'vitest';
import type { TaskRepository } from '../../../src/application/index.js';
import { CachingTaskRepository } from '../../../src/adapters/caching/caching-task-repository.js';
import { TaskCache } from '../../../src/adapters/caching/task-cache.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import type { Task } from '../../../src/domain/index.js';
import { aNewTask, aTask } from '../../support/task-builders.js';

function cacheAt(options: { ttlMs?: number; maxEntries?: number; maxTextLength?: number } = {}) {
  let now = 0;
  const cache = new TaskCache({ ttlMs: options.ttlMs ?? 1_000, maxEntries: options.maxEntries ?? 100, maxTextLength: options.maxTextLength ?? 1_000, now: () => now });
  return { cache, advance: (ms: number) => (now += ms) };
}

describe('TaskCache', () => {
  it("answers a remembered task to its owner only, until its TTL", () => {
    const { cache, advance } = cacheAt();
    const task = aTask({ userId: 7 });
    cache.remember(task);
    expect(cache.lookup(7, task.id)).toBe(task);
    expect(cache.lookup(8, task.id)).toBeUndefined();
    advance(999);
    expect(cache.lookup(7, task.id)).toBe(task);
    advance(1);
    expect(cache.lookup(7, task.id)).toBeUndefined();
  });

  it('never takes an older version over a newer one', () => {
    const { cache } = cacheAt();
    const v2 = aTask({ version: 2, title: 'second' });
    cache.remember(v2);
    cache.remember({ ...v2, version: 1, title: 'first' });
    expect(cache.lookup(v2.userId, v2.id)).toBe(v2);
    const v3 = { ...v2, version: 3, title: 'third' };
    cache.remember(v3);
    expect(cache.lookup(v2.userId, v2.id)).toBe(v3);
  });

  it('keeps a deleted task deleted, whatever a late read brings', () => {
    const { cache } = cacheAt();
    const task = aTask();
    cache.remember(task);
    cache.deleted(task.id);
    cache.remember({ ...task, version: task.version + 5 });
    expect(cache.lookup(task.userId, task.id)).toBeUndefined();
    cache.forget(task.id); // a write that raced the deletion and missed
    cache.remember(task);
    expect(cache.lookup(task.userId, task.id)).toBeUndefined();
  });

  it("forgets every task of a deleted user, and only theirs", () => {
    const { cache } = cacheAt();
    const [mine, other] = [aTask({ userId: 1 }), aTask({ userId: 2 })];
    cache.remember(mine);
    cache.remember(other);
    cache.forgetUser(1);
    expect(cache.lookup(1, mine.id)).toBeUndefined();
    expect(cache.lookup(2, other.id)).toBe(other);
  });

  it('keeps no task whose text is longer than maxTextLength, nor an earlier state of it', () => {
    const { cache } = cacheAt({ maxTextLength: 20 });
    const short = aTask({ title: 'short', description: '', tags: ['a', 'b'] });
    cache.remember(short);
    expect(cache.lookup(short.userId, short.id)).toBe(short);
    cache.remember({ ...short, version: 2, description: 'x'.repeat(13) }); // 5 + 13 + 2 characters: 20
    expect(cache.lookup(short.userId, short.id)).toMatchObject({ version: 2 });
    cache.remember({ ...short, version: 3, tags: ['a', 'bc'], description: 'x'.repeat(13) }); // 21
    expect(cache.lookup(short.userId, short.id)).toBeUndefined();
  });

  it('forgets a task on request, and holds at most maxEntries', () => {
    const { cache } = cacheAt({ maxEntries: 2 });
    const [a, b, c] = [aTask(), aTask(), aTask()];
    for (const task of [a, b, c]) cache.remember(task);
    expect(cache.lookup(a.userId, a.id)).toBeUndefined();
    cache.forget(b.id);
    expect(cache.lookup(b.userId, b.id)).toBeUndefined();
    expect(cache.lookup(c.userId, c.id)).toBe(c);
  });
});

/** Counts the reads that reach the store, and can hold one back until the test lets it answer. */
class CountingTasks extends InMemoryTaskRepository {
  reads = 0;
  private hold: Promise<void> | null = null;
  private release: (() => void) | null = null;

  holdNextRead(): () => void {
    this.hold = new Promise((resolve) => (this.release = resolve));
    return () => this.release!();
  }

  override async findById(userId: number, id: number): Promise<Task | null> {
    this.reads++;
    const found = await super.findById(userId, id); // read now…
    const hold = this.hold;
    this.hold = null;
    if (hold) await hold; // …answered later
    return found;
  }
}

function cachedStore() {
  const inner = new CountingTasks();
  const tasks: TaskRepository = new CachingTaskRepository(inner, cacheAt().cache);
  return { inner, tasks };
}

describe('CachingTaskRepository', () => {
  it('answers a task it created or updated without asking the store, and a stranger never', async () => {
    const { inner, tasks } = cachedStore();
    const created = await tasks.create(aNewTask(1));
    expect(await tasks.findById(1, created.id)).toEqual(created);
    const updated = await tasks.update(1, created.id, 1, { ...created, title: 'new', version: 2 });
    expect(await tasks.findById(1, created.id)).toEqual(updated);
    expect(inner.reads).toBe(0);
    expect(await tasks.findById(2, created.id)).toBeNull();
    expect(inner.reads).toBe(1);
  });

  it('asks the store again after a write that missed its version', async () => {
    const { inner, tasks } = cachedStore();
    const created = await tasks.create(aNewTask(1));
    // Changed behind the cache's back: the cached version 1 is stale.
    await inner.update(1, created.id, 1, { ...created, title: 'elsewhere', version: 2 });
    expect(await tasks.update(1, created.id, 1, { ...created, title: 'mine', version: 2 })).toBeNull();
    expect(await tasks.findById(1, created.id)).toMatchObject({ title: 'elsewhere', version: 2 });
    expect(inner.reads).toBe(1);
  });

  it('does not bring a deleted task back from a read that began before the deletion', async () => {
    const { inner, tasks } = cachedStore();
    const created = await inner.create(aNewTask(1));
    const release = inner.holdNextRead();
    const lateRead = tasks.findById(1, created.id);
    expect(await tasks.delete(1, created.id)).toBe(true);
    release();
    expect(await lateRead).toEqual(created); // it was read before the delete
    expect(await tasks.findById(1, created.id)).toBeNull();
  });

  it('asks the store again after a delete that deleted nothing', async () => {
    const { inner, tasks } = cachedStore();
    const created = await tasks.create(aNewTask(1));
    await inner.update(1, created.id, 1, { ...created, version: 2 });
    expect(await tasks.delete(1, created.id, 1)).toBe(false);
    expect(await tasks.findById(1, created.id)).toMatchObject({ version: 2 });
    expect(inner.reads).toBe(1);
  });

  it('forgets a task whose write failed: it may or may not have committed', async () => {
    const { inner, tasks } = cachedStore();
    const created = await tasks.create(aNewTask(1));
    inner.update = async () => {
      throw new Error('connection lost');
    };
    await expect(tasks.update(1, created.id, 1, { ...created, version: 2 })).rejects.toThrow('connection lost');
    await tasks.findById(1, created.id);
    expect(inner.reads).toBe(1);
  });
});
