import type { IncomingMessage } from 'node:http';
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { AttachmentUpload } from '../../application/index.js';
import { ValidationError } from '../../domain/index.js';

/** A request body that is not multipart/form-data where only that is accepted. */
export class NotMultipart extends Error {
  readonly code = 'NOT_MULTIPART';
  readonly statusCode = 415;
}

/** A multipart body that cannot be read (no boundary, a broken part, cut off). */
export class MalformedMultipart extends Error {
  readonly code = 'MALFORMED_MULTIPART';
  readonly statusCode = 400;
}

export const isMultipartFormData = (contentType: string | undefined): boolean => /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '');

const onePartOnly = () => ValidationError.field('file', 'send exactly one part, the file, named "file", and no other part');

/** What the multipart plugin's limits and checks raise: too many parts is the client's form, not a broken body. */
const FORM_ERRORS = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT', 'FST_PROTO_VIOLATION', 'FST_INVALID_JSON_FIELD_ERROR']);

/** Reading the body failed: the client's form or its bytes, said as a problem; never a 500. */
function readFailure(error: unknown): Error {
  const code = (error as { code?: string }).code;
  if (code !== undefined && FORM_ERRORS.has(code)) return onePartOnly();
  return new MalformedMultipart('The multipart body could not be read: it is malformed or was cut off.');
}

async function nextPart(parts: AsyncIterator<MultipartFile | MultipartValue>): Promise<IteratorResult<MultipartFile | MultipartValue>> {
  try {
    return await parts.next();
  } catch (error) {
    throw readFailure(error);
  }
}

/** The boundary of a multipart/form-data Content-Type, unquoted; null without one. */
function boundaryOf(contentType: string | undefined): string | null {
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** The most of a body's start read for the first part's headers; a header block longer than that is not looked at. */
const HEADER_WINDOW = 16 * 1024;

/**
 * Watches the first bytes of the body for the first part's raw Content-Type: the parser reports a
 * part's type without its charset, and a missing one as text/plain, where the contract keeps
 * charset and calls a missing type application/octet-stream. It only listens beside the parser
 * (a second 'data' listener), reading nothing the parser does not.
 */
function watchFirstPartContentType(raw: IncomingMessage, boundary: string): () => string | null | undefined {
  let seen = Buffer.alloc(0);
  let found: string | null | undefined;
  const delimiter = `--${boundary}`;
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]).subarray(0, HEADER_WINDOW);
    const text = seen.toString('latin1');
    const start = text.startsWith(delimiter) ? 0 : text.indexOf(`\r\n${delimiter}`);
    const headersAt = start < 0 ? -1 : text.indexOf('\r\n', start + 2) + 2;
    const end = headersAt < 2 ? -1 : text.indexOf('\r\n\r\n', headersAt - 2);
    if (end < 0) {
      if (seen.length >= HEADER_WINDOW) stop();
      return;
    }
    const header = text
      .slice(headersAt, end)
      .split('\r\n')
      .map((line) => /^content-type\s*:(.*)$/i.exec(line)?.[1])
      .find((value) => value !== undefined);
    // The header's bytes as UTF-8, as a client would have written them.
    found = header === undefined ? null : Buffer.from(header, 'latin1').toString('utf8').trim();
    stop();
  };
  const stop = () => raw.off('data', onData);
  raw.on('data', onData);
  return () => {
    stop();
    return found;
  };
}

/**
 * Reads a multipart/form-data request up to its one file part and hands it over as an upload
 * whose bytes stream from the socket: exactly one part, a file named `file`, else a 422. The
 * bytes end only once the rest of the body has been read and held nothing more (a second part
 * is a 422 then, and the upload stores nothing); a body that cannot be parsed is a 400.
 */
export async function receiveUpload(request: FastifyRequest): Promise<AttachmentUpload> {
  const boundary = boundaryOf(request.headers['content-type']);
  const parts = request.parts()[Symbol.asyncIterator]();
  // Started now, so that the parser is piped before the watcher listens: both see every chunk.
  const first = nextPart(parts);
  const declaredType = boundary ? watchFirstPartContentType(request.raw, boundary) : () => undefined;
  const { value: part, done } = await first;
  if (done || part.type !== 'file' || part.fieldname !== 'file') throw onePartOnly();
  const raw = declaredType();
  return {
    filename: part.filename,
    // Undefined: the watcher could not tell; the parser's own reading is the next best.
    contentType: raw === undefined ? part.mimetype : raw,
    bytes: (async function* () {
      try {
        for await (const chunk of part.file) yield chunk as Uint8Array;
      } catch (error) {
        throw readFailure(error);
      }
      if (!(await nextPart(parts)).done) throw onePartOnly();
    })(),
  };
}
