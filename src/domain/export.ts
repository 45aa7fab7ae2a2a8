import { DomainError, ValidationError } from './errors.js';

export type ExportFormat = 'json' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'csv'];

export type ExportStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const EXPORT_STATUSES: readonly ExportStatus[] = ['queued', 'running', 'succeeded', 'failed'];

/** How long a failure's reason may be, in code points: enough for an operator, never a dump. */
export const EXPORT_ERROR_MAX_LENGTH = 500;

/** A file of every task of a user, made by a background job and downloadable for a while. */
export interface Export {
  /** A UUID: unguessable, so an export's URL reveals nothing about others. */
  id: string;
  userId: number;
  format: ExportFormat;
  status: ExportStatus;
  createdAt: Date;
  /** When it succeeded or failed; null while pending. */
  completedAt: Date | null;
  /** When a succeeded export's file goes away; null otherwise. */
  expiresAt: Date | null;
  /** The file's length in bytes, once it succeeded. */
  size: number | null;
  /** Why it failed, for operators; never shown to its owner. */
  error: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` has the form of an export id (a UUID); checked before any lookup. */
export const isExportIdForm = (text: string): boolean => UUID.test(text);

export function parseExportFormat(raw: unknown): ExportFormat {
  if (typeof raw !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(raw)) {
    throw ValidationError.field('format', `must be one of: ${EXPORT_FORMATS.join(', ')}`);
  }
  return raw as ExportFormat;
}

export const newExport = (id: string, userId: number, format: ExportFormat, now: Date): Export => ({
  id,
  userId,
  format,
  status: 'queued',
  createdAt: now,
  completedAt: null,
  expiresAt: null,
  size: null,
  error: null,
});

/** Queued or running: its job has yet to finish it. */
export const isPendingExport = (entity: Export): boolean => entity.status === 'queued' || entity.status === 'running';

export const exportNotFound = (): DomainError => new DomainError('EXPORT_NOT_FOUND', 'No such export.');

export const exportExpired = (): DomainError => new DomainError('EXPORT_EXPIRED', 'The export has expired; request a new one.');

/** Only a succeeded export that has not expired has a file to hand out. */
export function assertDownloadable(entity: Export, now: Date): void {
  if (entity.status !== 'succeeded') {
    throw new DomainError('EXPORT_NOT_READY', `The export is ${entity.status}; only a succeeded export can be downloaded.`);
  }
  if (entity.expiresAt !== null && entity.expiresAt <= now) throw exportExpired();
}

/**
 * A failure's reason as it may be stored: one line of well-formed text (control characters become
 * spaces, lone surrogates U+FFFD), cut to EXPORT_ERROR_MAX_LENGTH code points, which every
 * database stores whatever the error said.
 */
export function exportErrorText(message: string): string {
  const points: string[] = [];
  for (const point of message) {
    if (points.length === EXPORT_ERROR_MAX_LENGTH) break;
    const code = point.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) points.push(' ');
    else if (code >= 0xd800 && code <= 0xdfff) points.push('\ufffd');
    else points.push(point);
  }
  return points.join('').trim() || 'unknown error';
}
