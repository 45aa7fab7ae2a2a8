import type { Role, User } from '../../domain/index.js';
import { checkPassword, parseDisplayName, parseEmail, parseFields, parseUsername } from '../../domain/index.js';
import type { Clock, PasswordHasher, UserRepository } from '../ports/index.js';

export interface RegisterUserCommand {
  username: string;
  email: string;
  password: string;
  name?: string | null;
}

/** Public sign-up; the role is always "user" unless an operator creates an admin. */
export class RegisterUser {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async execute(cmd: RegisterUserCommand, role: Role = 'user'): Promise<User> {
    const fields = parseFields({
      username: () => parseUsername(cmd.username),
      email: () => parseEmail(cmd.email),
      password: () => checkPassword(cmd.password),
      name: () => parseDisplayName(cmd.name),
    });
    return this.users.create({
      username: fields.username,
      email: fields.email,
      name: fields.name,
      role,
      passwordHash: await this.hasher.hash(fields.password),
      createdAt: this.clock.now(),
    });
  }
}
