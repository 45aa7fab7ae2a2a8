import type { Principal } from '../../application/index.js';
import { ExpiringMap } from '../shared/expiring-map.js';

export interface PrincipalCacheOptions {
  /** How long an entry is trusted without a word from this process: bounds changes made elsewhere. */
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

/**
 * The principals of live sessions, kept by the one process that changes them. Every change that
 * can end a session or alter a role goes through this process's repositories, which forget the
 * affected entries (CachingSessionRepository, UserChangesForgetCached); the TTL bounds what
 * another process (the CLI, an operator's SQL) might change behind its back.
 *
 * A lookup that missed reads the database and then remembers what it read, unless something was
 * forgotten in between: that read may predate the change, so `remember` takes the ticket handed
 * out before the read and drops the entry when the generation has moved since.
 */
export class PrincipalCache {
  private readonly entries: ExpiringMap<string, Principal>;
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: PrincipalCacheOptions) {
    this.now = options.now ?? Date.now;
    this.entries = new ExpiringMap(options.maxEntries, this.now);
  }

  lookup(sessionId: string, userId: number): Principal | undefined {
    const principal = this.entries.get(sessionId);
    if (principal?.userId === userId) return principal;
    if (principal) this.entries.delete(sessionId);
    return undefined;
  }

  /** Take before reading the database; give to `remember` with what was read. */
  ticket(): number {
    return this.generation;
  }

  remember(principal: Principal, ticket: number): void {
    if (ticket === this.generation) this.entries.set(principal.sessionId, principal, this.now() + this.options.ttlMs);
  }

  forgetSession(sessionId: string): void {
    this.generation++;
    this.entries.delete(sessionId);
  }

  forgetUser(userId: number, exceptSessionId?: string): void {
    this.generation++;
    this.entries.deleteWhere((principal, sessionId) => principal.userId === userId && sessionId !== exceptSessionId);
  }
}
