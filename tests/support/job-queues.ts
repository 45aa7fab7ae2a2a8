import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { JobQueue, JobWorker } from '../../src/application/index.js';
import { EmbeddedJobQueue } from '../../src/adapters/jobs/embedded-job-queue.js';
import { InMemoryJobQueue } from '../../src/adapters/jobs/in-memory-job-queue.js';
import type { JobQueueSettings } from '../../src/adapters/jobs/job-settings.js';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { bullmqKinds } from './bullmq-job-queues.js';

/** One deployment of a job queue: its store, a producer, and workers as separate processes would run them. */
export interface JobQueueDeployment {
  kind: string;
  /** Whether jobs and schedules survive reopen() (false for in-memory). */
  durable: boolean;
  /** A producer, as an API instance holds it. */
  queue: JobQueue;
  /** A worker as another process would run it (own connections). */
  worker(): JobWorker;
  /**
   * Closes everything and opens again on the same store. Workers that were not stopped end as
   * if their process died: nothing handed back, their running jobs left to their lease.
   */
  reopen(): Promise<JobQueueDeployment>;
  /** Closes every connection it opened; removes its store. */
  close(): Promise<void>;
}

export type OpenJobQueueDeployment = (settings: JobQueueSettings & { leaseMs: number }) => Promise<JobQueueDeployment>;

/** The job queue kinds this machine runs: the BullMQ ones only where their server is configured. */
export async function jobQueueKinds(): Promise<Record<string, OpenJobQueueDeployment>> {
  return {
    'in-memory': openInMemory,
    'embedded-sqlite': openEmbeddedSqlite,
    ...(await bullmqKinds()),
  };
}

/** Nothing to reopen: a new deployment is a new, empty store (hence not durable). */
const openInMemory: OpenJobQueueDeployment = async (settings) => {
  const queue = new InMemoryJobQueue(settings);
  const workers: JobWorker[] = [];
  const close = async () => void (await Promise.all(workers.splice(0).map((worker) => worker.stop(0))));
  return {
    kind: 'in-memory',
    durable: false,
    queue,
    worker: () => {
      const worker = queue.worker();
      workers.push(worker);
      return worker;
    },
    reopen: async () => {
      await close();
      return openInMemory(settings);
    },
    close,
  };
};

/** Polls often, so cross-process tests do not wait the service's 200 ms per step. */
const TEST_POLL_MS = 25;

/** An SQLite file in a directory of its own; each producer and worker opens its own knex on it, as a process would. */
const openEmbeddedSqlite: OpenJobQueueDeployment = async (settings) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-jobs-'));
  const filename = path.join(dir, 'jobs.sqlite');
  const db = createDatabase({ kind: 'sqlite', filename });
  await migrateToLatest(db);
  return embeddedOn(filename, db, settings, () => rmSync(dir, { recursive: true, force: true }));
};

function embeddedOn(filename: string, producerDb: Knex, settings: JobQueueSettings & { leaseMs: number }, removeStore: () => void): JobQueueDeployment {
  const opened: Array<{ db: Knex; queue: EmbeddedJobQueue }> = [];
  const open = (db: Knex) => {
    const queue = new EmbeddedJobQueue(db, { ...settings, pollMs: TEST_POLL_MS });
    opened.push({ db, queue });
    return queue;
  };
  const queue = open(producerDb);
  let closed = false;
  const closeConnections = async () => {
    if (closed) return;
    closed = true;
    for (const { db, queue } of opened.splice(0)) {
      await queue.close();
      await db.destroy();
    }
  };
  return {
    kind: 'embedded-sqlite',
    durable: true,
    queue,
    worker: () => open(createDatabase({ kind: 'sqlite', filename })).worker(),
    reopen: async () => {
      await closeConnections();
      return embeddedOn(filename, createDatabase({ kind: 'sqlite', filename }), settings, removeStore);
    },
    close: async () => {
      const wasOpen = !closed;
      await closeConnections();
      if (wasOpen) removeStore();
    },
  };
}
