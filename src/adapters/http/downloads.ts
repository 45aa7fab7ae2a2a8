import { isInlineContentType } from '../../domain/index.js';

/** What a Range header asks of a file of `size` bytes (RFC 9110 §14). */
export type RangeRequest =
  /** No Range, or one this server answers with the whole file: several ranges, another unit, unreadable. */
  | { kind: 'whole' }
  | { kind: 'range'; start: number; end: number }
  /** Not one byte of it exists: 416. */
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * One range of bytes, clamped to the file: `first-last`, `first-` or `-suffix`. Several ranges
 * are answered with the whole file, which RFC 9110 allows (a server may ignore Range), and which
 * spares every client a multipart/byteranges body.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = SINGLE_RANGE.exec(header);
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

/** A filename as a quoted-string of plain ASCII: what RFC 6266's `filename` fallback can carry safely. */
const asciiFallback = (filename: string): string => filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');

/** RFC 8187's ext-value: UTF-8, every byte outside attr-char percent-encoded. */
const extValue = (filename: string): string =>
  `UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;

/**
 * Content-Disposition for a download (RFC 6266): `inline` only for raster images, which cannot
 * run script; `attachment` otherwise, so the browser saves rather than renders. An ASCII
 * `filename`, and `filename*` with the exact name when the ASCII one had to change it.
 */
export function contentDisposition(filename: string, contentType: string): string {
  const disposition = isInlineContentType(contentType) ? 'inline' : 'attachment';
  const fallback = asciiFallback(filename);
  const exact = fallback === filename ? '' : `; filename*=${extValue(filename)}`;
  return `${disposition}; filename="${fallback}"${exact}`;
}

/** A stored file served to a browser runs nothing and loads nothing, even if it is HTML or SVG. */
export const DOWNLOAD_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";

/** The ETag of stored bytes: their SHA-256, which names them exactly. */
export const contentEtag = (sha256: string): string => `"${sha256}"`;

/** If-None-Match against a content ETag, weak comparison (RFC 9110 §13.1.2). */
export function contentNoneMatch(header: string | undefined, sha256: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === contentEtag(sha256));
}
