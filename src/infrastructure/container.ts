import 'reflect-metadata';
import type { Knex } from 'knex';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import {
  Authenticate,
  CLOCK,
  CURSOR_CODEC,
  CreateAdmin,
  CreateTask,
  DeleteTask,
  DeleteUser,
  FireDueReminders,
  FireReminder,
  JOB_QUEUE,
  ReminderScheduler,
  CHANGE_LOG,
  CHANGE_NOTIFIER,
  EVENT_PUBLISHER,
  EVENT_TICKET_SECRETS,
  EVENT_TICKET_STORE,
  IssueEventTicket,
  LiveEvents,
  RedeemEventTicket,
  GetCurrentUser,
  GetTask,
  GetUser,
  ID_GENERATOR,
  IDEMPOTENCY_STORE,
  ListTasks,
  ListUsers,
  Login,
  Logout,
  PASSWORD_HASHER,
  PERSONAL_ACCESS_TOKEN_REPOSITORY,
  PERSONAL_TOKEN_SECRETS,
  CreatePersonalAccessToken,
  ListPersonalAccessTokens,
  RevokePersonalAccessToken,
  PatchTask,
  PatchUser,
  PurgeEndedSessions,
  PurgeExpiredEvents,
  PurgeExpiredIdempotencyKeys,
  PurgeExpiredPersonalAccessTokens,
  RefreshSession,
  RegisterUser,
  ReplaceTask,
  ReplaceUser,
  SESSION_REPOSITORY,
  SessionStarter,
  SyncTasks,
  TASK_REPOSITORY,
  TOKEN_SERVICE,
  TRANSACTION_RUNNER,
  TaskUpdater,
  USER_REPOSITORY,
  UserUpdater,
  type Clock,
  type CursorCodec,
  type ChangeLog,
  type ChangeNotifier,
  type EventPublisher,
  type EventTicketStore,
  type LiveEventsOptions,
  type IdGenerator,
  type IdempotencyStore,
  type JobQueue,
  type PasswordHasher,
  type PersonalAccessTokenRepository,
  type PersonalTokenSecrets,
  type ReportFailure,
  type SessionRepository,
  type TaskRepository,
  type TokenService,
  type TransactionRunner,
  type UserRepository,
  BLOB_STORAGE,
  EXPORT_ENCODERS,
  EXPORT_REPOSITORY,
  ExpireExports,
  GetExport,
  ListExports,
  OpenExportDownload,
  RequestExport,
  RunExport,
  TASK_SNAPSHOTS,
  type BlobStorage,
  type ExportEncoders,
  type ExportRepository,
  type TaskSnapshots,
  ATTACHMENT_REPOSITORY,
  DeleteAttachment,
  GetAttachment,
  ListAttachments,
  OpenAttachmentContent,
  PurgeBlobGarbage,
  UploadAttachment,
  type AttachmentRepository,
  GENERATION_MONITOR,
  GenerateTasks,
  WINDOW_COUNTER,
  type GenerationMonitor,
  type TaskGenerator,
  type WindowCounter,
} from '../application/index.js';
import { OpenAiTaskGenerator } from '../adapters/ai/openai-task-generator.js';
import { InMemoryWindowCounter } from '../adapters/shared/in-memory-window-counter.js';
import { KnexAttachmentRepository } from '../adapters/persistence/knex/knex-attachment-repository.js';
import { InMemoryAttachmentRepository } from '../adapters/persistence/memory/in-memory-attachment-repository.js';
import { exportEncoders } from '../adapters/exports/export-encoders.js';
import { InMemoryJobQueue } from '../adapters/jobs/in-memory-job-queue.js';
import { KnexExportRepository } from '../adapters/persistence/knex/knex-export-repository.js';
import { KnexTaskSnapshots } from '../adapters/persistence/knex/knex-task-snapshots.js';
import { clientReadTimeoutMs } from '../adapters/persistence/knex/database.js';
import { InMemoryExportRepository } from '../adapters/persistence/memory/in-memory-export-repository.js';
import { InMemoryTaskSnapshots } from '../adapters/persistence/memory/in-memory-task-snapshots.js';
import { FilesystemBlobStorage } from '../adapters/storage/filesystem-blob-storage.js';
import { InMemoryBlobStorage } from '../adapters/storage/in-memory-blob-storage.js';
import { createS3Client, S3BlobStorage } from '../adapters/storage/s3-blob-storage.js';
import type { HttpUseCases } from '../adapters/http/http-app.js';
import { KnexPersonalAccessTokenRepository } from '../adapters/persistence/knex/knex-personal-access-token-repository.js';
import { KnexIdempotencyStore } from '../adapters/persistence/knex/knex-idempotency-store.js';
import { KnexSessionRepository } from '../adapters/persistence/knex/knex-session-repository.js';
import { KnexTaskRepository } from '../adapters/persistence/knex/knex-task-repository.js';
import { KnexTransactionRunner } from '../adapters/persistence/knex/knex-transaction-runner.js';
import { KnexUserRepository } from '../adapters/persistence/knex/knex-user-repository.js';
import { InMemoryPersonalAccessTokenRepository } from '../adapters/persistence/memory/in-memory-personal-access-token-repository.js';
import { InMemoryIdempotencyStore } from '../adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemorySessionRepository } from '../adapters/persistence/memory/in-memory-session-repository.js';
import { InMemoryTaskRepository } from '../adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../adapters/persistence/memory/in-memory-transaction-runner.js';
import { InMemoryUserRepository } from '../adapters/persistence/memory/in-memory-user-repository.js';
import { Argon2PasswordHasher, type Argon2Options } from '../adapters/security/argon2-password-hasher.js';
import { Sha256PersonalTokenSecrets } from '../adapters/security/sha256-personal-token-secrets.js';
import { HmacCursorCodec } from '../adapters/security/hmac-cursor-codec.js';
import { InProcessChangeNotifier } from '../adapters/events/in-process-change-notifier.js';
import { KnexChangeLog, KnexEventPublisher } from '../adapters/persistence/knex/knex-change-log.js';
import { KnexEventTicketStore } from '../adapters/persistence/knex/knex-event-ticket-store.js';
import { InMemoryChangeLog } from '../adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../adapters/persistence/memory/in-memory-event-publisher.js';
import { InMemoryEventTicketStore } from '../adapters/persistence/memory/in-memory-event-ticket-store.js';
import { SystemClock } from '../adapters/system/system-clock.js';
import { UuidGenerator } from '../adapters/system/uuid-generator.js';
import { EVENT_TICKET_PREFIX } from '../domain/index.js';
import type { Config } from './config.js';

