import { formatUtc, parseUtc } from '../../shared/utc-timestamps.js';

/** Timestamps travel as RFC 3339 strings: sortable text in SQLite, timestamptz in PostgreSQL. */
export const toDbTime: (date: Date) => string = formatUtc;
export const fromDbTime = (value: string | Date): Date => (value instanceof Date ? value : parseUtc(value));
export const fromDbTimeOrNull = (value: string | Date | null): Date | null => (value === null ? null : fromDbTime(value));

/** Text for a LIKE pattern, matched literally; the queries declare the backslash as the escape character. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);
