import type { NewUser, Page, PageQuery, UserChanges, UserRepository } from '../../application/index.js';
import type { User } from '../../domain/index.js';
import type { PrincipalCache } from './principal-cache.js';
import type { TaskCache } from './task-cache.js';

/**
 * A principal carries its user's role, and a deleted user's sessions and tasks go with it: these
 * changes make this process forget what it cached of the user once they have reached the database.
 */
export class UserChangesForgetCached implements UserRepository {
  constructor(
    private readonly inner: UserRepository,
    private readonly principals: PrincipalCache,
    /** Null where tasks are not cached. */
    private readonly tasks: TaskCache | null,
  ) {}

  create(user: NewUser): Promise<User> {
    return this.inner.create(user);
  }

  findById(id: number): Promise<User | null> {
    return this.inner.findById(id);
  }

  findByLogin(login: string): Promise<User | null> {
    return this.inner.findByLogin(login);
  }

  async update(id: number, changes: UserChanges): Promise<User | null> {
    try {
      return await this.inner.update(id, changes);
    } finally {
      this.principals.forgetUser(id);
    }
  }

  async delete(id: number): Promise<boolean> {
    try {
      return await this.inner.delete(id);
    } finally {
      this.principals.forgetUser(id);
      this.tasks?.forgetUser(id);
    }
  }

  list(query: PageQuery): Promise<Page<User>> {
    return this.inner.list(query);
  }

  adminExists(): Promise<boolean> {
    return this.inner.adminExists();
  }
}
