import type { User } from '../../domain/index.js';
import { DomainError, actsAsAdministrator } from '../../domain/index.js';
import type { Page, PageQuery, Principal, UserRepository } from '../ports/index.js';

export class ListUsers {
  constructor(private readonly users: UserRepository) {}

  async execute(actor: Principal, query: PageQuery): Promise<Page<User>> {
    if (!actsAsAdministrator(actor)) throw new DomainError('FORBIDDEN', 'Only administrators may list users.');
    return this.users.list({ ...query, q: query.q?.trim() || undefined });
  }
}
