import type { Knex } from 'knex';
import type { ChangeLog, ChangeNotifier, DomainEvent, EventPublisher, LoggedEvent } from '../../../application/index.js';
import { isPostgres } from './dialect.js';
import { fromEventData, toEventData } from './event-data.js';
import { fixedStatement, runFixed } from './fixed-statements.js';
import { lookupChunks } from './lookup-chunks.js';
import { RECORDED_BY_THE_SCHEMA } from './recorded-events.js';
import { isStorableId } from './sql-ids.js';
import { fromDbTime, toDbTime } from './sql-values.js';

interface EventRow {
  id: number | string;
  user_id: number;
  position: number | string;
  type: string;
  occurred_at: string | Date;
  data: string;
}

const toLogged = (row: EventRow): LoggedEvent => ({
  id: String(row.id),
  userId: Number(row.user_id),
  position: Number(row.position),
  type: row.type,
  occurredAt: fromDbTime(row.occurred_at),
  payload: (RECORDED_BY_THE_SCHEMA.get(row.type) ?? fromEventData)(row.data),
});

const EVENT_ID = /^[1-9][0-9]{0,17}$/;
const COLUMNS = 'id, user_id, position, type, occurred_at, data';

/**
 * Taking the next position locks the user's head row until the transaction ends, so one user's
 * writers append one after the other in commit order. On PostgreSQL the head and the event are
 * one statement (one round trip); SQLite, which has one writer at a time anyway, takes two. The
 * triggers that append task events (migration 009) take positions the same way.
 */
const STATEMENTS = {
  appendPostgres: fixedStatement(
    'append_event',
    `with head as (
       insert into event_heads (user_id, position) values (?, 1)
       on conflict (user_id) do update set position = event_heads.position + 1
       returning position)
     insert into events (user_id, position, type, occurred_at, data) select ?, position, ?, ?, ? from head
     returning id`,
  ),
  advanceHead: fixedStatement(
    'advance_event_head',
    `insert into event_heads (user_id, position) values (?, 1)
     on conflict (user_id) do update set position = event_heads.position + 1
     returning position`,
  ),
  insertEvent: fixedStatement('insert_event', 'insert into events (user_id, position, type, occurred_at, data) values (?, ?, ?, ?, ?) returning id'),
  readAfter: fixedStatement('events_after', `select ${COLUMNS} from events where user_id = ? and position > ? order by position limit ?`),
  latest: fixedStatement('latest_event', `select ${COLUMNS} from events where user_id = ? order by position desc limit 1`),
  head: fixedStatement('event_head', 'select position from event_heads where user_id = ?'),
  positionOf: fixedStatement('event_position', 'select position from events where id = ? and user_id = ?'),
};

/** Appends one event in `trx`, which holds the user's head row from then until it ends. */
async function appendEvent(trx: Knex.Transaction, event: DomainEvent): Promise<void> {
  const occurredAt = toDbTime(event.occurredAt);
  const data = toEventData(event.payload);
  if (isPostgres(trx)) {
    await runFixed(trx, STATEMENTS.appendPostgres, [event.userId, event.userId, event.type, occurredAt, data]);
  } else {
    const [head] = await runFixed<{ position: number }>(trx, STATEMENTS.advanceHead, [event.userId]);
    await runFixed(trx, STATEMENTS.insertEvent, [event.userId, head!.position, event.type, occurredAt, data]);
  }
}

/**
 * A unit of work's publisher (TransactionScope.events): appends in the unit's transaction what
 * the schema has not already recorded with the write, and remembers whose logs grew, for the
 * runner to announce once the unit has committed.
 */
export class KnexEventAppender implements EventPublisher {
  readonly users = new Set<number>();

  constructor(private readonly trx: Knex.Transaction) {}

  async publish(event: DomainEvent): Promise<void> {
    if (!RECORDED_BY_THE_SCHEMA.has(event.type)) await appendEvent(this.trx, event);
    this.users.add(event.userId);
  }
}

/**
 * The publisher for writes made outside a unit of work, called once they have committed: appends
 * what the schema has not already recorded with the write, in a transaction of its own (SQLite
 * takes two statements), then announces it.
 */
export class KnexEventPublisher implements EventPublisher {
  constructor(
    private readonly db: Knex,
    private readonly notifier?: ChangeNotifier,
  ) {}

  async publish(event: DomainEvent): Promise<void> {
    if (!RECORDED_BY_THE_SCHEMA.has(event.type)) await this.db.transaction((trx) => appendEvent(trx, event));
    this.notifier?.notify([event.userId]);
  }
}

/** Reads go to `reads` (openReadPool); the purge to `db`. */
export class KnexChangeLog implements ChangeLog {
  constructor(
    private readonly db: Knex,
    private readonly reads: Knex = db,
  ) {}

  async positionOf(userId: number, eventId: string): Promise<number | null> {
    if (!EVENT_ID.test(eventId) || !isStorableId(userId)) return null;
    const [row] = await runFixed<{ position: number | string }>(this.reads, STATEMENTS.positionOf, [eventId, userId]);
    return row ? Number(row.position) : null;
  }

  async readAfter(userId: number, position: number, limit: number): Promise<LoggedEvent[]> {
    if (!isStorableId(userId)) return [];
    return (await runFixed<EventRow>(this.reads, STATEMENTS.readAfter, [userId, position, limit])).map(toLogged);
  }

  async latest(userId: number): Promise<LoggedEvent | null> {
    if (!isStorableId(userId)) return null;
    const [row] = await runFixed<EventRow>(this.reads, STATEMENTS.latest, [userId]);
    return row ? toLogged(row) : null;
  }

  async head(userId: number): Promise<number> {
    if (!isStorableId(userId)) return 0;
    const [row] = await runFixed<{ position: number | string }>(this.reads, STATEMENTS.head, [userId]);
    return row ? Number(row.position) : 0;
  }

  async heads(userIds: readonly number[]): Promise<Map<number, number>> {
    const storable = userIds.filter(isStorableId);
    const heads = new Map(storable.map((userId): [number, number] => [userId, 0]));
    for (const chunk of lookupChunks(storable)) {
      const rows = await this.reads('event_heads').whereIn('user_id', chunk).select<Array<{ user_id: number; position: number | string }>>('user_id', 'position');
      for (const row of rows) heads.set(Number(row.user_id), Number(row.position));
    }
    return heads;
  }

  /**
   * Each user's log loses a prefix: everything up to their newest position that occurred before
   * the cutoff. Positions follow commit order but times are taken before the commit, so purging
   * by time alone could drop position n+1 and keep n, and a client resuming from n would skip.
   */
  async purgeBefore(cutoff: Date): Promise<number> {
    const ends = await this.db('events')
      .where('occurred_at', '<', toDbTime(cutoff))
      .groupBy('user_id')
      .select<Array<{ user_id: number; last: number | string }>>('user_id', this.db.raw('max(position) as last'));
    let purged = 0;
    for (const { user_id: userId, last } of ends) {
      purged += await this.db('events').where('user_id', userId).andWhere('position', '<=', Number(last)).delete();
    }
    return purged;
  }
}
