import type { Task } from '../../domain/index.js';
import { ValidationError } from '../../domain/index.js';
import type { CursorCodec, Principal, SortPosition, TaskRepository } from '../ports/index.js';
import {
  DEFAULT_TASK_SORT,
  cursorFor,
  invalidCursor,
  normalizeParameters,
  readCursor,
  toFilter,
  toSort,
  type ListCriteria,
  type ListParameters,
} from './task-listing.js';

export const MAX_PAGE_SIZE = 100;

export interface ListTasksQuery extends ListParameters {
  limit: number;
  offset?: number;
  /** From a previous page's next_cursor; carries that page's sort and filters. */
  cursor?: string;
}

export interface TaskListPage {
  items: Task[];
  /** Tasks matching the filters, on every page. */
  total: number;
  limit: number;
  /** Null when the page was addressed by a cursor. */
  offset: number | null;
  nextCursor: string | null;
}

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class ListTasks {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly cursors: CursorCodec,
  ) {}

  async execute(actor: Principal, query: ListTasksQuery): Promise<TaskListPage> {
    const { limit, offset } = this.checkPaging(query);
    const requested = normalizeParameters(query);
    let criteria: ListCriteria = { sort: DEFAULT_TASK_SORT, ...requested };
    let after: SortPosition | undefined;
    if (query.cursor !== undefined) ({ criteria, after } = this.resume(actor, query.cursor, requested));

    const sort = toSort(criteria.sort);
    const filter = toFilter(criteria);
    const [rows, total] = await Promise.all([
      this.tasks.findPage(actor.userId, { filter, sort, limit: limit + 1, after, offset: after ? undefined : offset }),
      this.tasks.count(actor.userId, filter),
    ]);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > limit && last ? this.cursors.encode(cursorFor(actor.userId, criteria, last)) : null;
    return { items, total, limit, offset: after ? null : offset, nextCursor };
  }

  private checkPaging(query: ListTasksQuery): { limit: number; offset: number } {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_PAGE_SIZE) {
      throw ValidationError.field('limit', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    const offset = query.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) throw ValidationError.field('offset', 'must be an integer of at least 0');
    if (query.cursor !== undefined && offset !== 0) throw ValidationError.field('offset', 'cannot be combined with cursor');
    return { limit: query.limit, offset };
  }

  /** A cursor continues its own listing: repeated parameters must match it, missing ones come from it. */
  private resume(actor: Principal, token: string, requested: Partial<ListCriteria>): { criteria: ListCriteria; after: SortPosition } {
    const payload = this.cursors.decode(token);
    if (payload === null) throw invalidCursor('is not a cursor issued by this service, or was altered');
    const cursor = readCursor(payload);
    if (cursor.userId !== actor.userId) throw invalidCursor('was issued to another user');
    for (const [key, value] of Object.entries(requested)) {
      if (!sameValue(value, cursor.criteria[key as keyof ListCriteria])) {
        throw invalidCursor(`was made for a different ${key === 'sort' ? 'sort' : `"${key}" filter`}; start again without it`);
      }
    }
    return { criteria: cursor.criteria, after: cursor.after };
  }
}
