import { exportErrorText, isPendingExport } from '../../domain/index.js';
import {
  JobRefusedError,
  type BlobStorage,
  type Clock,
  type ExportEncoders,
  type ExportRepository,
  type JobContext,
  type JobHandler,
  type SnapshotTask,
  type TaskSnapshots,
  type TransactionRunner,
} from '../ports/index.js';
import { publishExportEvent } from './export-events.js';
import { exportBlobKey, parseExportJob, type ExportJob } from './export-jobs.js';

export const DEFAULT_EXPORT_TTL_MS = 24 * 60 * 60 * 1000;
/** Tasks read and written at a time: what an export holds in memory, whatever the user's task count. */
export const EXPORT_PAGE_SIZE = 500;

export interface RunExportOptions {
  /** How long a succeeded export can be downloaded (EXPORT_TTL). */
  ttlMs?: number;
  pageSize?: number;
}

/** The pages, until the worker asks the job to hand itself back: then it stops between two pages. */
async function* untilAborted(pages: AsyncIterable<Iterable<SnapshotTask>>, signal: AbortSignal): AsyncIterable<Iterable<SnapshotTask>> {
  for await (const page of pages) {
    signal.throwIfAborted();
    yield page;
  }
}

function jobOrNull(payload: unknown): ExportJob | null {
  try {
    return parseExportJob(payload);
  } catch (error) {
    if (error instanceof JobRefusedError) return null;
    throw error;
  }
}

/**
 * The `exports` queue's handler: writes the file of one export from a consistent snapshot of its
 * owner's tasks and their attachments, then marks it succeeded and appends `export.completed` in
 * one unit of work.
 *
 * Idempotent: a run for an export that has finished (a job run again after a crash) or no longer
 * exists (its user was deleted) does nothing; a run after a crash mid-way writes the file afresh
 * over the old one. No file outlives a run that did not succeed: a failed attempt removes what
 * it wrote, and so does the final failure, which marks the export failed with `export.failed`.
 */
export class RunExport implements JobHandler {
  private readonly ttlMs: number;
  private readonly pageSize: number;

  constructor(
    private readonly exports: ExportRepository,
    private readonly snapshots: TaskSnapshots,
    private readonly storage: BlobStorage,
    private readonly encoders: ExportEncoders,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
    options: RunExportOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_EXPORT_TTL_MS;
    this.pageSize = options.pageSize ?? EXPORT_PAGE_SIZE;
  }

  async run(payload: unknown, context: JobContext): Promise<void> {
    const { exportId, userId } = parseExportJob(payload);
    const running = await this.exports.markRunning(userId, exportId);
    if (!running) return;
    const key = exportBlobKey(running);
    try {
      const pages = untilAborted(this.snapshots.eachPage(userId, this.pageSize), context.signal);
      const { size } = await this.storage.put(key, this.encoders[running.format].encode(pages));
      const completedAt = this.clock.now();
      const expiresAt = new Date(completedAt.getTime() + this.ttlMs);
      const succeeded = await this.transactions.run(async (scope) => {
        const finished = await scope.exports.finish(userId, exportId, { status: 'succeeded', completedAt, expiresAt, size });
        if (finished) await publishExportEvent(scope.events, { type: 'export.completed', userId, occurredAt: completedAt, payload: { export: finished } });
        return finished;
      });
      // The export went away while its file was written (its user was deleted): no one will ask for the file.
      if (!succeeded) await this.storage.delete(key);
    } catch (error) {
      await this.removeQuietly(key);
      throw error;
    }
  }

  async failed(payload: unknown, error: Error): Promise<void> {
    const job = jobOrNull(payload);
    if (!job) return; // A refused payload names no export to mark.
    const found = await this.exports.findById(job.userId, job.exportId);
    if (!found || !isPendingExport(found)) return;
    const completedAt = this.clock.now();
    // Marked first: an export its owner watches must not stay "running" for good because storage is down.
    await this.transactions.run(async (scope) => {
      const failed = await scope.exports.finish(job.userId, job.exportId, { status: 'failed', completedAt, error: exportErrorText(error.message) });
      if (failed) await publishExportEvent(scope.events, { type: 'export.failed', userId: job.userId, occurredAt: completedAt, payload: { export: failed } });
    });
    await this.storage.delete(exportBlobKey(found));
  }

  /**
   * After a failed attempt: the error that failed it is the one to report, not a second one from
   * storage. A file left behind is overwritten by the next attempt, or removed by `failed`,
   * which does report a storage error.
   */
  private async removeQuietly(key: string): Promise<void> {
    try {
      await this.storage.delete(key);
    } catch {
      // See above: not lost, only deferred.
    }
  }
}
