import type { PersonalAccessToken, PersonalAccessTokenSpec, Role } from '../../domain/index.js';
import { DomainError, parsePersonalAccessTokenSpec } from '../../domain/index.js';
import type { Clock, PersonalAccessTokenRepository, PersonalTokenSecrets } from '../ports/index.js';

/** Whose token it is: the caller over HTTP, the named user from the command line. */
export interface TokenOwner {
  userId: number;
  role: Role;
}

export interface CreatedPersonalAccessToken {
  token: PersonalAccessToken;
  /** The secret, handed out this once. */
  secret: string;
}

export class CreatePersonalAccessToken {
  constructor(
    private readonly tokens: PersonalAccessTokenRepository,
    private readonly secrets: PersonalTokenSecrets,
    private readonly clock: Clock,
  ) {}

  async execute(owner: TokenOwner, spec: PersonalAccessTokenSpec): Promise<CreatedPersonalAccessToken> {
    const now = this.clock.now();
    const fields = parsePersonalAccessTokenSpec(spec, owner.role, now);
    const secret = this.secrets.generate();
    const token = await this.tokens.create({ userId: owner.userId, ...fields, createdAt: now, digest: secret.digest });
    return { token, secret: secret.token };
  }
}

export class ListPersonalAccessTokens {
  constructor(private readonly tokens: PersonalAccessTokenRepository) {}

  execute(owner: TokenOwner): Promise<PersonalAccessToken[]> {
    return this.tokens.listOfUser(owner.userId);
  }
}

/** Deleting is revoking: the next request with the token, on any instance, is refused. */
export class RevokePersonalAccessToken {
  constructor(private readonly tokens: PersonalAccessTokenRepository) {}

  async execute(owner: TokenOwner, id: number): Promise<void> {
    if (!(await this.tokens.delete(owner.userId, id))) throw new DomainError('PERSONAL_TOKEN_NOT_FOUND', 'No such personal access token.');
  }
}
