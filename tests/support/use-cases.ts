import {
  Authenticate,
  CreateAdmin,
  CreatePersonalAccessToken,
  ListPersonalAccessTokens,
  RevokePersonalAccessToken,
  DeleteUser,
  GetCurrentUser,
  GetUser,
  ListUsers,
  Login,
  Logout,
  PatchUser,
  RefreshSession,
  RegisterUser,
  ReplaceUser,
  SessionStarter,
  UserUpdater,
  type RegisterUserCommand,
} from '../../src/application/index.js';
import { InMemoryPersonalAccessTokenRepository } from '../../src/adapters/persistence/memory/in-memory-personal-access-token-repository.js';
import { Sha256PersonalTokenSecrets } from '../../src/adapters/security/sha256-personal-token-secrets.js';
import { InMemorySessionRepository } from '../../src/adapters/persistence/memory/in-memory-session-repository.js';
import { InMemoryUserRepository } from '../../src/adapters/persistence/memory/in-memory-user-repository.js';
import { FakePasswordHasher, FakeTokenService, FixedClock, SequentialIds, aRegistration } from './fakes.js';

/** Every users-and-auth use case wired to in-memory adapters and fakes, as the container wires the real ones. */
export function useCaseHarness() {
  const clock = new FixedClock();
  const hasher = new FakePasswordHasher();
  const tokens = new FakeTokenService();
  const users = new InMemoryUserRepository();
  const sessions = new InMemorySessionRepository(users);
  const personalTokens = new InMemoryPersonalAccessTokenRepository(users);
  users.onDelete.push((userId) => personalTokens.deleteAllOf(userId));
  const secrets = new Sha256PersonalTokenSecrets();
  const starter = new SessionStarter(sessions, tokens, new SequentialIds(), clock);
  const registerUser = new RegisterUser(users, hasher, clock);
  const updater = new UserUpdater(users, sessions, hasher, clock);
  const useCases = {
    registerUser,
    createAdmin: new CreateAdmin(users, registerUser),
    login: new Login(users, hasher, starter),
    refreshSession: new RefreshSession(sessions, users, tokens, starter, clock),
    logout: new Logout(sessions, clock),
    authenticate: new Authenticate(tokens, sessions, personalTokens, secrets, clock),
    createPersonalAccessToken: new CreatePersonalAccessToken(personalTokens, secrets, clock),
    listPersonalAccessTokens: new ListPersonalAccessTokens(personalTokens),
    revokePersonalAccessToken: new RevokePersonalAccessToken(personalTokens),
    getCurrentUser: new GetCurrentUser(users),
    getUser: new GetUser(users),
    listUsers: new ListUsers(users),
    replaceUser: new ReplaceUser(updater),
    patchUser: new PatchUser(updater),
    deleteUser: new DeleteUser(users),
  };

  /** Signs up and logs in; returns the user, their password, token pair and principal. */
  async function account(overrides: Partial<RegisterUserCommand> = {}, role: 'user' | 'admin' = 'user') {
    const command = aRegistration(overrides);
    const user = await registerUser.execute(command, role);
    const pair = await useCases.login.execute({ login: command.username, password: command.password });
    const principal = await useCases.authenticate.execute(pair.accessToken);
    return { user, password: command.password, pair, principal };
  }

  return { clock, hasher, tokens, users, sessions, personalTokens, ...useCases, account };
}
