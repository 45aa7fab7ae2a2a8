import type { ChangeLog, Clock, EventTicketStore } from '../ports/index.js';

export interface PurgedEvents {
  events: number;
  tickets: number;
}

/**
 * Forgets what is past keeping: events older than the retention (EVENT_RETENTION; a client
 * resuming from before that gets a 410 and syncs afresh) and event tickets that have expired.
 */
export class PurgeExpiredEvents {
  constructor(
    private readonly log: ChangeLog,
    private readonly tickets: EventTicketStore,
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {}

  async execute(): Promise<PurgedEvents> {
    const now = this.clock.now();
    const events = await this.log.purgeBefore(new Date(now.getTime() - this.retentionMs));
    const tickets = await this.tickets.purgeExpired(now);
    return { events, tickets };
  }
}
