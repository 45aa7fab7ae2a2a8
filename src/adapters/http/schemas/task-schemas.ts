import { Type, type Static } from '@sinclair/typebox';
import { MAX_PAGE_SIZE, TASK_SORTS } from '../../../application/index.js';
import { DESCRIPTION_RULE, MAX_TAGS, TAG_RULE, TASK_PRIORITIES, TASK_STATUSES, TITLE_RULE } from '../../../domain/index.js';
import { Nullable, StringEnum, Timestamp } from './common.js';

/** Page size when a listing does not ask for one. */
export const DEFAULT_PAGE_SIZE = 20;

const Title = Type.String({
  minLength: TITLE_RULE.min,
  maxLength: TITLE_RULE.max,
  description: '1 to 200 characters after trimming.',
  examples: ['Write the quarterly report'],
});
const Description = Type.String({ maxLength: DESCRIPTION_RULE.max, description: 'Up to 10,000 characters; default "".', examples: ['Numbers from finance first.'] });
const Status = StringEnum(TASK_STATUSES, { description: 'Default "todo".', examples: ['in_progress'] });
const Completed = Type.Boolean({
  description: 'Shorthand for status: true sets "done", false sets "todo". Contradicting status in the same body is a 422.',
});
const Priority = StringEnum(TASK_PRIORITIES, { description: 'Default "medium".', examples: ['high'] });
const DueDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
  description: 'RFC 3339 date-time (answered in UTC), or null for none.',
  examples: ['2026-12-01T17:00:00Z'],
});
const RemindAt = Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
  description: 'RFC 3339 date-time (answered in UTC), or null for none. At that time a task.reminder event is appended, once, unless the task is done or deleted; a time already past fires at once.',
  examples: ['2026-12-01T09:00:00Z'],
});
const Tags = Type.Array(Type.String({ minLength: TAG_RULE.min, maxLength: TAG_RULE.max }), {
  maxItems: 100,
  description: `Up to ${MAX_TAGS} distinct tags of 1 to 50 characters; duplicates are merged keeping the first-seen order.`,
  examples: [['work', 'q4']],
});

export const TaskDto = Type.Object(
  {
    id: Type.Integer({ examples: [42] }),
    user_id: Type.Integer({ examples: [7] }),
    title: Type.String({ examples: ['Write the quarterly report'] }),
    description: Type.String(),
    status: Status,
    completed: Type.Boolean({ description: 'status == "done".' }),
    priority: Priority,
    due_date: Nullable(Timestamp),
    remind_at: Nullable(Timestamp, { description: 'When a task.reminder event is appended; null: no reminder.' }),
    tags: Type.Array(Type.String()),
    completed_at: Nullable(Timestamp, { description: 'Set when status becomes done, cleared when it leaves done.' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    version: Type.Integer({ minimum: 1, description: 'Starts at 1, grows by one on every change; also the ETag.', examples: [3] }),
  },
  { additionalProperties: false },
);
export type TaskDto = Static<typeof TaskDto>;

const writable = {
  title: Title,
  description: Description,
  status: Status,
  completed: Completed,
  priority: Priority,
  due_date: DueDate,
  remind_at: RemindAt,
  tags: Tags,
};

export const CreateTaskBody = Type.Object(
  {
    title: writable.title,
    description: Type.Optional(writable.description),
    status: Type.Optional(writable.status),
    completed: Type.Optional(writable.completed),
    priority: Type.Optional(writable.priority),
    due_date: Type.Optional(writable.due_date),
    remind_at: Type.Optional(writable.remind_at),
    tags: Type.Optional(writable.tags),
  },
  {
    additionalProperties: false,
    examples: [
      { title: 'Write the quarterly report', priority: 'high', due_date: '2026-12-01T17:00:00Z', remind_at: '2026-12-01T09:00:00Z', tags: ['work', 'q4'] },
      { title: 'Buy milk' },
    ],
  },
);
export type CreateTaskBody = Static<typeof CreateTaskBody>;

export const ReplaceTaskBody = Type.Object(CreateTaskBody.properties, {
  additionalProperties: false,
  description: 'Every writable field; omitted optional fields return to their defaults.',
  examples: [
    { title: 'Write the quarterly report', description: 'Numbers from finance first.', status: 'in_progress', priority: 'high', due_date: null, remind_at: null, tags: ['work'] },
  ],
});
export type ReplaceTaskBody = Static<typeof ReplaceTaskBody>;

export const PatchTaskBody = Type.Partial(Type.Object(writable), {
  additionalProperties: false,
  description: 'JSON merge patch (RFC 7396): only the fields given change; null clears due_date or remind_at and is refused elsewhere.',
  examples: [{ completed: true }, { due_date: null }, { remind_at: '2026-12-01T09:00:00Z' }, { title: 'Write the annual report', tags: ['work', 'annual'] }],
});
export type PatchTaskBody = Static<typeof PatchTaskBody>;

const commaList = (values: readonly string[], description: string) => {
  const one = `(${values.join('|')})`;
  // No `examples` here: Swagger UI pre-fills "Try it out" with them and so silently filters the list.
  return Type.Array(Type.String({ pattern: `^${one}(,${one})*$` }), { description: `${description} For example ${values.slice(0, 2).join(',')}.` });
};

export const TaskListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: `Page size (default ${DEFAULT_PAGE_SIZE}).` })),
    offset: Type.Optional(Type.Integer({ minimum: 0, description: 'Items to skip (default 0); not with cursor.' })),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'next_cursor of the previous page; it carries that listing\'s sort and filters.' }),
    ),
    status: Type.Optional(commaList(TASK_STATUSES, 'One or several statuses, comma-separated (or repeated).')),
    completed: Type.Optional(Type.Boolean({ description: 'true: done only; false: not done.' })),
    priority: Type.Optional(commaList(TASK_PRIORITIES, 'One or several priorities, comma-separated (or repeated).')),
    tag: Type.Optional(
      Type.Array(Type.String({ minLength: TAG_RULE.min, maxLength: TAG_RULE.max }), { maxItems: MAX_TAGS, description: 'Repeatable; a task must carry every tag given.' }),
    ),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive search in the title (% and _ are plain characters).' })),
    due_before: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive; excludes tasks without a due date.' })),
    due_after: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive; excludes tasks without a due date.' })),
    sort: Type.Optional(
      StringEnum(TASK_SORTS, {
        description: 'created_at, updated_at, due_date, priority or title; "-" for descending. Default -created_at. Ties by id; no due date last either way.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TaskListQuery = Static<typeof TaskListQuery>;

export const TaskPage = Type.Object(
  {
    items: Type.Array(TaskDto),
    total: Type.Integer({ description: 'Tasks matching the filters.' }),
    limit: Type.Integer(),
    offset: Nullable(Type.Integer(), { description: 'Null when the page was addressed by a cursor.' }),
    next_cursor: Nullable(Type.String(), { description: 'Null on the last page.' }),
  },
  { additionalProperties: false },
);

export const CreateTaskHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Retry safely: the same key within 24 hours returns the first response and creates nothing.',
      examples: ['5f3c9a1e-7d2b-4c1a-9e8f-0a1b2c3d4e5f'],
    }),
  ),
});

export const ConditionalReadHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'An ETag from an earlier response: 304 when unchanged.', examples: ['"3"'] })),
});

export const ConditionalWriteHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The ETag you last saw: 412 and nothing written when the task has changed since.', examples: ['"3"'] })),
});
