import type { User } from '../../domain/index.js';
import { DomainError, actsAsAdministrator } from '../../domain/index.js';
import type { Principal, UserRepository } from '../ports/index.js';

export const userNotFound = () => new DomainError('USER_NOT_FOUND', 'No such user.');

/** A user is visible to themself and to admins acting with `admin`; to anyone else it does not exist. */
export async function findVisibleUser(users: UserRepository, actor: Principal, id: number): Promise<User> {
  if (actor.userId !== id && !actsAsAdministrator(actor)) throw userNotFound();
  const user = await users.findById(id);
  if (!user) throw userNotFound();
  return user;
}
