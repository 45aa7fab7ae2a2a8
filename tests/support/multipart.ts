import { randomBytes } from 'node:crypto';

/** One part of a hand-made multipart/form-data body: exactly the headers given, nothing added. */
export interface FormPart {
  name: string;
  /** Omitted: no filename parameter (a plain field). */
  filename?: string;
  /** Omitted: no Content-Type header on the part. */
  contentType?: string;
  content: string | Buffer;
}

export interface MultipartBody {
  payload: Buffer;
  headers: { 'content-type': string };
}

/** A multipart/form-data body built byte by byte, so tests control every header and boundary. */
export function multipartBody(parts: readonly FormPart[], boundary = `----taskforge${randomBytes(8).toString('hex')}`): MultipartBody {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.contentType === undefined ? [] : [`Content-Type: ${part.contentType}`])];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'utf8'), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** The usual upload: one part named `file`; a null content type sends the part without one. */
export const fileBody = (content: string | Buffer, filename = 'notes.txt', contentType: string | null = 'text/plain') =>
  multipartBody([{ name: 'file', filename, contentType: contentType ?? undefined, content }]);
