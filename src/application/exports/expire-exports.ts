import type { BlobStorage, ExportRepository, JobQueue } from '../ports/index.js';
import { enqueueExport, exportBlobKey } from './export-jobs.js';

/** How long an expired (or failed) export is still listed, so its owner sees what became of it. */
export const EXPORT_ROW_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** A queued export whose job has not started by then may have lost it (the queue refused it, or lost it). */
export const EXPORT_QUEUED_GRACE_MS = 5 * 60 * 1000;
/** Rows handled per query, so that a backlog never loads at once. */
const BATCH = 200;

/**
 * Housekeeping of exports, for the purge chore: removes the file of every export that has
 * expired (its download answers 410 from then on), forgets exports 7 days after they expired (or
 * failed), and enqueues again the job of every export left queued for over 5 minutes (the job
 * key makes that a no-op for a job that is still there). A file is removed before its row is
 * forgotten, so no file outlives the row that names it.
 */
export class ExpireExports {
  constructor(
    private readonly exports: ExportRepository,
    private readonly storage: BlobStorage,
    private readonly jobs: JobQueue,
  ) {}

  /** Returns how many exports it acted on. */
  async run(now: Date): Promise<number> {
    let acted = await this.removeExpiredFiles(now);
    acted += await this.exports.deleteFinishedBefore(new Date(now.getTime() - EXPORT_ROW_RETENTION_MS));
    const stale = await this.exports.queuedBefore(new Date(now.getTime() - EXPORT_QUEUED_GRACE_MS), BATCH);
    for (const entity of stale) await enqueueExport(this.jobs, entity);
    return acted + stale.length;
  }

  private async removeExpiredFiles(now: Date): Promise<number> {
    let removed = 0;
    for (;;) {
      const expired = await this.exports.expiredWithFiles(now, BATCH);
      for (const entity of expired) {
        await this.storage.delete(exportBlobKey(entity));
        await this.exports.markFileRemoved(entity.id, now);
      }
      removed += expired.length;
      if (expired.length < BATCH) return removed;
    }
  }
}
