import type { Knex } from 'knex';
import type { DueReminder, NewTask, SortPosition, TaskFilter, TaskPageQuery, TaskRepository, TaskSortKey } from '../../../application/index.js';
import { priorityRank, titleKey, type Task, type TaskPriority, type TaskStatus } from '../../../domain/index.js';
import { isPostgres } from './dialect.js';
import { escapeLike, fromDbTime, fromDbTimeOrNull, toDbTime } from './sql-values.js';
import { fixedStatement, runFixed } from './fixed-statements.js';
import { lookupChunks } from './lookup-chunks.js';
import { isStorableId } from './sql-ids.js';

interface TaskRow {
  id: number | string;
  user_id: number | string;
  title: string;
  title_key: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  priority_rank: number;
  due_date: string | Date | null;
  remind_at: string | Date | null;
  tags: string;
  completed_at: string | Date | null;
  created_at: string | Date;
  updated_at: string | Date;
  version: number | string;
}

/**
 * What a Task is read from; the sort keys (title_key, priority_rank) are only written, and
 * reminder_fired_for (whether the reminder has fired) is kept by claimReminder and update alone.
 */
const TASK_COLUMNS = [
  'id', 'user_id', 'title', 'description', 'status', 'priority', 'due_date', 'remind_at', 'tags', 'completed_at', 'created_at', 'updated_at', 'version',
] as const satisfies readonly (keyof TaskRow)[];

/**
 * A task as it is read: a row of TASK_COLUMNS, or the snapshot of it that a task event holds
 * (migrations 009 and 010). Snapshots taken before migration 010 hold no remind_at.
 */
export type TaskRecord = Omit<Pick<TaskRow, (typeof TASK_COLUMNS)[number]>, 'remind_at'> & Partial<Pick<TaskRow, 'remind_at'>>;

const toRow = (task: NewTask): Omit<TaskRow, 'id'> => ({
  user_id: task.userId,
  title: task.title,
  title_key: titleKey(task.title),
  description: task.description,
  status: task.status,
  priority: task.priority,
  priority_rank: priorityRank(task.priority),
  due_date: task.dueDate && toDbTime(task.dueDate),
  remind_at: task.remindAt && toDbTime(task.remindAt),
  tags: JSON.stringify(task.tags),
  completed_at: task.completedAt && toDbTime(task.completedAt),
  created_at: toDbTime(task.createdAt),
  updated_at: toDbTime(task.updatedAt),
  version: task.version,
});

/** The one way a Task is read from SQL, whether from its row or from an event's snapshot of it. */
export const taskFromRecord = (row: TaskRecord): Task => ({
  id: Number(row.id),
  userId: Number(row.user_id),
  title: row.title,
  description: row.description,
  status: row.status,
  priority: row.priority,
  dueDate: fromDbTimeOrNull(row.due_date),
  remindAt: fromDbTimeOrNull(row.remind_at ?? null),
  tags: JSON.parse(row.tags) as string[],
  completedAt: fromDbTimeOrNull(row.completed_at),
  createdAt: fromDbTime(row.created_at),
  updatedAt: fromDbTime(row.updated_at),
  version: Number(row.version),
});

/**
 * The statements nearly every request runs, as fixed statements (see fixed-statements.ts): the
 * query builder rebuilt them on every call, though their shape never varies. Both engines take
 * `?` placeholders and `returning` (SQLite since 3.35).
 */
const WRITTEN_COLUMNS = [
  'user_id', 'title', 'title_key', 'description', 'status', 'priority', 'priority_rank', 'due_date', 'remind_at', 'tags', 'completed_at', 'created_at',
  'updated_at', 'version',
] as const satisfies readonly (keyof TaskRow)[];
const CHANGED_COLUMNS = WRITTEN_COLUMNS.filter((column) => column !== 'user_id' && column !== 'created_at');
/**
 * A reminder that has not fired for the task's current remind_at. Spelt exactly as the predicate
 * of the partial index tasks_pending_reminders (migration 010), so SQLite's planner, which
 * matches a partial index's terms by their text, uses it.
 */
