import { formatUtc, parseUtc } from '../../shared/utc-timestamps.js';

/** The column a unique constraint failed on, for PostgreSQL and SQLite alike; null for other errors. */
export function uniqueViolationColumn(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint, message } = error as { code?: string; constraint?: string; message?: string };
  if (code === '23505' && constraint) return constraint; // PostgreSQL: users_email_key_unique
  // SQLite names the column only in the message (after the whole statement, when knex ran it).
  // better-sqlite3 reports the extended code SQLITE_CONSTRAINT_UNIQUE.
  const sqlite = code?.startsWith('SQLITE_CONSTRAINT') ? /UNIQUE constraint failed: (.+)$/.exec(message ?? '') : null;
  return sqlite?.[1] ?? null;
}

/** Timestamps travel as RFC 3339 strings: sortable text in SQLite, timestamptz in PostgreSQL. */
export const toDbTime = (date: Date): string => formatUtc(date);
export const fromDbTime = (value: string | Date): Date => (value instanceof Date ? value : parseUtc(value));
export const fromDbTimeOrNull = (value: string | Date | null): Date | null => (value === null ? null : fromDbTime(value));
