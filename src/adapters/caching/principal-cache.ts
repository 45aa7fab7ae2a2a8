import type { Principal } from '../../application/index.js';

export interface PrincipalCacheOptions {
  /** How long an entry is trusted without a word from this process: bounds changes made elsewhere. */
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  principal: Principal;
  expiresAt: number;
}

/**
 * The principals of live sessions, kept by the one process that changes them. Every change that
 * can end a session or alter a role goes through this process's repositories, which forget the
 * affected entries (CachingSessionRepository, UserChangesForgetPrincipals); the TTL bounds what
 * another process (the CLI, an operator's SQL) might change behind its back.
 *
 * A lookup that missed reads the database and then remembers what it read, unless something was
 * forgotten in between: that read may predate the change, so `remember` takes the ticket handed
 * out before the read and drops the entry when the generation has moved since.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: PrincipalCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  lookup(sessionId: string, userId: number): Principal | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now() || entry.principal.userId !== userId) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.principal;
  }

  /** Take before reading the database; give to `remember` with what was read. */
  ticket(): number {
    return this.generation;
  }

  remember(principal: Principal, ticket: number): void {
    if (ticket !== this.generation) return;
    if (this.entries.size >= this.options.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(principal.sessionId, { principal, expiresAt: this.now() + this.options.ttlMs });
  }

  forgetSession(sessionId: string): void {
    this.generation++;
    this.entries.delete(sessionId);
  }

  forgetUser(userId: number, exceptSessionId?: string): void {
    this.generation++;
    for (const [sessionId, entry] of this.entries) {
      if (entry.principal.userId === userId && sessionId !== exceptSessionId) this.entries.delete(sessionId);
    }
  }
}
