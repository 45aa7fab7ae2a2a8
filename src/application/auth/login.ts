import { DomainError } from '../../domain/index.js';
import type { PasswordHasher, UserRepository } from '../ports/index.js';
import type { SessionStarter, TokenPair } from './token-pair.js';

export interface LoginCommand {
  /** A username or an email address, in any case. */
  login: string;
  password: string;
}

export class Login {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessionStarter: SessionStarter,
  ) {}

  async execute(cmd: LoginCommand): Promise<TokenPair> {
    const user = await this.users.findByLogin(cmd.login.trim());
    const passwordMatches = user
      ? await this.hasher.verify(user.passwordHash, cmd.password)
      : await this.hasher.verifyAgainstDummy(cmd.password);
    if (!user || !passwordMatches) {
      throw new DomainError('INVALID_CREDENTIALS', 'The username or password is incorrect.');
    }
    return this.sessionStarter.start(user.id);
  }
}