const PENDING_REMINDER = '(reminder_fired_for is null or reminder_fired_for <> remind_at)';
const STATEMENTS = {
  insert: fixedStatement('insert_task', `insert into tasks (${WRITTEN_COLUMNS.join(', ')}) values (${WRITTEN_COLUMNS.map(() => '?').join(', ')}) returning id`),
  findById: fixedStatement('find_task', `select ${TASK_COLUMNS.join(', ')} from tasks where id = ? and user_id = ?`),
  // The loser of concurrent writers matches no row, and so returns none.
  // A new remind_at is a new reminder: what fired for the old one no longer counts (the
  // right-hand sides read the row as it was before the statement).
  updateIfVersion: fixedStatement(
    'update_task_if_version',
    `update tasks set ${CHANGED_COLUMNS.map((column) => `${column} = ?`).join(', ')},
       reminder_fired_for = case when remind_at = ? then reminder_fired_for end
     where id = ? and user_id = ? and version = ? returning id`,
  ),
  // Leaves version alone, so the change-log trigger (after update of version) records nothing.
  claimReminder: fixedStatement(
    'claim_task_reminder',
    `update tasks set reminder_fired_for = remind_at
     where id = ? and user_id = ? and remind_at = ? and ${PENDING_REMINDER}
     returning ${TASK_COLUMNS.join(', ')}`,
  ),
  dueReminders: fixedStatement(
    'due_task_reminders',
    `select user_id, id, remind_at from tasks where remind_at <= ? and ${PENDING_REMINDER} order by remind_at, id limit ?`,
  ),
  // A few stripe rows, however many tasks the user has (migration 007).
  countAll: fixedStatement('count_tasks', 'select coalesce(sum(n), 0) as n from task_count_stripes where user_id = ?'),
};

/** The column each sort compares; all are plain columns so a keyset is a single index range. */
const SORT_COLUMN: Record<TaskSortKey, string> = {
  created_at: 'created_at',
  updated_at: 'updated_at',
  due_date: 'due_date',
  priority: 'priority_rank',
  title: 'title_key',
};
const TIME_COLUMNS = new Set(['created_at', 'updated_at', 'due_date']);

/** `(column, id)` after (or before) a cursor's position; PostgreSQL needs the time type spelt out. */
function keysetCondition(column: string, descending: boolean, postgres: boolean): string {
  const placeholder = postgres && TIME_COLUMNS.has(column) ? '?::timestamptz' : '?';
  return `(${column}, id) ${descending ? '<' : '>'} (${placeholder}, ?)`;
}

/** No condition beyond the owner: the listing most requests ask for. */
const isUnfiltered = (filter: TaskFilter): boolean =>
  filter.statuses === undefined &&
  filter.priorities === undefined &&
  (filter.tags === undefined || filter.tags.length === 0) &&
  filter.q === undefined &&
  filter.dueBefore === undefined &&
  filter.dueAfter === undefined;

type Segment = 'dated' | 'undated';

/**
 * Tasks on SQLite and PostgreSQL. `db` may be a transaction: every query then runs inside it.
 * Reads outside a transaction go to `reads` (openReadPool), writes and locking reads to `db`.
 * Tag rows (task_tags) and per-user counts (task_count_stripes) are kept by triggers on `tasks`, so
 * every path that writes tasks — this one, a user's deletion cascading, SQL by hand — keeps
 * them true.
 */
