import { ValidationError, parseFields } from './errors.js';
import { boundedText } from './text.js';

export type TaskStatus = 'todo' | 'in_progress' | 'done';
export const TASK_STATUSES: readonly TaskStatus[] = ['todo', 'in_progress', 'done'];

export type TaskPriority = 'low' | 'medium' | 'high' | 'urgent';
/** In rank order: sorting by priority means sorting by this index. */
export const TASK_PRIORITIES: readonly TaskPriority[] = ['low', 'medium', 'high', 'urgent'];

export const TITLE_RULE = { min: 1, max: 200 } as const;
export const DESCRIPTION_RULE = { min: 0, max: 10_000 } as const;
export const TAG_RULE = { min: 1, max: 50 } as const;
export const MAX_TAGS = 20;
/** PostgreSQL has no year 0 and RFC 3339 has no year 10000: due dates stay inside both. */
const DUE_DATE_YEARS = { min: 1, max: 9999 } as const;

/** The fields a client writes; everything else on a task is kept by the system. */
export interface TaskFields {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueDate: Date | null;
  /** When the owner wants a `task.reminder` event about the task; null: no reminder. */
  remindAt: Date | null;
  tags: string[];
}

export interface Task extends TaskFields {
  id: number;
  userId: number;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** What a client sends for a new or replaced task, before validation; omitted fields take defaults. */
export interface TaskInput {
  title: string;
  description?: string;
  status?: TaskStatus;
  /** Shorthand for status: true → done, false → todo. */
  completed?: boolean;
  priority?: TaskPriority;
  /** RFC 3339 date-time; null or omitted: no due date. */
  dueDate?: string | null;
  /** RFC 3339 date-time, validated as dueDate is; null or omitted: no reminder. */
  remindAt?: string | null;
  tags?: string[];
}

/** A merge patch: only the fields present change; null clears the due date or the reminder. */
export type TaskPatch = Partial<TaskInput>;

const DEFAULT_TASK_FIELDS: Omit<TaskFields, 'title'> = {
  description: '',
  status: 'todo',
  priority: 'medium',
  dueDate: null,
  remindAt: null,
  tags: [],
};

export const priorityRank = (priority: TaskPriority): number => TASK_PRIORITIES.indexOf(priority) + 1;

/** The case-insensitive form of a title that sorting compares. */
export const titleKey = (title: string): string => title.toLowerCase();

export const isCompleted = (status: TaskStatus): boolean => status === 'done';

export const parseTitle = (raw: string): string => boundedText('title', raw, TITLE_RULE);

export const parseDescription = (raw: string): string => boundedText('description', raw, DESCRIPTION_RULE);

function oneOf<T extends string>(field: string, allowed: readonly T[], raw: unknown): T {
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw ValidationError.field(field, `must be one of: ${allowed.join(', ')}`);
  }
  return raw as T;
}

export const parseStatus = (raw: unknown): TaskStatus => oneOf('status', TASK_STATUSES, raw);
export const parsePriority = (raw: unknown): TaskPriority => oneOf('priority', TASK_PRIORITIES, raw);

