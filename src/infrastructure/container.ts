import 'reflect-metadata';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import {
  Authenticate,
  CLOCK,
  CreateAdmin,
  DeleteUser,
  EVENT_PUBLISHER,
  GetCurrentUser,
  GetUser,
  ID_GENERATOR,
  ListUsers,
  Login,
  Logout,
  PASSWORD_HASHER,
  PatchUser,
  RefreshSession,
  RegisterUser,
  ReplaceUser,
  SESSION_REPOSITORY,
  SessionStarter,
  TOKEN_SERVICE,
  USER_REPOSITORY,
  UserUpdater,
  type Clock,
  type EventPublisher,
  type IdGenerator,
  type PasswordHasher,
  type SessionRepository,
  type TokenService,
  type UserRepository,
} from '../application/index.js';
import type { HttpUseCases } from '../adapters/http/http-app.js';
import { KnexSessionRepository } from '../adapters/persistence/knex/knex-session-repository.js';
import { KnexUserRepository } from '../adapters/persistence/knex/knex-user-repository.js';
import { InMemorySessionRepository } from '../adapters/persistence/memory/in-memory-session-repository.js';
import { InMemoryUserRepository } from '../adapters/persistence/memory/in-memory-user-repository.js';
import { Argon2PasswordHasher, type Argon2Options } from '../adapters/security/argon2-password-hasher.js';
import { JwtTokenService } from '../adapters/security/jwt-token-service.js';
import { NoOpEventPublisher } from '../adapters/system/no-op-event-publisher.js';
import { SystemClock } from '../adapters/system/system-clock.js';
import { UuidGenerator } from '../adapters/system/uuid-generator.js';
import type { Config } from './config.js';

export const CONFIG = Symbol('Config');
export const LOGGER = Symbol('Logger');
export const KNEX = Symbol('Knex');

/** One instance per container, built on first use by an explicit factory (no decorator metadata). */
function single<T>(c: DependencyContainer, token: InjectionToken<T>, build: (c: DependencyContainer) => T): void {
  c.register(token, { useFactory: instanceCachingFactory(build) });
}

const r = <T>(c: DependencyContainer, token: InjectionToken<T>): T => c.resolve<T>(token);

export interface ContainerOptions {
  config: Config;
  logger: Logger;
  /** The SQL connection; omitted, the container gets in-memory repositories instead. */
  db?: Knex;
  argon2?: Argon2Options;
}

/** The one place that chooses adapters. */
export function createContainer({ config, logger, db, argon2 }: ContainerOptions): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(CONFIG, { useValue: config });
  c.register(LOGGER, { useValue: logger });

  single<Clock>(c, CLOCK, () => new SystemClock());
  single<IdGenerator>(c, ID_GENERATOR, () => new UuidGenerator());
  single<EventPublisher>(c, EVENT_PUBLISHER, () => new NoOpEventPublisher());
  single<PasswordHasher>(c, PASSWORD_HASHER, () => new Argon2PasswordHasher(argon2));
  single<TokenService>(c, TOKEN_SERVICE, () => new JwtTokenService(config.jwt));

  if (db) {
    c.register(KNEX, { useValue: db });
    single<UserRepository>(c, USER_REPOSITORY, () => new KnexUserRepository(db));
    single<SessionRepository>(c, SESSION_REPOSITORY, () => new KnexSessionRepository(db));
  } else {
    single<UserRepository>(c, USER_REPOSITORY, () => new InMemoryUserRepository());
    single<SessionRepository>(c, SESSION_REPOSITORY, (c) => new InMemorySessionRepository(r(c, USER_REPOSITORY)));
  }

  registerUseCases(c);
  return c;
}

function registerUseCases(c: DependencyContainer): void {
  single(c, SessionStarter, (c) => new SessionStarter(r(c, SESSION_REPOSITORY), r(c, TOKEN_SERVICE), r(c, ID_GENERATOR), r(c, CLOCK)));
  single(c, RegisterUser, (c) => new RegisterUser(r(c, USER_REPOSITORY), r(c, PASSWORD_HASHER), r(c, CLOCK)));
  single(c, CreateAdmin, (c) => new CreateAdmin(r(c, USER_REPOSITORY), r(c, RegisterUser)));
  single(c, Login, (c) => new Login(r(c, USER_REPOSITORY), r(c, PASSWORD_HASHER), r(c, SessionStarter)));
  single(c, RefreshSession, (c) => new RefreshSession(r(c, SESSION_REPOSITORY), r(c, TOKEN_SERVICE), r(c, SessionStarter), r(c, CLOCK)));
  single(c, Logout, (c) => new Logout(r(c, SESSION_REPOSITORY), r(c, CLOCK)));
  single(c, Authenticate, (c) => new Authenticate(r(c, TOKEN_SERVICE), r(c, SESSION_REPOSITORY)));
  single(c, GetCurrentUser, (c) => new GetCurrentUser(r(c, USER_REPOSITORY)));
  single(c, GetUser, (c) => new GetUser(r(c, USER_REPOSITORY)));
  single(c, ListUsers, (c) => new ListUsers(r(c, USER_REPOSITORY)));
  single(c, UserUpdater, (c) => new UserUpdater(r(c, USER_REPOSITORY), r(c, SESSION_REPOSITORY), r(c, PASSWORD_HASHER), r(c, CLOCK)));
  single(c, ReplaceUser, (c) => new ReplaceUser(r(c, UserUpdater)));
  single(c, PatchUser, (c) => new PatchUser(r(c, UserUpdater)));
  single(c, DeleteUser, (c) => new DeleteUser(r(c, USER_REPOSITORY)));
}

export function resolveHttpUseCases(c: DependencyContainer): HttpUseCases {
  return {
    registerUser: r(c, RegisterUser),
    login: r(c, Login),
    refreshSession: r(c, RefreshSession),
    logout: r(c, Logout),
    authenticate: r(c, Authenticate),
    getCurrentUser: r(c, GetCurrentUser),
    getUser: r(c, GetUser),
    listUsers: r(c, ListUsers),
    replaceUser: r(c, ReplaceUser),
    patchUser: r(c, PatchUser),
    deleteUser: r(c, DeleteUser),
  };
}
