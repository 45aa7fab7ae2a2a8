import { DomainError, ValidationError } from './errors.js';

/** A file on a task: its bytes live in blob storage under `storageKey`, this is what is known of them. */
export interface Attachment {
  /** A UUID the service generates. */
  id: string;
  userId: number;
  taskId: number;
  filename: string;
  contentType: string;
  /** Bytes, as counted by the server while storing them. */
  size: number;
  /** Of the bytes, lowercase hex, computed by the server. */
  sha256: string;
  /** Where the bytes are: made by the service (attachmentBlobKey), never from client input. */
  storageKey: string;
  createdAt: Date;
}

/** The most code points a stored filename has. */
export const ATTACHMENT_FILENAME_MAX_LENGTH = 255;
/** What a file is called when its part named nothing usable. */
export const DEFAULT_ATTACHMENT_FILENAME = 'file';
/** What a part without a declared type is. */
export const DEFAULT_ATTACHMENT_CONTENT_TYPE = 'application/octet-stream';

/** The raster image types a browser may show in place: none of them can run script. */
export const INLINE_CONTENT_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` has the form of an attachment id (a UUID); checked before any lookup. */
export const isAttachmentIdForm = (text: string): boolean => UUID.test(text);

/** C0 and C1 controls and DEL: nothing a file name should carry into a header or a listing. */
const isControl = (code: number): boolean => code < 0x20 || (code >= 0x7f && code <= 0x9f);

/**
 * The filename to store for what a part declared: whatever follows its last `/` or `\` (so no
 * path survives), control characters dropped, lone surrogates replaced (every database stores
 * the rest), cut to 255 code points. Nothing usable left (empty, blank, or only dots, which
 * name a directory rather than a file) → `file`.
 */
export function sanitizeFilename(declared: string | null | undefined): string {
  const base = (declared ?? '').split(/[/\\]/).pop() ?? '';
  const points: string[] = [];
  for (const point of base) {
    if (points.length === ATTACHMENT_FILENAME_MAX_LENGTH) break;
    const code = point.codePointAt(0)!;
    if (isControl(code)) continue;
    points.push(code >= 0xd800 && code <= 0xdfff ? '\ufffd' : point);
  }
  const name = points.join('');
  return /^[\s.]*$/.test(name) ? DEFAULT_ATTACHMENT_FILENAME : name;
}

/** A media type's `type/subtype` (RFC 9110 tokens). */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
const CHARSET = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * The content type to store for what a part declared: lower-cased, its parameters dropped except
 * `charset` (kept, unquoted and lower-cased). Missing or not a media type → application/octet-stream.
 */
export function normalizeContentType(declared: string | null | undefined): string {
  const [essence = '', ...parameters] = (declared ?? '').toLowerCase().split(';');
  const type = essence.trim();
  if (!MEDIA_TYPE.test(type)) return DEFAULT_ATTACHMENT_CONTENT_TYPE;
  for (const parameter of parameters) {
    const [name, ...rest] = parameter.split('=');
    const value = rest.join('=').trim().replace(/^"(.*)"$/, '$1');
    if (name?.trim() === 'charset' && CHARSET.test(value)) return `${type}; charset=${value}`;
  }
  return type;
}

/** Whether a download of this type may be shown in place rather than saved. */
export const isInlineContentType = (contentType: string): boolean => INLINE_CONTENT_TYPES.includes(contentType.split(';')[0]!.trim());

/** Where an attachment's bytes are kept: the owner and a fresh id, nothing a client wrote. */
export const attachmentBlobKey = (userId: number, id: string): string => `attachments/${userId}/${id}`;

export const attachmentNotFound = (): DomainError => new DomainError('ATTACHMENT_NOT_FOUND', 'No such attachment.');

export const attachmentTooLarge = (maxBytes: number): DomainError =>
  new DomainError('ATTACHMENT_TOO_LARGE', `The file is larger than the ${maxBytes} bytes an attachment may have.`);

export const attachmentQuotaExceeded = (quotaBytes: number): DomainError =>
  new DomainError('ATTACHMENT_QUOTA_EXCEEDED', `Your attachments would exceed your quota of ${quotaBytes} bytes; delete some first.`);

export const attachmentUploadTimedOut = (): DomainError =>
  new DomainError('ATTACHMENT_UPLOAD_TIMED_OUT', 'The upload took longer than the server allows; nothing was stored.');

export const emptyAttachment = (): ValidationError => ValidationError.field('file', 'must not be empty');