/** One instance per container, built on first use by an explicit factory (no decorator metadata). */
function single<T>(c: DependencyContainer, token: InjectionToken<T>, build: (c: DependencyContainer) => T): void {
  c.register(token, { useFactory: instanceCachingFactory(build) });
}

const r = <T>(c: DependencyContainer, token: InjectionToken<T>): T => c.resolve<T>(token);

export interface ContainerOptions {
  config: Config;
  /** The SQL connection; omitted, the container gets in-memory repositories instead. */
  db?: Knex;
  /** Where reads outside transactions go (openReadPool); `db` when omitted. */
  reads?: Knex;
  /** Where an export reads its snapshot (openSnapshotPool); `reads` when omitted. */
  snapshots?: Knex;
  argon2?: Argon2Options;
  /** Built ahead (it is asynchronous: see createJwtTokenService); processes that issue no tokens omit it. */
  tokenService?: TokenService;
  /** How commits reach the streams of other instances (Redis, PostgreSQL); this process alone when omitted. */
  notifier?: ChangeNotifier;
  liveEvents?: LiveEventsOptions;
  /** Where use cases hand background work; omitted: a queue in this process's memory (the due-reminders sweep fires what it held). */
  jobQueue?: JobQueue;
  /** Where blobs live (see openBlobStorage); omitted: the store STORAGE_URL names, or this process's memory without a database. */
  blobStorage?: BlobStorage;
  /** Counts per-user quotas (AI generation): shared through Redis when given; this process's own count when omitted. */
  windowCounter?: WindowCounter;
  /** Where generation outcomes go (metrics, logs); nowhere when omitted. */
  generationMonitor?: GenerationMonitor;
  /** Told of failures in work that no caller waits for (a job not enqueued after its write committed); stderr when omitted. */
  reportError?: (error: unknown, what: string) => void;
}

