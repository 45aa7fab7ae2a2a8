import { isExportIdForm, type Export } from '../../domain/index.js';
import { JobRefusedError, type JobQueue } from '../ports/index.js';
import { JOB_QUEUES } from '../jobs/queues.js';

/** The queue export jobs run on. */
export const EXPORTS_QUEUE = JOB_QUEUES.exports;

/** What an export job carries: enough to find the export, and whose it is. */
export interface ExportJob {
  exportId: string;
  userId: number;
}

/** One job per export: enqueueing it again while it waits or runs adds nothing. */
export const exportJobKey = (exportId: string): string => `export-${exportId}`;

export const enqueueExport = (jobs: JobQueue, entity: Export): Promise<void> =>
  jobs.enqueue(EXPORTS_QUEUE, { exportId: entity.id, userId: entity.userId }, { key: exportJobKey(entity.id) });

/** A payload as it came off the queue: an export job's, or refused (it can never succeed). */
export function parseExportJob(payload: unknown): ExportJob {
  const { exportId, userId } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (typeof exportId !== 'string' || !isExportIdForm(exportId) || typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId < 1) {
    throw new JobRefusedError('an export job needs { exportId: <uuid>, userId: <positive integer> }');
  }
  return { exportId, userId };
}

/** Where an export's file is kept. */
export const exportBlobKey = (entity: Pick<Export, 'id' | 'format'>): string => `exports/${entity.id}.${entity.format}`;