/** Trimmed, bounded, and duplicates merged keeping the first-seen order. */
export function parseTags(raw: readonly string[]): string[] {
  if (!Array.isArray(raw)) throw ValidationError.field('tags', 'must be a list of strings');
  // A set, not a search of the list per tag: a model's answer is not held to the HTTP schema's
  // 100 items, and a list of 100,000 distinct tags would take seconds to merge.
  const tags = new Set<string>();
  raw.forEach((entry, index) => {
    if (typeof entry !== 'string') throw ValidationError.field(`tags.${index}`, 'must be a string');
    tags.add(boundedText(`tags.${index}`, entry, TAG_RULE));
  });
  if (tags.size > MAX_TAGS) throw ValidationError.field('tags', `must hold at most ${MAX_TAGS} distinct tags`);
  return [...tags];
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Field by field, because Date silently rolls 30 February over into March. */
function isRealDateTime(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHours = match[9] === undefined ? 0 : Number(match[9]);
  const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
  return (
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59
  );
}

/** An RFC 3339 date-time with an offset, kept as the instant it names (answered in UTC). */
export function parseDueDate(raw: string | null, field = 'due_date'): Date | null {
  if (raw === null) return null;
  const match = typeof raw === 'string' ? RFC3339.exec(raw) : null;
  const date = match && isRealDateTime(match) ? new Date(raw.replace(' ', 'T')) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw ValidationError.field(field, 'must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z');
  const year = date.getUTCFullYear();
  if (year < DUE_DATE_YEARS.min || year > DUE_DATE_YEARS.max) {
    throw ValidationError.field(field, `must fall in the years ${DUE_DATE_YEARS.min} to ${DUE_DATE_YEARS.max}`);
  }
  return date;
}

/**
 * The status a body asks for. `completed` is a shorthand and must agree with `status` when both
 * are given: they contradict only when one says done and the other does not.
 */
function resolveStatus(status: unknown, completed: unknown): TaskStatus | undefined {
  const parsed = status === undefined ? undefined : parseStatus(status);
  if (completed === undefined) return parsed;
  if (typeof completed !== 'boolean') throw ValidationError.field('completed', 'must be true or false');
  if (parsed === undefined) return completed ? 'done' : 'todo';
  if (isCompleted(parsed) !== completed) {
    throw ValidationError.field('completed', `contradicts status "${parsed}"`);
  }
  return parsed;
}

const rejectNull = (field: string, value: unknown): void => {
  if (value === null) throw ValidationError.field(field, 'may not be null');
};

function mergeFields(current: TaskFields, patch: TaskPatch, titleRequired: boolean): TaskFields {
  return parseFields({
    title: () => {
      rejectNull('title', patch.title);
      if (patch.title === undefined && titleRequired) throw ValidationError.field('title', 'is required');
      return patch.title === undefined ? current.title : parseTitle(patch.title);
    },
    description: () => {
      rejectNull('description', patch.description);
      return patch.description === undefined ? current.description : parseDescription(patch.description);
    },
    status: () => {
      rejectNull('status', patch.status);
      rejectNull('completed', patch.completed);
      return resolveStatus(patch.status, patch.completed) ?? current.status;
    },
    priority: () => {
      rejectNull('priority', patch.priority);
      return patch.priority === undefined ? current.priority : parsePriority(patch.priority);
    },
    dueDate: () => (patch.dueDate === undefined ? current.dueDate : parseDueDate(patch.dueDate)),
    remindAt: () => (patch.remindAt === undefined ? current.remindAt : parseDueDate(patch.remindAt, 'remind_at')),
    tags: () => {
      rejectNull('tags', patch.tags);
      return patch.tags === undefined ? current.tags : parseTags(patch.tags);
    },
  });
}

/** Validates a full representation (create, replace): omitted optional fields take their defaults. */
export function parseTaskInput(input: TaskInput): TaskFields {
  return mergeFields({ title: '', ...DEFAULT_TASK_FIELDS }, input, true);
}

/** Applies a merge patch to the current fields; null on a field that is not nullable fails. */
export function applyTaskPatch(current: TaskFields, patch: TaskPatch): TaskFields {
  return mergeFields(current, patch, false);
}

export const sameInstant = (a: Date | null, b: Date | null): boolean => (a?.getTime() ?? null) === (b?.getTime() ?? null);

const sameFields = (a: TaskFields, b: TaskFields): boolean =>
  a.title === b.title &&
  a.description === b.description &&
  a.status === b.status &&
  a.priority === b.priority &&
  sameInstant(a.dueDate, b.dueDate) &&
  sameInstant(a.remindAt, b.remindAt) &&
  a.tags.length === b.tags.length &&
  a.tags.every((tag, index) => tag === b.tags[index]);

/** A task as first stored, before it has an id. */
export function newTaskState(userId: number, fields: TaskFields, now: Date): Omit<Task, 'id'> {
  return {
    ...fields,
    tags: [...fields.tags],
    userId,
    completedAt: isCompleted(fields.status) ? now : null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/**
 * The next state of a task given new fields, or null when nothing would change (then the version
 * stays). completed_at follows status: set on entering done, kept while done, cleared on leaving.
 */
export function reviseTask(current: Task, fields: TaskFields, now: Date): Task | null {
  if (sameFields(current, fields)) return null;
  const wasDone = isCompleted(current.status);
  const isDone = isCompleted(fields.status);
  return {
    ...current,
    ...fields,
    tags: [...fields.tags],
    completedAt: isDone ? (wasDone ? current.completedAt : now) : null,
    updatedAt: now,
    version: current.version + 1,
  };
}