const toStderr = (error: unknown, what: string): void => console.error(`${what}:`, error);

/** In-memory stores drop a deleted user's data, as ON DELETE CASCADE does in SQL. */
function cascadeFromUsers<T extends { deleteAllOf(userId: number): void }>(c: DependencyContainer, store: T): T {
  r<InMemoryUserRepository>(c, USER_REPOSITORY).onDelete.push((userId) => store.deleteAllOf(userId));
  return store;
}

/** The blob storage STORAGE_URL names, with what a process needs around it. */
export interface OpenedBlobStorage {
  storage: BlobStorage;
  /** Whether the store answers, for /ready; null for a local folder, which has nothing to ask. */
  readiness: (() => Promise<boolean>) | null;
  /** Releases the store's connections; the storage is not used after. */
  close(): void;
}

/** How long /ready waits for the bucket: under the readiness probe's own 2 s, so a slow store fails the check instead of piling up requests. */
const STORAGE_CHECK_TIMEOUT_MS = 1_500;

/** The one storage of the service: export files and attachments, for the API and the workers alike. */
export function openBlobStorage(config: Config): OpenedBlobStorage {
  const { storage } = config;
  if (storage.kind === 'file') return { storage: new FilesystemBlobStorage(storage.directory), readiness: null, close: () => {} };
  const client = createS3Client({ endpoint: storage.endpoint ?? undefined, region: storage.region, forcePathStyle: storage.forcePathStyle });
  const s3 = new S3BlobStorage(client, { bucket: storage.bucket, prefix: storage.prefix });
  return { storage: s3, readiness: () => s3.reachable(STORAGE_CHECK_TIMEOUT_MS), close: () => client.destroy() };
}

/** The one place that chooses adapters. */
export function createContainer(options: ContainerOptions): DependencyContainer {
  const { config, db, reads, snapshots, argon2, tokenService, notifier, liveEvents } = options;
  const reportError = options.reportError ?? toStderr;
  const c = rootContainer.createChildContainer();

  single<Clock>(c, CLOCK, () => new SystemClock());
  single<IdGenerator>(c, ID_GENERATOR, () => new UuidGenerator());
  single<ChangeNotifier>(c, CHANGE_NOTIFIER, () => notifier ?? new InProcessChangeNotifier());
  single<PersonalTokenSecrets>(c, EVENT_TICKET_SECRETS, () => new Sha256PersonalTokenSecrets(EVENT_TICKET_PREFIX));
  single<PasswordHasher>(c, PASSWORD_HASHER, () => new Argon2PasswordHasher(argon2));
  if (tokenService) c.register<TokenService>(TOKEN_SERVICE, { useValue: tokenService });
  single<PersonalTokenSecrets>(c, PERSONAL_TOKEN_SECRETS, () => new Sha256PersonalTokenSecrets());
  single<CursorCodec>(c, CURSOR_CODEC, () => HmacCursorCodec.fromSecret(config.jwt.secret));

  single<JobQueue>(c, JOB_QUEUE, () => options.jobQueue ?? new InMemoryJobQueue());
  single<ExportEncoders>(c, EXPORT_ENCODERS, () => exportEncoders());

  if (db) registerSqlStores(c, config, db, reads ?? db, snapshots ?? reads ?? db);
  else registerInMemoryStores(c);
  // Processes that serve or run jobs open the storage themselves (to close it and report on it);
  // the CLI's commands do not use it, and get the configured one should they ever resolve it.
  if (options.blobStorage) c.register<BlobStorage>(BLOB_STORAGE, { useValue: options.blobStorage });
  else if (db) single<BlobStorage>(c, BLOB_STORAGE, () => openBlobStorage(config).storage);
  registerReminders(c, (error) => reportError(error, 'a task reminder could not be scheduled or cancelled; the due-reminders sweep fires it when due'));
  registerUseCases(c);
  registerEventUseCases(c, config);
  registerHousekeepingUseCases(c, config);
  registerExportUseCases(c, config, reportError);
  registerAttachmentUseCases(c, config, reportError);
  registerGeneration(c, config, options);
  single(c, LiveEvents, (c) =>
    new LiveEvents(r(c, CHANGE_LOG), r(c, CHANGE_NOTIFIER), r(c, SESSION_REPOSITORY), r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY), r(c, CLOCK), liveEvents),
  );
  return c;
}

