import type { ExportFormat } from '../../domain/index.js';
import type { SnapshotTask } from './task-snapshots.js';

/** Writes an export's file in one format. */
export interface ExportEncoder {
  /**
   * The file's bytes, written as the pages arrive: never more than a page of tasks at a time,
   * each page iterated once, before the next is asked for (see TaskSnapshots).
   */
  encode(pages: AsyncIterable<Iterable<SnapshotTask>>): AsyncIterable<Uint8Array>;
}

export type ExportEncoders = Readonly<Record<ExportFormat, ExportEncoder>>;

export const EXPORT_ENCODERS = Symbol('ExportEncoders');
