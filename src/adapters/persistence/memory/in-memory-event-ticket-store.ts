import type { EventTicketStore, StoredTicket, TicketCredential } from '../../../application/index.js';

export class InMemoryEventTicketStore implements EventTicketStore {
  private readonly tickets = new Map<string, StoredTicket>();

  async save(ticket: StoredTicket): Promise<void> {
    this.tickets.set(ticket.digest, { ...ticket });
  }

  async redeem(digest: string, now: Date): Promise<TicketCredential | null> {
    const ticket = this.tickets.get(digest);
    this.tickets.delete(digest);
    if (!ticket || ticket.expiresAt <= now) return null;
    return { userId: ticket.userId, sessionId: ticket.sessionId, personalTokenId: ticket.personalTokenId };
  }

  async purgeExpired(now: Date): Promise<number> {
    let purged = 0;
    for (const [digest, ticket] of this.tickets) {
      if (ticket.expiresAt <= now) purged += Number(this.tickets.delete(digest));
    }
    return purged;
  }

  deleteAllOf(userId: number): void {
    for (const [digest, ticket] of this.tickets) if (ticket.userId === userId) this.tickets.delete(digest);
  }
}
