import type { TaskRepository, TaskSnapshots } from '../../../application/index.js';
import type { Task } from '../../../domain/index.js';

/**
 * The in-memory tasks as of the first read: they are in memory already, so copying the user's
 * tasks then is what fixes the moment. Oldest first, as the SQL snapshot reads them.
 */
export class InMemoryTaskSnapshots implements TaskSnapshots {
  constructor(private readonly tasks: TaskRepository) {}

  async *eachPage(userId: number, pageSize: number): AsyncIterable<Task[]> {
    const all = await this.tasks.findPage(userId, { filter: {}, sort: { key: 'created_at', descending: false }, limit: Number.MAX_SAFE_INTEGER });
    for (let start = 0; start < all.length; start += pageSize) yield all.slice(start, start + pageSize);
  }
}