/**
 * Every request asks the database: no process keeps a copy of sessions, roles or tasks that
 * another process (a second instance, even on the same SQLite file, or the CLI) could change.
 */
function registerSqlStores(c: DependencyContainer, config: Config, db: Knex, reads: Knex, snapshots: Knex): void {
  single<UserRepository>(c, USER_REPOSITORY, () => new KnexUserRepository(db, reads));
  single<SessionRepository>(c, SESSION_REPOSITORY, () => new KnexSessionRepository(db, reads));
  single<PersonalAccessTokenRepository>(c, PERSONAL_ACCESS_TOKEN_REPOSITORY, () => new KnexPersonalAccessTokenRepository(db, reads));
  single<TaskRepository>(c, TASK_REPOSITORY, () => new KnexTaskRepository(db, reads));
  single<IdempotencyStore>(c, IDEMPOTENCY_STORE, () => new KnexIdempotencyStore(db));
  single<ChangeLog>(c, CHANGE_LOG, () => new KnexChangeLog(db, reads));
  single<EventPublisher>(c, EVENT_PUBLISHER, (c) => new KnexEventPublisher(db, r(c, CHANGE_NOTIFIER)));
  single<EventTicketStore>(c, EVENT_TICKET_STORE, () => new KnexEventTicketStore(db));
  single<TransactionRunner>(c, TRANSACTION_RUNNER, (c) => new KnexTransactionRunner(db, r(c, CHANGE_NOTIFIER)));
  single<ExportRepository>(c, EXPORT_REPOSITORY, () => new KnexExportRepository(db, reads));
  single<TaskSnapshots>(c, TASK_SNAPSHOTS, () => new KnexTaskSnapshots(snapshots, clientReadTimeoutMs(config.databaseTimeouts.statementMs)));
  single<AttachmentRepository>(c, ATTACHMENT_REPOSITORY, () => new KnexAttachmentRepository(db, reads));
}

function registerInMemoryStores(c: DependencyContainer): void {
  single<UserRepository>(c, USER_REPOSITORY, () => new InMemoryUserRepository());
  single<SessionRepository>(c, SESSION_REPOSITORY, (c) => new InMemorySessionRepository(r(c, USER_REPOSITORY)));
  single<PersonalAccessTokenRepository>(c, PERSONAL_ACCESS_TOKEN_REPOSITORY, (c) =>
    cascadeFromUsers(c, new InMemoryPersonalAccessTokenRepository(r(c, USER_REPOSITORY))),
  );
  single<TaskRepository>(c, TASK_REPOSITORY, (c) => cascadeFromUsers(c, new InMemoryTaskRepository()));
  single<IdempotencyStore>(c, IDEMPOTENCY_STORE, (c) => cascadeFromUsers(c, new InMemoryIdempotencyStore()));
  single<ChangeLog>(c, CHANGE_LOG, (c) => cascadeFromUsers(c, new InMemoryChangeLog()));
  single<EventPublisher>(c, EVENT_PUBLISHER, (c) => new InMemoryEventPublisher(r<InMemoryChangeLog>(c, CHANGE_LOG), r(c, CHANGE_NOTIFIER)));
  single<EventTicketStore>(c, EVENT_TICKET_STORE, (c) => cascadeFromUsers(c, new InMemoryEventTicketStore()));
  single<ExportRepository>(c, EXPORT_REPOSITORY, (c) => cascadeFromUsers(c, new InMemoryExportRepository()));
  single<TaskSnapshots>(c, TASK_SNAPSHOTS, (c) => new InMemoryTaskSnapshots(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY)));
  single<AttachmentRepository>(c, ATTACHMENT_REPOSITORY, (c) => {
    const tasks = r<InMemoryTaskRepository>(c, TASK_REPOSITORY);
    const attachments = cascadeFromUsers(c, new InMemoryAttachmentRepository(tasks, () => r<Clock>(c, CLOCK).now()));
    tasks.onDelete.push((userId, taskId) => attachments.deleteAllOfTask(userId, taskId));
    return attachments;
  });
  // Nothing else outlives this process in this mode; files on disk would outlive their rows.
  single<BlobStorage>(c, BLOB_STORAGE, () => new InMemoryBlobStorage());
  single<TransactionRunner>(c, TRANSACTION_RUNNER, (c) =>
    new InMemoryTransactionRunner(
      r<InMemoryTaskRepository>(c, TASK_REPOSITORY),
      r<InMemoryIdempotencyStore>(c, IDEMPOTENCY_STORE),
      r<InMemoryChangeLog>(c, CHANGE_LOG),
      r(c, CHANGE_NOTIFIER),
      r<InMemoryExportRepository>(c, EXPORT_REPOSITORY),
      r<InMemoryAttachmentRepository>(c, ATTACHMENT_REPOSITORY),
    ),
  );
}

