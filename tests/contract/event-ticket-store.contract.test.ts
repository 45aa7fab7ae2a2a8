import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventTicketStore, SessionRepository, StoredTicket, UserRepository } from '../../src/application/index.js';
import { KnexEventTicketStore } from '../../src/adapters/persistence/knex/knex-event-ticket-store.js';
import { KnexSessionRepository } from '../../src/adapters/persistence/knex/knex-session-repository.js';
import { KnexUserRepository } from '../../src/adapters/persistence/knex/knex-user-repository.js';
import { InMemoryEventTicketStore } from '../../src/adapters/persistence/memory/in-memory-event-ticket-store.js';
import { InMemorySessionRepository } from '../../src/adapters/persistence/memory/in-memory-session-repository.js';
import { InMemoryUserRepository } from '../../src/adapters/persistence/memory/in-memory-user-repository.js';
import { openTestDatabase, repositoryEngines } from '../support/databases.js';

interface Adapters {
  users: UserRepository;
  sessions: SessionRepository;
  tickets: EventTicketStore;
  close(): Promise<void>;
}

const factories: Array<[string, () => Promise<Adapters>]> = [
  [
    'in-memory',
    async () => {
      const users = new InMemoryUserRepository();
      return { users, sessions: new InMemorySessionRepository(users), tickets: new InMemoryEventTicketStore(), close: async () => {} };
    },
  ],
  ...(await repositoryEngines()).map((engine): [string, () => Promise<Adapters>] => [
    engine,
    async () => {
      const { db, destroy } = await openTestDatabase(engine);
      return { users: new KnexUserRepository(db), sessions: new KnexSessionRepository(db), tickets: new KnexEventTicketStore(db), close: destroy };
    },
  ]),
];

const T0 = new Date('2026-12-08T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
let serial = 0;

describe.each(factories)('EventTicketStore contract: %s', (_name, factory) => {
  let adapters: Adapters;
  beforeAll(async () => {
    adapters = await factory();
  });
  afterAll(() => adapters.close());

  /** A ticket of a fresh user's login session, valid for 30 s from T0. */
  async function aTicket(overrides: Partial<StoredTicket> = {}): Promise<StoredTicket> {
    serial += 1;
    const user = await adapters.users.create({ username: `tkt_${serial}`, email: `tkt_${serial}@example.com`, name: null, role: 'user', passwordHash: 'h', createdAt: T0 });
    const sessionId = randomUUID();
    await adapters.sessions.create({ id: sessionId, userId: user.id, createdAt: T0, scopes: ['tasks:read'] }, { digest: `refresh-${serial}`.padEnd(64, '0'), expiresAt: later(86_400) });
    return { digest: `ticket-${serial}`.padEnd(64, '0'), userId: user.id, sessionId, personalTokenId: null, expiresAt: later(30), ...overrides };
  }

  it('hands a saved ticket back once, as the credential it stands for', async () => {
    const ticket = await aTicket();
    await adapters.tickets.save(ticket);
    expect(await adapters.tickets.redeem(ticket.digest, later(1))).toEqual({ userId: ticket.userId, sessionId: ticket.sessionId, personalTokenId: null });
    expect(await adapters.tickets.redeem(ticket.digest, later(2))).toBeNull();
  });

  it('knows no ticket it was not given', async () => {
    expect(await adapters.tickets.redeem('never-saved'.padEnd(64, '0'), later(1))).toBeNull();
  });

  it('refuses an expired ticket, and it stays used up', async () => {
    const ticket = await aTicket();
    await adapters.tickets.save(ticket);
    expect(await adapters.tickets.redeem(ticket.digest, later(30))).toBeNull();
    expect(await adapters.tickets.redeem(ticket.digest, later(1))).toBeNull();
  });

  it('of parallel redemptions of one ticket, exactly one gets it', async () => {
    const ticket = await aTicket();
    await adapters.tickets.save(ticket);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => adapters.tickets.redeem(ticket.digest, later(1))));
    expect(outcomes.filter((outcome) => outcome !== null)).toHaveLength(1);
  });

  it('purges the expired tickets only', async () => {
    const expired = await aTicket({ expiresAt: later(10) });
    const live = await aTicket({ expiresAt: later(60) });
    await adapters.tickets.save(expired);
    await adapters.tickets.save(live);
    expect(await adapters.tickets.purgeExpired(later(30))).toBeGreaterThanOrEqual(1);
    expect(await adapters.tickets.redeem(expired.digest, later(1))).toBeNull();
    expect(await adapters.tickets.redeem(live.digest, later(1))).not.toBeNull();
  });
});
