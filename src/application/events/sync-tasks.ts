import type { Task } from '../../domain/index.js';
import { ValidationError } from '../../domain/index.js';
import type { ChangeLog, Clock, CursorCodec, LoggedEvent, Principal, SortPosition, TaskRepository, TaskSort } from '../ports/index.js';
import { sortPositionOf } from '../tasks/task-listing.js';
import type { TaskCreated, TaskDeleted, TaskUpdated } from '../tasks/task-events.js';
import { historyGone } from './live-events.js';
import { fromSyncTokenPayload, invalidSyncToken, toSyncTokenPayload, type SyncPoint } from './sync-token.js';

export const MAX_SYNC_PAGE = 1000;
export const DEFAULT_SYNC_PAGE = 500;

export interface SyncQuery {
  /** A sync_token from an earlier page; absent: a full sync. */
  since?: string;
  /** The most entries in one page, tasks and tombstones together. */
  limit: number;
}

export interface Tombstone {
  id: number;
  deletedAt: Date;
}

export interface SyncPage {
  tasks: Task[];
  deleted: Tombstone[];
  syncToken: string;
  hasMore: boolean;
  /** True on the first page of a full sync: the client's copy starts again from this page's tasks. */
  fullSync: boolean;
}

export interface SyncTasksOptions {
  /** EVENT_RETENTION: how long the change log keeps events, so how long a token can be resumed from. */
  retentionMs: number;
}

/** A full sync's order: created_at never changes, so a task changed during the scan keeps its place. */
const SCAN_ORDER: TaskSort = { key: 'created_at', descending: false };
const READ_BATCH = 500;
/** Events one page reads at most: many changes to a few tasks must not make one request read the whole log. */
const MAX_EVENTS_PER_PAGE = 20 * READ_BATCH;

/** What one event says about one task: changed (read its current state) or deleted at a time. */
interface TaskChange {
  taskId: number;
  deletedAt: Date | null;
}

function taskChangeOf(event: LoggedEvent): TaskChange | null {
  switch (event.type) {
    case 'task.created':
    case 'task.updated':
      return { taskId: (event.payload as (TaskCreated | TaskUpdated)['payload']).task.id, deletedAt: null };
    case 'task.deleted':
      return { taskId: (event.payload as TaskDeleted['payload']).taskId, deletedAt: event.occurredAt };
    // A reminder changes nothing a copy holds.
    case 'task.reminder':
    default:
      return null;
  }
}

type Entry = { kind: 'scanned'; task: Task } | { kind: 'changed' } | { kind: 'deleted'; at: Date };

/**
 * The entries of one page: each task at most once, in the order first met. A later change to a
 * task already on the page costs no room; a deletion replaces whatever came before it.
 */
class PageEntries {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly capacity: number,
    scanned: readonly Task[],
  ) {
    for (const task of scanned) this.entries.set(task.id, { kind: 'scanned', task });
  }

  /** False when the change names a task not on the page and the page is full. */
  take(change: TaskChange): boolean {
    const entry = this.entries.get(change.taskId);
    if (!entry && this.entries.size >= this.capacity) return false;
    if (change.deletedAt) this.entries.set(change.taskId, { kind: 'deleted', at: change.deletedAt });
    else if (entry?.kind !== 'deleted') this.entries.set(change.taskId, { kind: 'changed' });
    return true;
  }

  /** The tasks whose current state the page must read. */
  changedIds(): number[] {
    return [...this.entries].filter(([, entry]) => entry.kind === 'changed').map(([id]) => id);
  }

  /**
   * The page, given the current state of the changed tasks. A changed task that is gone by now
   * was deleted after the events read: it becomes a tombstone at `now` (the delete's own event,
   * read on a later page, repeats it with its time).
   */
  settle(current: readonly Task[], now: Date): { tasks: Task[]; deleted: Tombstone[] } {
    const found = new Map(current.map((task) => [task.id, task]));
    const tasks: Task[] = [];
    const deleted: Tombstone[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.kind === 'scanned') tasks.push(entry.task);
      else if (entry.kind === 'deleted') deleted.push({ id, deletedAt: entry.at });
      else {
        const task = found.get(id);
        if (task) tasks.push(task);
        else deleted.push({ id, deletedAt: now });
      }
    }
    return { tasks, deleted };
  }
}

