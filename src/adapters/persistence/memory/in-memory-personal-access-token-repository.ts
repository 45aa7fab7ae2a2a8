import type { NewPersonalAccessToken, PersonalAccessTokenMatch, PersonalAccessTokenRepository, UserRepository } from '../../../application/index.js';
import { isExpired, type PersonalAccessToken } from '../../../domain/index.js';

interface StoredToken extends PersonalAccessToken {
  digest: string;
}

const copy = ({ digest: _digest, ...token }: StoredToken): PersonalAccessToken => ({ ...token, scopes: [...token.scopes] });

/** Behaves like the SQL repository; returns copies, never live objects. */
export class InMemoryPersonalAccessTokenRepository implements PersonalAccessTokenRepository {
  private readonly tokens = new Map<number, StoredToken>();
  private lastId = 0;

  constructor(private readonly users: UserRepository) {}

  async create(token: NewPersonalAccessToken): Promise<PersonalAccessToken> {
    if ([...this.tokens.values()].some((other) => other.digest === token.digest)) throw new Error('duplicate personal access token digest');
    const stored: StoredToken = { ...token, scopes: [...token.scopes], id: ++this.lastId, lastUsedAt: null };
    this.tokens.set(stored.id, stored);
    return copy(stored);
  }

  async listOfUser(userId: number): Promise<PersonalAccessToken[]> {
    return [...this.tokens.values()].filter((token) => token.userId === userId).sort((a, b) => b.id - a.id).map(copy);
  }

  async delete(userId: number, id: number): Promise<boolean> {
    const token = this.tokens.get(id);
    return token?.userId === userId && this.tokens.delete(id);
  }

  async findByDigest(digest: string): Promise<PersonalAccessTokenMatch | null> {
    const token = [...this.tokens.values()].find((candidate) => candidate.digest === digest);
    const user = token && (await this.users.findById(token.userId));
    return token && user ? { token: copy(token), role: user.role } : null;
  }

  async findById(id: number): Promise<PersonalAccessTokenMatch | null> {
    const token = this.tokens.get(id);
    const user = token && (await this.users.findById(token.userId));
    return token && user ? { token: copy(token), role: user.role } : null;
  }

  async liveOf(ids: readonly number[], now: Date): Promise<Set<number>> {
    const live = new Set<number>();
    for (const id of ids) {
      const match = await this.findById(id);
      if (match && !isExpired(match.token, now)) live.add(id);
    }
    return live;
  }

  async recordUse(id: number, minute: Date): Promise<void> {
    const token = this.tokens.get(id);
    if (token && (token.lastUsedAt === null || token.lastUsedAt < minute)) token.lastUsedAt = minute;
  }

  async purgeExpired(expiredBefore: Date): Promise<number> {
    let purged = 0;
    for (const token of this.tokens.values()) if (token.expiresAt !== null && token.expiresAt < expiredBefore) purged += Number(this.tokens.delete(token.id));
    return purged;
  }

  /** Stands in for ON DELETE CASCADE. */
  deleteAllOf(userId: number): void {
    for (const token of this.tokens.values()) if (token.userId === userId) this.tokens.delete(token.id);
  }
}
