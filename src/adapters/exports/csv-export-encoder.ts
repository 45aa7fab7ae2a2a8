import type { ExportEncoder, SnapshotTask } from '../../application/index.js';
import type { Task } from '../../domain/index.js';
import { formatUtc } from '../shared/utc-timestamps.js';

export const CSV_COLUMNS = ['id', 'title', 'description', 'status', 'priority', 'due_date', 'tags', 'completed_at', 'created_at', 'updated_at'] as const;

/** Joins a task's tags in one cell. */
const TAG_SEPARATOR = ';';

/** What a spreadsheet would take for the start of a formula (CSV injection, OWASP). */
const FORMULA_START = /^[=+\-@]/;
/** What makes a cell need quotes (RFC 4180). */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One cell: a leading formula character is defused with `'`, then the cell is quoted if it holds
 * a quote, a comma or a line break, its quotes doubled.
 */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const time = (date: Date | null): string => (date ? formatUtc(date) : '');

const cellsOf = (task: Task): string[] => [
  String(task.id),
  task.title,
  task.description,
  task.status,
  task.priority,
  time(task.dueDate),
  task.tags.join(TAG_SEPARATOR),
  time(task.completedAt),
  time(task.createdAt),
  time(task.updatedAt),
];

const record = (cells: readonly string[]): string => `${cells.map(csvCell).join(',')}\r\n`;

/**
 * RFC 4180 in UTF-8: a header row, then one record per task, every record ended by CRLF; written a
 * page at a time. The contract's columns name no attachment, so attachments are not in it.
 */
export class CsvExportEncoder implements ExportEncoder {
  async *encode(pages: AsyncIterable<Iterable<SnapshotTask>>): AsyncIterable<Uint8Array> {
    yield Buffer.from(record(CSV_COLUMNS), 'utf8');
    for await (const page of pages) {
      let records = '';
      for (const { task } of page) records += record(cellsOf(task));
      if (records !== '') yield Buffer.from(records, 'utf8');
    }
  }
}
