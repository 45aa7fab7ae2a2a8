import { DomainError, checkScopeSyntax, grantRequestedScope } from '../../domain/index.js';
import type { PasswordHasher, UserRepository } from '../ports/index.js';
import type { SessionStarter, TokenPair } from './token-pair.js';

export interface LoginCommand {
  /** A username or an email address, in any case. */
  login: string;
  password: string;
  /** OAuth2 `scope`, space-separated; absent: every scope the user may hold. */
  scope?: string;
}

export class Login {
  constructor(
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessionStarter: SessionStarter,
  ) {}

  async execute(cmd: LoginCommand): Promise<TokenPair> {
    // An unknown scope is refused before the password is checked: that answer reveals nothing.
    checkScopeSyntax(cmd.scope);
    const user = await this.users.findByLogin(cmd.login.trim());
    const passwordMatches = user
      ? await this.hasher.verify(user.passwordHash, cmd.password)
      : await this.hasher.verifyAgainstDummy(cmd.password);
    if (!user || !passwordMatches) {
      throw new DomainError('INVALID_CREDENTIALS', 'The username or password is incorrect.');
    }
    return this.sessionStarter.start(user, grantRequestedScope(cmd.scope, user.role));
  }
}
