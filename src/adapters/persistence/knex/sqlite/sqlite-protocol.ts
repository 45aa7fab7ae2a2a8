import { parseUtc } from '../../../shared/utc-timestamps.js';
import type { SqliteAccess } from './sqlite-executor.js';

/** What a SQLite thread is started with (its workerData). */
export interface SqliteThreadSettings {
  filename: string;
  /** How long a statement may wait for another lane's transaction (the pool's acquire timeout). */
  waitLimitMs: number;
  access: SqliteAccess;
  /** How often this thread checkpoints the WAL; 0: never. */
  checkpointEveryMs: number;
}

/** Messages between the event loop and the SQLite thread: arrays, the cheapest shape to clone. */

/**
 * [request id, lane, operation, SQL, parameters]. A lane is one of the pool's connections; all
 * lanes share the thread's one SQLite connection, and a lane that opens a transaction has it to
 * itself until the transaction ends.
 */
export type SqliteRequest = [id: number, lane: number, op: 'query' | 'all' | 'tuples' | 'run' | 'commit' | 'leave', sql: string, params: unknown[]];

/**
 * [request id, succeeded, result or TransferableError]. Requests travel as arrays of groups (the
 * statements sent in one synchronous run), replies as arrays; only the thread's first message,
 * [-1, opened, error], is single.
 */
export type SqliteReply = [id: number, ok: boolean, value: unknown];

/** Structured cloning keeps an Error's message but drops `code`, which callers rely on. */
export interface TransferableError {
  name: string;
  message: string;
  code?: string;
}

export function toTransferable(error: unknown): TransferableError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code } = error as { code?: unknown };
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromTransferable(value: unknown): Error {
  const { name, message, code } = value as TransferableError;
  return Object.assign(new Error(message), { name }, code === undefined ? {} : { code });
}

/**
 * Rows in one JSON text with the indexes of their timestamp columns (text there), or, for rows JSON
 * cannot hold, the rows themselves (timestamps already Dates), cloned.
 */
export type EncodedTuples = [timestamps: number[], json: string] | [timestamps: null, rows: unknown[][]];

/** Turns the timestamp text in these columns into Dates, as `new Date()` reads it, in place. */
export function parseTimestamps(rows: unknown[][], timestamps: readonly number[]): unknown[][] {
  for (const index of timestamps) {
    for (const row of rows) {
      const value = row[index];
      if (typeof value === 'string') row[index] = parseUtc(value);
    }
  }
  return rows;
}

/** The rows `SqliteExecutor.encodedTuples` gave, with their timestamps as Dates. */
export function decodeTuples(encoded: EncodedTuples): unknown[][] {
  if (encoded[0] === null) return encoded[1];
  return parseTimestamps(JSON.parse(encoded[1]) as unknown[][], encoded[0]);
}

/**
 * Work that keeps the thread a while — a page with its total (several statements sent at once),
 * a group commit: it leaves the event loop at once, and the thread sends the answers it has made
 * before starting it. Short single statements wait to share a wake-up instead.
 */
export const isLongWork = (group: readonly SqliteRequest[]): boolean => group.length > 1 || group[0]?.[2] === 'commit';