const gone = () => historyGone('Changes after this sync token are no longer kept; start again with a full sync (GET /sync without since).');

/**
 * `GET /sync`: a client's copy of its tasks, brought up to date from the change log.
 *
 * A full sync records the user's log head first, then pages through the tasks as they are; once
 * the scan is done it goes on from that head like an incremental sync, so a write that raced the
 * scan reaches the client whether or not the scan saw it. An incremental page names each task
 * changed after the token once, in its current state (read after its events, so never older
 * than them), and each task deleted as a tombstone. The token is the position of the last event
 * consumed: applying the pages in order leaves the client with the server's state.
 */
export class SyncTasks {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly log: ChangeLog,
    private readonly tokens: CursorCodec,
    private readonly clock: Clock,
    private readonly options: SyncTasksOptions,
  ) {}

  async execute(actor: Principal, query: SyncQuery): Promise<SyncPage> {
    const limit = checkLimit(query.limit);
    const { userId } = actor;
    if (query.since === undefined) {
      // The head before the scan: whatever commits after this read is replayed once the scan is done.
      const head = await this.log.head(userId);
      return this.scan(userId, head, undefined, limit, true);
    }
    const point = this.resume(actor, query.since);
    if (point.after) return this.scan(userId, point.position, point.after, limit, false);
    return this.changesAfter(userId, point.position, limit, []);
  }

  private resume(actor: Principal, token: string): SyncPoint {
    const payload = this.tokens.decode(token);
    const point = payload === null ? null : fromSyncTokenPayload(payload);
    if (!point) throw invalidSyncToken('is not a sync token issued by this service, or was altered');
    if (point.userId !== actor.userId) throw invalidSyncToken('was issued to another user');
    if (this.clock.now().getTime() - point.issuedAt.getTime() > this.options.retentionMs) throw gone();
    return point;
  }

  private async scan(userId: number, position: number, after: SortPosition | undefined, limit: number, first: boolean): Promise<SyncPage> {
    const rows = await this.tasks.findPage(userId, { filter: {}, sort: SCAN_ORDER, limit: limit + 1, after });
    if (rows.length > limit) {
      const sent = rows.slice(0, limit);
      const last = sortPositionOf(sent[sent.length - 1]!, SCAN_ORDER.key);
      return { tasks: sent, deleted: [], syncToken: this.issue({ userId, position, after: last }), hasMore: true, fullSync: first };
    }
    const page = await this.changesAfter(userId, position, limit, rows);
    // The first page starts the client's copy afresh: a tombstone there could only name a task it
    // does not hold (settle already left the deleted ones out of the page's tasks).
    return first ? { ...page, deleted: [], fullSync: true } : page;
  }

  /** The page of changes after `from`, with room for `limit` entries, the `scanned` tasks among them. */
  private async changesAfter(userId: number, from: number, limit: number, scanned: readonly Task[]): Promise<SyncPage> {
    const entries = new PageEntries(limit, scanned);
    // Read before the events: every event up to it has committed, so none of them may be missing.
    const head = await this.log.head(userId);
    let position = from;
    let hasMore = false;
    reading: for (;;) {
      const events = await this.log.readAfter(userId, position, READ_BATCH);
      for (const event of events) {
        // Positions have no holes: a missing one was purged, and what it said is lost.
        if (event.position !== position + 1) throw gone();
        const change = taskChangeOf(event);
        if (change && !entries.take(change)) {
          hasMore = true;
          break reading;
        }
        position = event.position;
      }
      if (events.length < READ_BATCH) break;
      if (position - from >= MAX_EVENTS_PER_PAGE) {
        hasMore = true;
        break;
      }
    }
    if (!hasMore && position < head) throw gone();

    const current = await this.tasks.findByIds(userId, entries.changedIds());
    const { tasks, deleted } = entries.settle(current, this.clock.now());
    return { tasks, deleted, syncToken: this.issue({ userId, position }), hasMore, fullSync: false };
  }

  private issue(point: Omit<SyncPoint, 'issuedAt'>): string {
    return this.tokens.encode(toSyncTokenPayload({ ...point, issuedAt: this.clock.now() }));
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SYNC_PAGE) throw ValidationError.field('limit', `must be an integer from 1 to ${MAX_SYNC_PAGE}`);
  return limit;
}
