import type { Principal, UserRepository } from '../ports/index.js';
import { findVisibleUser, userNotFound } from './user-access.js';

/** Deletes the account and, by cascade, its tasks and sessions. */
export class DeleteUser {
  constructor(private readonly users: UserRepository) {}

  async execute(actor: Principal, id: number): Promise<void> {
    await findVisibleUser(this.users, actor, id);
    if (!(await this.users.delete(id))) throw userNotFound();
  }
}