function registerUseCases(c: DependencyContainer): void {
  single(c, SessionStarter, (c) => new SessionStarter(r(c, SESSION_REPOSITORY), r(c, TOKEN_SERVICE), r(c, ID_GENERATOR), r(c, CLOCK)));
  single(c, RegisterUser, (c) => new RegisterUser(r(c, USER_REPOSITORY), r(c, PASSWORD_HASHER), r(c, CLOCK)));
  single(c, CreateAdmin, (c) => new CreateAdmin(r(c, USER_REPOSITORY), r(c, RegisterUser)));
  single(c, Login, (c) => new Login(r(c, USER_REPOSITORY), r(c, PASSWORD_HASHER), r(c, SessionStarter)));
  single(c, RefreshSession, (c) => new RefreshSession(r(c, SESSION_REPOSITORY), r(c, USER_REPOSITORY), r(c, TOKEN_SERVICE), r(c, SessionStarter), r(c, CLOCK)));
  single(c, Logout, (c) => new Logout(r(c, SESSION_REPOSITORY), r(c, CLOCK)));
  single(c, Authenticate, (c) =>
    new Authenticate(r(c, TOKEN_SERVICE), r(c, SESSION_REPOSITORY), r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY), r(c, PERSONAL_TOKEN_SECRETS), r(c, CLOCK)),
  );
  single(c, CreatePersonalAccessToken, (c) => new CreatePersonalAccessToken(r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY), r(c, PERSONAL_TOKEN_SECRETS), r(c, CLOCK)));
  single(c, ListPersonalAccessTokens, (c) => new ListPersonalAccessTokens(r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY)));
  single(c, RevokePersonalAccessToken, (c) => new RevokePersonalAccessToken(r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY)));
  single(c, GetCurrentUser, (c) => new GetCurrentUser(r(c, USER_REPOSITORY)));
  single(c, GetUser, (c) => new GetUser(r(c, USER_REPOSITORY)));
  single(c, ListUsers, (c) => new ListUsers(r(c, USER_REPOSITORY)));
  single(c, UserUpdater, (c) => new UserUpdater(r(c, USER_REPOSITORY), r(c, SESSION_REPOSITORY), r(c, PASSWORD_HASHER), r(c, CLOCK)));
  single(c, ReplaceUser, (c) => new ReplaceUser(r(c, UserUpdater)));
  single(c, PatchUser, (c) => new PatchUser(r(c, UserUpdater)));
  single(c, DeleteUser, (c) => new DeleteUser(r(c, USER_REPOSITORY)));
  single(c, CreateTask, (c) =>
    new CreateTask(r(c, TASK_REPOSITORY), r(c, IDEMPOTENCY_STORE), r(c, TRANSACTION_RUNNER), r(c, EVENT_PUBLISHER), r(c, CLOCK), r(c, ReminderScheduler)),
  );
  single(c, IssueEventTicket, (c) => new IssueEventTicket(r(c, EVENT_TICKET_STORE), r(c, EVENT_TICKET_SECRETS), r(c, CLOCK)));
  single(c, RedeemEventTicket, (c) =>
    new RedeemEventTicket(r(c, EVENT_TICKET_STORE), r(c, EVENT_TICKET_SECRETS), r(c, SESSION_REPOSITORY), r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY), r(c, CLOCK)),
  );
  single(c, GetTask, (c) => new GetTask(r(c, TASK_REPOSITORY)));
  single(c, ListTasks, (c) => new ListTasks(r(c, TASK_REPOSITORY), r(c, CURSOR_CODEC)));
  single(c, TaskUpdater, (c) => new TaskUpdater(r(c, TASK_REPOSITORY), r(c, TRANSACTION_RUNNER), r(c, EVENT_PUBLISHER), r(c, CLOCK), r(c, ReminderScheduler)));
  single(c, ReplaceTask, (c) => new ReplaceTask(r(c, TaskUpdater)));
  single(c, PatchTask, (c) => new PatchTask(r(c, TaskUpdater)));
  single(c, DeleteTask, (c) => new DeleteTask(r(c, TASK_REPOSITORY), r(c, EVENT_PUBLISHER), r(c, CLOCK), r(c, ReminderScheduler)));
}

