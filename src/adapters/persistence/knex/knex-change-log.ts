import type { Knex } from 'knex';
import type { ChangeLog, ChangeNotifier, DomainEvent, EventPublisher, LoggedEvent } from '../../../application/index.js';
import { isPostgres } from './dialect.js';
import { EVENT_APPEND_LOCK } from './event-append-lock.js';
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
 * An event's position is its user's newest plus one, purged positions included (migration 017).
 * On PostgreSQL `log_event` first takes the user's append lock, held until the transaction ends,
 * so one user's writers append one after the other in commit order, on any instance; SQLite has
 * one writer at a time anyway. The triggers that append task events take positions the same way.
 */
const STATEMENTS = {
  appendPostgres: fixedStatement('append_event', 'select log_event(?, ?, ?, ?) as id'),
  appendSqlite: fixedStatement(
    'append_event_sqlite',
    `insert into events (user_id, position, type, occurred_at, data)
     values (?, coalesce((select max(position) from events where user_id = ?),
                         (select position from purged_event_heads where user_id = ?), 0) + 1, ?, ?, ?)`,
  ),
  readAfter: fixedStatement('events_after', `select ${COLUMNS} from events where user_id = ? and position > ? order by position limit ?`),
  latest: fixedStatement('latest_event', `select ${COLUMNS} from events where user_id = ? order by position desc limit 1`),
  head: fixedStatement(
    'event_head',
    `select max(position) as position from (
       select max(position) as position from events where user_id = ?
       union all select position from purged_event_heads where user_id = ?) as heads`,
  ),
  positionOf: fixedStatement('event_position', 'select position from events where id = ? and user_id = ?'),
  takeAppendLock: fixedStatement('take_event_append_lock', `select pg_advisory_xact_lock(${EVENT_APPEND_LOCK}, ?)`),
};

/** Appends one event in `trx`; on PostgreSQL the user's append lock is held from then until it ends. */
async function appendEvent(trx: Knex.Transaction, event: DomainEvent): Promise<void> {
  const occurredAt = toDbTime(event.occurredAt);
  const data = toEventData(event.payload);
  const { userId, type } = event;
  if (isPostgres(trx)) await runFixed(trx, STATEMENTS.appendPostgres, [userId, type, occurredAt, data]);
  else await runFixed(trx, STATEMENTS.appendSqlite, [userId, userId, userId, type, occurredAt, data]);
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
    const [row] = await runFixed<{ position: number | string | null }>(this.reads, STATEMENTS.head, [userId, userId]);
    return Number(row?.position ?? 0);
  }

  async heads(userIds: readonly number[]): Promise<Map<number, number>> {
    const storable = userIds.filter(isStorableId);
    const heads = new Map(storable.map((userId): [number, number] => [userId, 0]));
    const raise = (rows: Array<{ user_id: number; position: number | string }>) => {
      for (const row of rows) heads.set(Number(row.user_id), Math.max(heads.get(Number(row.user_id)) ?? 0, Number(row.position)));
    };
    for (const chunk of lookupChunks(storable)) {
      raise(await this.reads('events').whereIn('user_id', chunk).groupBy('user_id').select('user_id', this.reads.raw('max(position) as position')));
      raise(await this.reads('purged_event_heads').whereIn('user_id', chunk).select('user_id', 'position'));
    }
    return heads;
  }

  /**
   * Each user's log loses a prefix: everything up to their newest position that occurred before
   * the cutoff. Positions follow commit order but times are taken before the commit, so purging
   * by time alone could drop position n+1 and keep n, and a client resuming from n would skip.
   * The last position purged is kept as the user's floor, in the same transaction and (on
   * PostgreSQL) under the user's append lock: the next append never reads an emptied log
   * without it, and numbers on from there. The ends are found on `reads`: on SQLite, where no
   * index serves `occurred_at` (migration 017), that read goes through the table beside the
   * writer instead of holding it.
   */
  async purgeBefore(cutoff: Date): Promise<number> {
    const ends = await this.reads('events')
      .where('occurred_at', '<', toDbTime(cutoff))
      .groupBy('user_id')
      .select<Array<{ user_id: number; last: number | string }>>('user_id', this.reads.raw('max(position) as last'));
    let purged = 0;
    for (const { user_id: userId, last } of ends) {
      purged += await this.db.transaction(async (trx) => {
        if (isPostgres(trx)) await runFixed(trx, STATEMENTS.takeAppendLock, [userId]);
        const deleted = await trx('events').where('user_id', userId).andWhere('position', '<=', Number(last)).delete();
        const newer = isPostgres(trx) ? 'greatest(purged_event_heads.position, excluded.position)' : 'max(purged_event_heads.position, excluded.position)';
        await trx('purged_event_heads').insert({ user_id: userId, position: Number(last) }).onConflict('user_id').merge({ position: trx.raw(newer) });
        return deleted;
      });
    }
    return purged;
  }
}
