import type { Role, User } from '../../domain/index.js';
import { DomainError, ValidationError, actsAsAdministrator, checkPassword, parseDisplayName, parseEmail, parseFields, parseUsername } from '../../domain/index.js';
import type { Clock, PasswordHasher, Principal, SessionRepository, UserChanges, UserRepository } from '../ports/index.js';
import { requireLoginSession } from '../auth/login-session.js';
import { findVisibleUser, userNotFound } from './user-access.js';

export interface UserPatch {
  username?: string;
  email?: string;
  name?: string | null;
  password?: string;
  role?: Role;
  current_password?: string;
}

export interface UserReplacement {
  username: string;
  email: string;
  name?: string | null;
  password?: string;
  role?: Role;
  current_password?: string;
}

/**
 * The rules every change to an account obeys, whether it replaces or patches: ownership, who may
 * set a role, re-authentication for one's own credentials, and revoking other sessions after.
 */
export class UserUpdater {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async apply(actor: Principal, id: number, patch: UserPatch): Promise<User> {
    const target = await findVisibleUser(this.users, actor, id);
    if (patch.role !== undefined && !actsAsAdministrator(actor)) {
      throw new DomainError('FORBIDDEN', 'Only administrators may set a role.');
    }
    const fields = parseFields({
      username: () => (patch.username === undefined ? undefined : parseUsername(patch.username)),
      email: () => (patch.email === undefined ? undefined : parseEmail(patch.email)),
      name: () => (patch.name === undefined ? undefined : parseDisplayName(patch.name)),
      password: () => (patch.password === undefined ? undefined : checkPassword(patch.password)),
    });

    const changes: UserChanges = { updatedAt: this.clock.now() };
    if (fields.username !== undefined && fields.username !== target.username) changes.username = fields.username;
    if (fields.email !== undefined && fields.email !== target.email) changes.email = fields.email;
    if (fields.name !== undefined && fields.name !== target.name) changes.name = fields.name;
    if (patch.role !== undefined && patch.role !== target.role) changes.role = patch.role;
    const credentialsChange = fields.password !== undefined || changes.email !== undefined;

    // Credentials change only in a login session, which then stays the one signed in.
    const keptSession = credentialsChange ? requireLoginSession(actor, 'Changing a password or an email') : undefined;
    if (credentialsChange && actor.userId === target.id) await this.reauthenticate(target, patch.current_password);
    if (fields.password !== undefined) changes.passwordHash = await this.hasher.hash(fields.password);
    if (Object.keys(changes).length === 1) return target;

    const updated = await this.users.update(id, changes);
    if (!updated) throw userNotFound();
    if (credentialsChange) await this.sessions.revokeAllOfUser(id, changes.updatedAt, keptSession);
    return updated;
  }

  private async reauthenticate(user: User, currentPassword: string | undefined): Promise<void> {
    if (currentPassword === undefined || currentPassword === '') {
      throw new ValidationError(
        [{ field: 'current_password', message: 'is required to change your own password or email' }],
        'Changing your own password or email requires your current password.',
      );
    }
    if (!(await this.hasher.verify(user.passwordHash, currentPassword))) {
      throw new DomainError('CURRENT_PASSWORD_WRONG', 'The current password is incorrect.');
    }
  }
}

/** PUT: every writable field is given; an omitted name returns to none. */
export class ReplaceUser {
  constructor(private readonly updater: UserUpdater) {}

  execute(actor: Principal, id: number, replacement: UserReplacement): Promise<User> {
    return this.updater.apply(actor, id, { ...replacement, name: replacement.name ?? null });
  }
}

/** PATCH: only the fields given change. */
export class PatchUser {
  constructor(private readonly updater: UserUpdater) {}

  execute(actor: Principal, id: number, patch: UserPatch): Promise<User> {
    return this.updater.apply(actor, id, patch);
  }
}
