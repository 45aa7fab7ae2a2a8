import type { NewUser, Page, PageQuery, UserChanges, UserRepository } from '../../../application/index.js';
import { emailTaken, identityKey, usernameTaken, type User } from '../../../domain/index.js';

/** Behaves like the SQL repositories, including their uniqueness rules; returns copies, never live objects. */
export class InMemoryUserRepository implements UserRepository {
  private readonly users = new Map<number, User>();
  private lastId = 0;

  /** Stands in for ON DELETE CASCADE: other in-memory stores drop what the user owned. */
  readonly onDelete: Array<(userId: number) => void> = [];

  async create(user: NewUser): Promise<User> {
    this.assertUnique(user);
    const created: User = { ...user, id: ++this.lastId, updatedAt: user.createdAt };
    this.users.set(created.id, created);
    return { ...created };
  }

  async findById(id: number): Promise<User | null> {
    const user = this.users.get(id);
    return user ? { ...user } : null;
  }

  async findByLogin(login: string): Promise<User | null> {
    const key = identityKey(login);
    const user = [...this.users.values()].find((u) => identityKey(u.username) === key || identityKey(u.email) === key);
    return user ? { ...user } : null;
  }

  async update(id: number, changes: UserChanges): Promise<User | null> {
    const user = this.users.get(id);
    if (!user) return null;
    this.assertUnique(changes, id);
    const updated = { ...user, ...changes };
    this.users.set(id, updated);
    return { ...updated };
  }

  async delete(id: number): Promise<boolean> {
    const deleted = this.users.delete(id);
    if (deleted) this.onDelete.forEach((listener) => listener(id));
    return deleted;
  }

  async list(query: PageQuery): Promise<Page<User>> {
    const q = query.q?.toLowerCase();
    const matching = [...this.users.values()]
      .filter((u) => !q || [u.username, u.email, u.name ?? ''].some((text) => text.toLowerCase().includes(q)))
      .sort((a, b) => a.id - b.id);
    return { items: matching.slice(query.offset, query.offset + query.limit).map((u) => ({ ...u })), total: matching.length };
  }

  async adminExists(): Promise<boolean> {
    return [...this.users.values()].some((u) => u.role === 'admin');
  }

  private assertUnique(candidate: { username?: string; email?: string }, exceptId?: number): void {
    for (const other of this.users.values()) {
      if (other.id === exceptId) continue;
      if (candidate.username !== undefined && identityKey(other.username) === identityKey(candidate.username)) {
        throw usernameTaken();
      }
      if (candidate.email !== undefined && identityKey(other.email) === identityKey(candidate.email)) {
        throw emailTaken();
      }
    }
  }
}