/** Task writes schedule reminders on the job queue; FireReminder runs them, FireDueReminders sweeps up lost ones. */
function registerReminders(c: DependencyContainer, reportFailure: ReportFailure): void {
  single(c, ReminderScheduler, (c) => new ReminderScheduler(r(c, JOB_QUEUE), reportFailure));
  single(c, FireReminder, (c) => new FireReminder(r(c, TRANSACTION_RUNNER), r(c, CLOCK)));
  single(c, FireDueReminders, (c) => new FireDueReminders(r(c, TASK_REPOSITORY), r(c, FireReminder), r(c, CLOCK)));
}

/** The change log's readers and keeper: delta sync and the retention purge. */
function registerEventUseCases(c: DependencyContainer, config: Config): void {
  const retentionMs = config.events.retentionSeconds * 1000;
  single(c, SyncTasks, (c) => new SyncTasks(r(c, TASK_REPOSITORY), r(c, CHANGE_LOG), r(c, CURSOR_CODEC), r(c, CLOCK), { retentionMs }));
  single(c, PurgeExpiredEvents, (c) => new PurgeExpiredEvents(r(c, CHANGE_LOG), r(c, EVENT_TICKET_STORE), r(c, CLOCK), retentionMs));
}

/** What housekeeping's purge runs, besides the change log's own purge. */
function registerHousekeepingUseCases(c: DependencyContainer, config: Config): void {
  single(c, PurgeExpiredIdempotencyKeys, (c) => new PurgeExpiredIdempotencyKeys(r(c, IDEMPOTENCY_STORE), r(c, CLOCK)));
  single(c, PurgeEndedSessions, (c) => new PurgeEndedSessions(r(c, SESSION_REPOSITORY), r(c, CLOCK), config.jwt.accessTokenTtlSeconds * 1000));
  single(c, PurgeExpiredPersonalAccessTokens, (c) => new PurgeExpiredPersonalAccessTokens(r(c, PERSONAL_ACCESS_TOKEN_REPOSITORY), r(c, CLOCK)));
}

/** Exports: requested over HTTP, written by the `exports` queue's handler, expired by housekeeping. */
function registerExportUseCases(c: DependencyContainer, config: Config, reportError: (error: unknown, what: string) => void): void {
  const reportEnqueueFailure = (error: unknown) =>
    reportError(error, 'enqueueing an export job failed; housekeeping enqueues it again once the export has waited 5 minutes');
  single(c, RequestExport, (c) => new RequestExport(r(c, EXPORT_REPOSITORY), r(c, JOB_QUEUE), r(c, ID_GENERATOR), r(c, CLOCK), reportEnqueueFailure));
  single(c, ListExports, (c) => new ListExports(r(c, EXPORT_REPOSITORY)));
  single(c, GetExport, (c) => new GetExport(r(c, EXPORT_REPOSITORY)));
  single(c, OpenExportDownload, (c) => new OpenExportDownload(r(c, EXPORT_REPOSITORY), r(c, BLOB_STORAGE), r(c, CLOCK)));
  single(c, RunExport, (c) =>
    new RunExport(r(c, EXPORT_REPOSITORY), r(c, TASK_SNAPSHOTS), r(c, BLOB_STORAGE), r(c, EXPORT_ENCODERS), r(c, TRANSACTION_RUNNER), r(c, CLOCK), {
      ttlMs: config.exportTtlSeconds * 1000,
    }),
  );
  single(c, ExpireExports, (c) => new ExpireExports(r(c, EXPORT_REPOSITORY), r(c, BLOB_STORAGE), r(c, JOB_QUEUE)));
}