export class KnexTaskRepository implements TaskRepository {
  private readonly postgres: boolean;

  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly reads: Knex | Knex.Transaction = db,
  ) {
    this.postgres = isPostgres(db);
  }

  async create(task: NewTask): Promise<Task> {
    const row = toRow(task);
    const [inserted] = await runFixed<{ id: number | string }>(this.db, STATEMENTS.insert, WRITTEN_COLUMNS.map((column) => row[column]));
    return { ...task, tags: [...task.tags], id: Number(inserted!.id) };
  }

  async findById(userId: number, id: number): Promise<Task | null> {
    if (!isStorableId(id)) return null;
    return this.toTaskOrNull((await runFixed<TaskRow>(this.reads, STATEMENTS.findById, [id, userId]))[0]);
  }

  async findByIds(userId: number, ids: readonly number[]): Promise<Task[]> {
    const found: Task[] = [];
    for (const chunk of lookupChunks([...new Set(ids)].filter(isStorableId))) {
      const rows = await this.reads<TaskRow>('tasks').where('user_id', userId).whereIn('id', chunk).select<TaskRow[]>(TASK_COLUMNS);
      found.push(...rows.map(taskFromRecord));
    }
    return found;
  }

  async findForUpdate(userId: number, id: number): Promise<Task | null> {
    if (!isStorableId(id)) return null;
    const query = this.db<TaskRow>('tasks').where({ id, user_id: userId }).first<TaskRow | undefined>(TASK_COLUMNS);
    if (this.postgres) return this.toTaskOrNull(await query.forUpdate());
    // SQLite has no row locks: a write takes the database's write lock before the read, as
    // BEGIN IMMEDIATE would, so no other process can change the task before this unit commits
    // (and the unit's own write never has to upgrade a stale read snapshot, which SQLite refuses).
    await this.db('tasks').where({ id, user_id: userId }).update({ version: this.db.ref('version') });
    return this.toTaskOrNull(await query);
  }

  async update(userId: number, id: number, expectedVersion: number, next: Task): Promise<Task | null> {
    if (!isStorableId(id)) return null;
    const row = toRow(next);
    // One conditional statement decides between concurrent writers.
    const bindings = [...CHANGED_COLUMNS.map((column) => row[column]), row.remind_at, id, userId, expectedVersion];
    const updated = await runFixed(this.db, STATEMENTS.updateIfVersion, bindings);
    return updated.length > 0 ? { ...next, id, userId, tags: [...next.tags] } : null;
  }

  async delete(userId: number, id: number, expectedVersion?: number): Promise<boolean> {
    if (!isStorableId(id)) return false;
    const query = this.db('tasks').where({ id, user_id: userId });
    if (expectedVersion !== undefined) void query.where({ version: expectedVersion });
    return (await query.delete()) > 0;
  }

  async findPage(userId: number, query: TaskPageQuery): Promise<Task[]> {
    return (await this.findRecordPage(userId, query)).map(taskFromRecord);
  }

  /**
   * findPage's rows, each to be made a task with taskFromRecord: for a reader that makes each
   * task only when it uses it (KnexTaskSnapshots).
   */
  async findRecordPage(userId: number, query: TaskPageQuery): Promise<TaskRecord[]> {
    const { sort, limit, after } = query;
    if (after === undefined && (query.offset ?? 0) > 0) return this.findByOffset(userId, query);
    if (sort.key !== 'due_date') return this.keysetSegment(userId, query.filter, sort.key, sort.descending, limit, after);

    // Tasks without a due date come last in both directions: the dated ones first, then the
    // undated ones by id, each segment its own range of the (user_id, due_date, id) index.
    const rows: TaskRecord[] = [];
    if (after === undefined || after.value !== null) {
      rows.push(...(await this.keysetSegment(userId, query.filter, 'due_date', sort.descending, limit, after, 'dated')));
    }
    if (rows.length < limit) {
      const undatedAfter = after?.value === null ? after : undefined;
      rows.push(...(await this.keysetSegment(userId, query.filter, 'due_date', sort.descending, limit - rows.length, undatedAfter, 'undated')));
    }
    return rows;
  }

  async count(userId: number, filter: TaskFilter): Promise<number> {
    if (isUnfiltered(filter)) {
      return Number((await runFixed<{ n: string | number }>(this.reads, STATEMENTS.countAll, [userId]))[0]!.n);
    }
    const row = await this.filtered(userId, filter, 'from-tags').count<{ n: string | number }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  async claimReminder(userId: number, id: number, remindAt: Date): Promise<Task | null> {
    if (!isStorableId(id)) return null;
    return this.toTaskOrNull((await runFixed<TaskRow>(this.db, STATEMENTS.claimReminder, [id, userId, toDbTime(remindAt)]))[0]);
  }

  async findDueReminders(now: Date, limit: number): Promise<DueReminder[]> {
    const rows = await runFixed<Pick<TaskRow, 'user_id' | 'id' | 'remind_at'>>(this.reads, STATEMENTS.dueReminders, [toDbTime(now), limit]);
    return rows.map((row) => ({ userId: Number(row.user_id), taskId: Number(row.id), remindAt: fromDbTime(row.remind_at!) }));
  }

  private toTaskOrNull(row: TaskRow | undefined): Task | null {
    return row ? taskFromRecord(row) : null;
  }

  private async keysetSegment(
    userId: number,
    filter: TaskFilter,
    key: TaskSortKey,
    descending: boolean,
    limit: number,
    after?: SortPosition,
    segment?: Segment,
  ): Promise<TaskRecord[]> {
    const column = SORT_COLUMN[key];
    const direction = descending ? 'desc' : 'asc';
    const query = this.filtered(userId, filter).select<TaskRow[]>(TASK_COLUMNS);
    if (segment === 'undated') {
      void query.whereNull(column);
      if (after) void query.where('id', descending ? '<' : '>', after.id);
      void query.orderBy('id', direction);
    } else {
      if (segment === 'dated') void query.whereNotNull(column);
      if (after) void query.whereRaw(keysetCondition(column, descending, this.postgres), [after.value, after.id]);
      void query.orderBy(column, direction).orderBy('id', direction);
    }
    return query.limit(limit);
  }

  /** Offsets cost what they skip; only the first page of an offset listing is a keyset page. */
  private async findByOffset(userId: number, { filter, sort, limit, offset }: TaskPageQuery): Promise<TaskRecord[]> {
    const column = SORT_COLUMN[sort.key];
    const direction = sort.descending ? 'desc' : 'asc';
    const query = this.filtered(userId, filter).select<TaskRow[]>(TASK_COLUMNS);
    if (sort.key === 'due_date') void query.orderByRaw('case when due_date is null then 1 else 0 end');
    return query.orderBy(column, direction).orderBy('id', direction).limit(limit).offset(offset ?? 0);
  }

  /**
   * The caller's tasks matching a filter. A tag filter reads in one of two ways:
   * - 'probe' (pages): walk the sort index and look each task's tag up, stopping after `limit`
   *   matches — what a page wants when matches are not rare;
   * - 'from-tags' (counts): start from the (user_id, tag, task_id) index and fetch only the tasks
   *   that carry the tag — a count must see every match, and probing would visit every task.
   */
  private filtered(userId: number, filter: TaskFilter, tags: 'probe' | 'from-tags' = 'probe'): Knex.QueryBuilder<TaskRow, TaskRow[]> {
    const query = this.reads<TaskRow>('tasks').where('user_id', userId);
    if (filter.statuses) void query.whereIn('status', filter.statuses);
    if (filter.priorities) void query.whereIn('priority', filter.priorities);
    for (const tag of filter.tags ?? []) {
      if (tags === 'from-tags') void query.whereIn('id', (sub) => void sub.select('task_id').from('task_tags').where({ user_id: userId, tag }));
      else void query.whereExists((sub) => void sub.select(this.reads.raw('1')).from('task_tags').where({ user_id: userId, tag }).whereRaw('task_tags.task_id = tasks.id'));
    }
    if (filter.q !== undefined) void query.whereRaw(`title_key like ? escape '\\'`, [`%${escapeLike(filter.q)}%`]);
    if (filter.dueBefore) void query.where('due_date', '<', toDbTime(filter.dueBefore));
    if (filter.dueAfter) void query.where('due_date', '>=', toDbTime(filter.dueAfter));
    return query;
  }
}
