import type { Knex } from 'knex';
import type { EventTicketStore, StoredTicket, TicketCredential } from '../../../application/index.js';
import { fromDbTime, toDbTime } from './sql-values.js';

interface TicketRow {
  user_id: number;
  session_id: string | null;
  personal_token_id: number | null;
  expires_at: string | Date;
}

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
    const [row] = await this.db('event_tickets').where({ digest }).delete().returning<TicketRow[]>(['user_id', 'session_id', 'personal_token_id', 'expires_at']);
    if (!row || fromDbTime(row.expires_at) <= now) return null;
    return { userId: Number(row.user_id), sessionId: row.session_id, personalTokenId: row.personal_token_id === null ? null : Number(row.personal_token_id) };
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.db('event_tickets').where('expires_at', '<=', toDbTime(now)).delete();
  }
}
