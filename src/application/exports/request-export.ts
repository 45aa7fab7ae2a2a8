import { newExport, parseExportFormat, type Export } from '../../domain/index.js';
import type { Clock, ExportRepository, IdGenerator, JobQueue, Principal } from '../ports/index.js';
import { enqueueExport } from './export-jobs.js';

export interface ExportRequest {
  format: unknown;
}

/**
 * Records a queued export and hands its job to the queue. The row commits first: a job never
 * names an export that does not exist. If the queue then refuses the job, the client still gets
 * its export, and housekeeping (ExpireExports) enqueues it again once it has waited too long;
 * the failure goes to `reportEnqueueFailure` (the composition root logs it).
 */
export class RequestExport {
  constructor(
    private readonly exports: ExportRepository,
    private readonly jobs: JobQueue,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly reportEnqueueFailure: (error: unknown) => void,
  ) {}

  async execute(actor: Principal, request: ExportRequest): Promise<Export> {
    const format = parseExportFormat(request.format);
    const entity = newExport(this.ids.next(), actor.userId, format, this.clock.now());
    await this.exports.create(entity);
    try {
      await enqueueExport(this.jobs, entity);
    } catch (error) {
      this.reportEnqueueFailure(error);
    }
    return entity;
  }
}
