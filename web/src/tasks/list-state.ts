import type { Priority, Sort, Status, Task, TaskPage } from '../api/types';

/** What the list shows: the filters and sort the server applies, as the page asks for them. */
export interface ListQuery {
  status: Status | null;
  tag: string | null;
  q: string;
  sort: Sort;
}

export const DEFAULT_QUERY: ListQuery = { status: null, tag: null, q: '', sort: '-created_at' };

/**
 * The tasks loaded so far for one query, in the server's order, with what live events changed
 * since. Pages and events may arrive in either order: a task's higher version always wins and a
 * deleted task never comes back, so applying them is idempotent and order-proof.
 */
export interface ListState {
  query: ListQuery;
  items: Task[];
  total: number | null;
  nextCursor: string | null;
  /** False until the first page of this query arrived. */
  loaded: boolean;
  deleted: ReadonlySet<number>;
}

export const emptyList = (query: ListQuery): ListState => ({ query, items: [], total: null, nextCursor: null, loaded: false, deleted: new Set() });

const PRIORITY_RANK: Record<Priority, number> = { low: 0, medium: 1, high: 2, urgent: 3 };

/** The server's filter (GET /tasks with status, tag and q), for tasks that arrive by event. */
export function matches(task: Task, query: ListQuery): boolean {
  if (query.status !== null && task.status !== query.status) return false;
  if (query.tag !== null && !task.tags.includes(query.tag)) return false;
  if (query.q.trim() !== '' && !task.title.toLowerCase().includes(query.q.trim().toLowerCase())) return false;
  return true;
}

/** The server's order: the sort key, ties by id in the same direction, no due date last either way. */
export function compare(a: Task, b: Task, sort: Sort): number {
  const descending = sort.startsWith('-');
  const key = (descending ? sort.slice(1) : sort) as 'created_at' | 'updated_at' | 'due_date' | 'priority' | 'title';
  if (key === 'due_date' && (a.due_date === null) !== (b.due_date === null)) return a.due_date === null ? 1 : -1;
  const value = (task: Task): string | number => {
    if (key === 'priority') return PRIORITY_RANK[task.priority];
    if (key === 'title') return task.title.toLowerCase();
    return task[key] ?? '';
  };
  const [x, y] = [value(a), value(b)];
  const order = x < y ? -1 : x > y ? 1 : a.id - b.id;
  return descending ? -order : order;
}

const newer = (incoming: Task, current: Task | undefined): boolean => current === undefined || incoming.version >= current.version;

/** A page from GET /tasks: the first replaces the list, the next ones extend it. */
export function withPage(state: ListState, page: TaskPage, first: boolean): ListState {
  const known = new Map(state.items.map((task) => [task.id, task]));
  const fromPage = page.items.filter((task) => !state.deleted.has(task.id)).map((task) => (newer(task, known.get(task.id)) ? task : known.get(task.id)!));
  const pageIds = new Set(fromPage.map((task) => task.id));
  // Tasks that events put in place before this page came keep their place if the page lacks them.
  const kept = first ? state.items.filter((task) => !pageIds.has(task.id) && matches(task, state.query)) : state.items.filter((task) => !pageIds.has(task.id));
  const items = [...kept, ...fromPage].sort((a, b) => compare(a, b, state.query.sort));
  return { ...state, items, total: page.total, nextCursor: page.next_cursor, loaded: true };
}

/** A task created or changed elsewhere (or by this page): in its place if it belongs to what is loaded. */
export function withTask(state: ListState, task: Task, created = false): ListState {
  const current = state.items.find((item) => item.id === task.id);
  if (state.deleted.has(task.id) || !newer(task, current)) return state;
  const others = state.items.filter((item) => item.id !== task.id);
  const last = others.at(-1);
  // Past the last loaded task, a later page brings it: showing it now would put it out of order.
  const withinLoaded = state.nextCursor === null || last === undefined || compare(task, last, state.query.sort) < 0;
  const shown = matches(task, state.query) && withinLoaded;
  const items = shown ? [...others, task].sort((a, b) => compare(a, b, state.query.sort)) : others;
  const belongs = matches(task, state.query);
  const total = state.total === null ? null : state.total + (created && belongs && !current ? 1 : 0) - (!created && current && !belongs ? 1 : 0);
  return { ...state, items, total };
}

export function withoutTask(state: ListState, id: number): ListState {
  const present = state.items.some((item) => item.id === id);
  return {
    ...state,
    items: state.items.filter((item) => item.id !== id),
    total: state.total !== null && present ? state.total - 1 : state.total,
    deleted: new Set([...state.deleted, id]),
  };
}
