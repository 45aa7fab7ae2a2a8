/** What a ticket stands for: the credential that asked for it. */
export interface TicketCredential {
  userId: number;
  /** The login session that asked; null when a personal access token did. */
  sessionId: string | null;
  personalTokenId: number | null;
}

export interface StoredTicket extends TicketCredential {
  /** The digest of the ticket's secret: the secret itself is never stored. */
  digest: string;
  expiresAt: Date;
}

/** Single-use tickets for `GET /events` (browsers cannot set headers on a WebSocket or an EventSource). */
export interface EventTicketStore {
  save(ticket: StoredTicket): Promise<void>;
  /** Takes the ticket out in one step, so that of two parallel redemptions at most one gets it; null when unknown or expired. */
  redeem(digest: string, now: Date): Promise<TicketCredential | null>;
  /** Forgets tickets that expired before `now`; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}

export const EVENT_TICKET_STORE = Symbol('EventTicketStore');
