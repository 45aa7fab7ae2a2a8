import type { User } from '../../domain/index.js';
import type { Principal, UserRepository } from '../ports/index.js';
import { findVisibleUser, userNotFound } from './user-access.js';

export class GetUser {
  constructor(private readonly users: UserRepository) {}

  execute(actor: Principal, id: number): Promise<User> {
    return findVisibleUser(this.users, actor, id);
  }
}

export class GetCurrentUser {
  constructor(private readonly users: UserRepository) {}

  async execute(actor: Principal): Promise<User> {
    const user = await this.users.findById(actor.userId);
    if (!user) throw userNotFound();
    return user;
  }
}
