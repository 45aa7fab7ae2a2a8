import { assertDownloadable, exportExpired, exportNotFound, isExportIdForm, type Export } from '../../domain/index.js';
import type { BlobStorage, Clock, ExportRepository, Principal } from '../ports/index.js';
import { exportBlobKey } from './export-jobs.js';

/** The most exports a listing returns; exports are forgotten days after they expire, so few remain. */
export const EXPORT_LIST_LIMIT = 100;

async function findOwn(exports: ExportRepository, actor: Principal, id: string): Promise<Export> {
  const found = isExportIdForm(id) ? await exports.findById(actor.userId, id) : null;
  if (!found) throw exportNotFound();
  return found;
}

/** The caller's exports, newest first. */
export class ListExports {
  constructor(private readonly exports: ExportRepository) {}

  execute(actor: Principal): Promise<Export[]> {
    return this.exports.listOfUser(actor.userId, EXPORT_LIST_LIMIT);
  }
}

export class GetExport {
  constructor(private readonly exports: ExportRepository) {}

  execute(actor: Principal, id: string): Promise<Export> {
    return findOwn(this.exports, actor, id);
  }
}

export interface ExportDownload {
  export: Export;
  /** The file's bytes, streamed from storage. */
  content: AsyncIterable<Uint8Array>;
}

/** A succeeded, unexpired export of the caller's, with its file: else 404, 409 (not succeeded) or 410 (expired). */
export class OpenExportDownload {
  constructor(
    private readonly exports: ExportRepository,
    private readonly storage: BlobStorage,
    private readonly clock: Clock,
  ) {}

  async execute(actor: Principal, id: string): Promise<ExportDownload> {
    const found = await findOwn(this.exports, actor, id);
    assertDownloadable(found, this.clock.now());
    // Gone although not yet expired: housekeeping ran on a clock ahead of this one. Gone all the same.
    const content = await this.storage.get(exportBlobKey(found));
    if (!content) throw exportExpired();
    return { export: found, content };
  }
}
