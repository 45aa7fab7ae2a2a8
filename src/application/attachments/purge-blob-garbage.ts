import type { AttachmentRepository, BlobStorage, Clock } from '../ports/index.js';

/** Records handled per query, so that a backlog never loads at once. */
const BATCH = 200;

/**
 * Deletes the bytes of due garbage records (deleted attachments, uploads that never finished),
 * then the records: bytes first, so no bytes ever outlive the record that names them. A key whose
 * bytes could not be deleted keeps its record for the next run. Safe to run alongside itself.
 */
export class PurgeBlobGarbage {
  constructor(
    private readonly attachments: AttachmentRepository,
    private readonly storage: BlobStorage,
    private readonly clock: Clock,
  ) {}

  /** Returns how many keys it removed. */
  async execute(): Promise<number> {
    let removed = 0;
    for (;;) {
      const due = await this.attachments.dueGarbage(this.clock.now(), BATCH);
      for (const key of due) await this.storage.delete(key);
      await this.attachments.forgetGarbage(due);
      removed += due.length;
      if (due.length < BATCH) return removed;
    }
  }
}