/** Attachments: uploaded, read and deleted over HTTP; their bytes removed by housekeeping's purge (and a job after each delete). */
function registerAttachmentUseCases(c: DependencyContainer, config: Config, reportError: (error: unknown, what: string) => void): void {
  const reportEnqueueFailure = (error: unknown) =>
    reportError(error, 'enqueueing the purge of a deleted attachment\'s bytes failed; the hourly purge removes them');
  single(c, UploadAttachment, (c) =>
    new UploadAttachment(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY), r(c, BLOB_STORAGE), r(c, TRANSACTION_RUNNER), r(c, ID_GENERATOR), r(c, CLOCK), config.attachments),
  );
  single(c, ListAttachments, (c) => new ListAttachments(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY)));
  single(c, GetAttachment, (c) => new GetAttachment(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY)));
  single(c, OpenAttachmentContent, (c) => new OpenAttachmentContent(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY), r(c, BLOB_STORAGE)));
  single(c, DeleteAttachment, (c) =>
    new DeleteAttachment(r(c, TASK_REPOSITORY), r(c, ATTACHMENT_REPOSITORY), r(c, TRANSACTION_RUNNER), r(c, JOB_QUEUE), r(c, CLOCK), reportEnqueueFailure),
  );
  single(c, PurgeBlobGarbage, (c) => new PurgeBlobGarbage(r(c, ATTACHMENT_REPOSITORY), r(c, BLOB_STORAGE), r(c, CLOCK)));
}

/** The model behind POST /tasks/generate, when one is configured; the route answers 503 without it. */
export function openTaskGenerator(config: Config): OpenAiTaskGenerator | null {
  return config.ai && new OpenAiTaskGenerator(config.ai);
}

const unmonitored: GenerationMonitor = { record: () => {} };

function registerGeneration(c: DependencyContainer, config: Config, options: ContainerOptions): void {
  // Not in the container: tsyringe has no registration for "none", and null is what the use case needs then.
  const generator: TaskGenerator | null = openTaskGenerator(config);
  c.register<WindowCounter>(WINDOW_COUNTER, { useValue: options.windowCounter ?? new InMemoryWindowCounter() });
  c.register<GenerationMonitor>(GENERATION_MONITOR, { useValue: options.generationMonitor ?? unmonitored });
  single(c, GenerateTasks, (c) =>
    new GenerateTasks(
      generator,
      r(c, WINDOW_COUNTER),
      r(c, IDEMPOTENCY_STORE),
      r(c, TRANSACTION_RUNNER),
      r(c, CLOCK),
      r(c, GENERATION_MONITOR),
      { requestsPerHour: config.aiRequestsPerHour, modelTimeoutMs: config.ai?.timeoutMs ?? 0 },
    ),
  );
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
    createPersonalAccessToken: r(c, CreatePersonalAccessToken),
    listPersonalAccessTokens: r(c, ListPersonalAccessTokens),
    revokePersonalAccessToken: r(c, RevokePersonalAccessToken),
    createTask: r(c, CreateTask),
    getTask: r(c, GetTask),
    listTasks: r(c, ListTasks),
    replaceTask: r(c, ReplaceTask),
    patchTask: r(c, PatchTask),
    deleteTask: r(c, DeleteTask),
    syncTasks: r(c, SyncTasks),
    issueEventTicket: r(c, IssueEventTicket),
    redeemEventTicket: r(c, RedeemEventTicket),
    liveEvents: r(c, LiveEvents),
    requestExport: r(c, RequestExport),
    listExports: r(c, ListExports),
    getExport: r(c, GetExport),
    openExportDownload: r(c, OpenExportDownload),
    uploadAttachment: r(c, UploadAttachment),
    listAttachments: r(c, ListAttachments),
    getAttachment: r(c, GetAttachment),
    openAttachmentContent: r(c, OpenAttachmentContent),
    deleteAttachment: r(c, DeleteAttachment),
    generateTasks: r(c, GenerateTasks),
  };
}
