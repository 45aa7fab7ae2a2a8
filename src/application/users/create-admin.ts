import type { User } from '../../domain/index.js';
import type { UserRepository } from '../ports/index.js';
import type { RegisterUser, RegisterUserCommand } from './register-user.js';

/** Creates an administrator: at start-up only while none exists, from the command line always. */
export class CreateAdmin {
  constructor(
    private readonly users: UserRepository,
    private readonly registerUser: RegisterUser,
  ) {}

  async execute(cmd: RegisterUserCommand, options: { onlyIfNoAdmin: boolean }): Promise<User | null> {
    if (options.onlyIfNoAdmin && (await this.users.adminExists())) return null;
    return this.registerUser.execute(cmd, 'admin');
  }
}
