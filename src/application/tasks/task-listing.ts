import type { Task, TaskPriority, TaskStatus } from '../../domain/index.js';
import {
  DomainError,
  TAG_RULE,
  TASK_PRIORITIES,
  TASK_STATUSES,
  ValidationError,
  boundedText,
  codePointLength,
  isCompleted,
  parseDueDate,
  parseFields,
  parsePriority,
  parseStatus,
  priorityRank,
  titleKey,
} from '../../domain/index.js';
import type { SortPosition, TaskFilter, TaskSort, TaskSortKey } from '../ports/index.js';
import { TASK_SORT_KEYS } from '../ports/index.js';

export const DEFAULT_TASK_SORT = '-created_at';
export const TASK_SORTS: readonly string[] = TASK_SORT_KEYS.flatMap((key) => [key, `-${key}`]);

/**
 * The sort and filters of a listing in one canonical form: what a cursor carries, and what a
 * request repeating them must equal. Keys are absent when not given.
 */
export interface ListCriteria {
  sort: string;
  status?: TaskStatus[];
  completed?: boolean;
  priority?: TaskPriority[];
  tag?: string[];
  q?: string;
  due_before?: string;
  due_after?: string;
}

/** Filters and sort as a client gives them; lists are already split on commas. */
export interface ListParameters {
  sort?: string;
  status?: readonly string[];
  completed?: boolean;
  priority?: readonly string[];
  tag?: readonly string[];
  q?: string;
  due_before?: string;
  due_after?: string;
}

const canonicalOrder = <T extends string>(values: readonly T[], order: readonly T[]): T[] => order.filter((v) => values.includes(v));

/** Validates the parameters given and puts them in canonical form (the absent stay absent). */
export function normalizeParameters(params: ListParameters): Partial<ListCriteria> {
  const parsed = parseFields({
    sort: () => {
      if (params.sort === undefined) return undefined;
      if (!TASK_SORTS.includes(params.sort)) throw ValidationError.field('sort', `must be one of: ${TASK_SORTS.join(', ')}`);
      return params.sort;
    },
    status: () => (params.status === undefined ? undefined : canonicalOrder(params.status.map(parseStatus), TASK_STATUSES)),
    completed: () => {
      if (params.completed !== undefined && typeof params.completed !== 'boolean') throw ValidationError.field('completed', 'must be true or false');
      return params.completed;
    },
    priority: () => (params.priority === undefined ? undefined : canonicalOrder(params.priority.map(parsePriority), TASK_PRIORITIES)),
    tag: () => {
      if (params.tag === undefined) return undefined;
      const tags = params.tag.map((raw, index) => boundedText(`tag.${index}`, raw, TAG_RULE));
      return [...new Set(tags)].sort();
    },
    q: () => {
      const q = params.q?.trim();
      if (q !== undefined && codePointLength(q) > 200) throw ValidationError.field('q', 'must be at most 200 characters');
      return q === '' ? undefined : q;
    },
    due_before: () => (params.due_before === undefined ? undefined : parseDueDate(params.due_before, 'due_before')?.toISOString()),
    due_after: () => (params.due_after === undefined ? undefined : parseDueDate(params.due_after, 'due_after')?.toISOString()),
  });
  return Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as Partial<ListCriteria>;
}

export function toSort(sort: string): TaskSort {
  const descending = sort.startsWith('-');
  return { key: (descending ? sort.slice(1) : sort) as TaskSortKey, descending };
}

export function toFilter(criteria: ListCriteria): TaskFilter {
  const filter: TaskFilter = {};
  if (criteria.status !== undefined || criteria.completed !== undefined) {
    const { completed } = criteria;
    filter.statuses = (criteria.status ?? TASK_STATUSES).filter((s) => completed === undefined || isCompleted(s) === completed);
  }
  if (criteria.priority !== undefined) filter.priorities = [...criteria.priority];
  if (criteria.tag !== undefined) filter.tags = [...criteria.tag];
  if (criteria.q !== undefined) filter.q = titleKey(criteria.q);
  if (criteria.due_before !== undefined) filter.dueBefore = new Date(criteria.due_before);
  if (criteria.due_after !== undefined) filter.dueAfter = new Date(criteria.due_after);
  return filter;
}

/** A task's place in a sort, in the form every repository compares. */
export function sortPositionOf(task: Task, key: TaskSortKey): SortPosition {
  switch (key) {
    case 'created_at':
      return { value: task.createdAt.toISOString(), id: task.id };
    case 'updated_at':
      return { value: task.updatedAt.toISOString(), id: task.id };
    case 'due_date':
      return { value: task.dueDate?.toISOString() ?? null, id: task.id };
    case 'priority':
      return { value: priorityRank(task.priority), id: task.id };
    case 'title':
      return { value: titleKey(task.title), id: task.id };
  }
}

/** What a cursor token holds, signed by the codec. */
interface TaskCursor {
  v: 1;
  /** The user it was issued to. */
  u: number;
  c: ListCriteria;
  /** The last task of the page before: [sort value, id]. */
  p: [string | number | null, number];
}

export function cursorFor(userId: number, criteria: ListCriteria, task: Task): TaskCursor {
  const position = sortPositionOf(task, toSort(criteria.sort).key);
  return { v: 1, u: userId, c: criteria, p: [position.value, position.id] };
}

export const invalidCursor = (message: string) =>
  new DomainError('INVALID_CURSOR', 'The cursor is invalid: use next_cursor exactly as given, with the same filters and sort.', [
    { field: 'cursor', message },
  ]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks a decoded cursor's shape and re-validates its criteria, as if a client had sent them. */
export function readCursor(payload: unknown): { userId: number; criteria: ListCriteria; after: SortPosition } {
  if (!isObject(payload) || payload.v !== 1 || !Number.isSafeInteger(payload.u) || !isObject(payload.c) || !Array.isArray(payload.p)) {
    throw invalidCursor('is malformed');
  }
  const [value, id] = payload.p as unknown[];
  let criteria: ListCriteria;
  try {
    const normalized = normalizeParameters(payload.c as ListParameters);
    if (normalized.sort === undefined) throw invalidCursor('is malformed');
    criteria = { ...normalized, sort: normalized.sort };
  } catch {
    throw invalidCursor('is malformed');
  }
  const key = toSort(criteria.sort).key;
  const valueFits =
    key === 'priority' ? Number.isInteger(value) : key === 'due_date' ? value === null || typeof value === 'string' : typeof value === 'string';
  if (!valueFits || !Number.isSafeInteger(id)) throw invalidCursor('is malformed');
  return { userId: payload.u as number, criteria, after: { value: value as string | number | null, id: id as number } };
}
