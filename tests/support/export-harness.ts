import {
  ExpireExports,
  GetExport,
  ListExports,
  OpenExportDownload,
  RequestExport,
  RunExport,
  type JobContext,
  type JobOptions,
  type JobPayload,
  type JobQueue,
  type RepeatOptions,
  type TaskSnapshots,
} from '../../src/application/index.js';
import { exportEncoders } from '../../src/adapters/exports/export-encoders.js';
import { InMemoryAttachmentRepository } from '../../src/adapters/persistence/memory/in-memory-attachment-repository.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryExportRepository } from '../../src/adapters/persistence/memory/in-memory-export-repository.js';
import { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTaskSnapshots } from '../../src/adapters/persistence/memory/in-memory-task-snapshots.js';
import { InMemoryTransactionRunner } from '../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { InMemoryBlobStorage } from '../../src/adapters/storage/in-memory-blob-storage.js';
import { FixedClock, SequentialIds } from './fakes.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface EnqueuedJob {
  queue: string;
  payload: JobPayload;
  options: JobOptions;
}

/** A queue that only records what it is given (or refuses it, when told to). */
export class RecordingJobQueue implements JobQueue {
  readonly enqueued: EnqueuedJob[] = [];
  failWith: Error | null = null;

  async enqueue(queue: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.enqueued.push({ queue, payload, options });
  }
  async repeat(_queue: string, _payload: JobPayload, _options: RepeatOptions): Promise<void> {}
  async cancel(_queue: string, _key: string): Promise<void> {}
  async waiting(queue: string): Promise<number> {
    return this.enqueued.filter((job) => job.queue === queue).length;
  }
}

/** What a worker hands a handler, for tests that call one directly. */
export const aJobContext = (overrides: Partial<JobContext> = {}): JobContext => ({
  jobId: 'job-1',
  queue: 'exports',
  attempt: 1,
  maxAttempts: 5,
  signal: new AbortController().signal,
  ...overrides,
});

/** Every export use case on in-memory adapters, wired as the container wires them; small pages, so every export has several. */
export function exportHarness(options: { snapshots?: (inner: TaskSnapshots) => TaskSnapshots; pageSize?: number } = {}) {
  const clock = new FixedClock(new Date('2026-12-09T10:00:00.000Z'));
  const tasks = new InMemoryTaskRepository();
  const attachments = new InMemoryAttachmentRepository(tasks, () => clock.now());
  tasks.onDelete.push((userId, taskId) => attachments.deleteAllOfTask(userId, taskId));
  const exports = new InMemoryExportRepository();
  const log = new InMemoryChangeLog();
  const transactions = new InMemoryTransactionRunner(tasks, new InMemoryIdempotencyStore(), log, undefined, exports, attachments);
  const storage = new InMemoryBlobStorage();
  const jobs = new RecordingJobQueue();
  const enqueueFailures: unknown[] = [];
  const snapshots = (options.snapshots ?? ((inner) => inner))(new InMemoryTaskSnapshots(tasks, attachments));
  return {
    clock,
    tasks,
    attachments,
    exports,
    log,
    storage,
    jobs,
    enqueueFailures,
    requestExport: new RequestExport(exports, jobs, new SequentialIds(), clock, (error) => enqueueFailures.push(error)),
    listExports: new ListExports(exports),
    getExport: new GetExport(exports),
    openExportDownload: new OpenExportDownload(exports, storage, clock),
    runExport: new RunExport(exports, snapshots, storage, exportEncoders(), transactions, clock, { ttlMs: DAY_MS, pageSize: options.pageSize ?? 2 }),
    expireExports: new ExpireExports(exports, storage, jobs),
  };
}

export async function textOf(bytes: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of bytes) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
