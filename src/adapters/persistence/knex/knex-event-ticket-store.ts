import type { Knex } from 'knex';
import type { EventTicketStore, StoredTicket, TicketCredential } from '../../../application/index.js';
import { fixedStatement, runFixed } from './fixed-statements.js';
import { fromDbTime, toDbTime } from './sql-values.js';

interface TicketRow {
  user_id: number;
  session_id: string | null;
  personal_token_id: number | null;
  expires_at: string | Date;
}

/**
 * One statement takes the ticket out and returns it. Written as SQL rather than with knex's
 * delete().returning(): knex's SQLite client runs a delete for its change count and drops the rows.
 */
const REDEEM = fixedStatement('redeem_event_ticket', 'delete from event_tickets where digest = ? returning user_id, session_id, personal_token_id, expires_at');

/** Tickets live in the database, so one asked for on one instance can open a stream on another. */
export class KnexEventTicketStore implements EventTicketStore {
  constructor(private readonly db: Knex) {}

  async save(ticket: StoredTicket): Promise<void> {
    await this.db('event_tickets').insert({
      digest: ticket.digest,
      user_id: ticket.userId,
      session_id: ticket.sessionId,
      personal_token_id: ticket.personalTokenId,
      expires_at: toDbTime(ticket.expiresAt),
    });
  }

  async redeem(digest: string, now: Date): Promise<TicketCredential | null> {
    // One delete decides: of two parallel redemptions only one gets the row back.
    const [row] = await runFixed<TicketRow>(this.db, REDEEM, [digest]);
    if (!row || fromDbTime(row.expires_at) <= now) return null;
    return { userId: Number(row.user_id), sessionId: row.session_id, personalTokenId: row.personal_token_id === null ? null : Number(row.personal_token_id) };
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.db('event_tickets').where('expires_at', '<=', toDbTime(now)).delete();
  }
}
