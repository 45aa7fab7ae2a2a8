import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ContentPart, DeleteAttachment, GetAttachment, ListAttachments, OpenAttachmentContent, UploadAttachment } from '../../../application/index.js';
import type { Attachment } from '../../../domain/index.js';
import { toAttachmentDto } from '../attachment-mappers.js';
import { principalOf } from '../authentication.js';
import { contentDisposition, contentEtag, contentNoneMatch, DOWNLOAD_CONTENT_SECURITY_POLICY, parseRange, type RangeRequest } from '../downloads.js';
import { isMultipartFormData, NotMultipart, receiveUpload } from '../multipart-upload.js';
import { needs } from '../route-access.js';
import { AttachmentDto, AttachmentList, AttachmentParams, ContentHeaders, OneAttachmentParams, UploadBodyDocumentation } from '../schemas/attachment-schemas.js';
import { problems } from '../schemas/common.js';
import { schemaCompiler } from '../validation.js';
import type { RouteGuards } from './route-guards.js';

export interface AttachmentRoutesOptions {
  uploadAttachment: UploadAttachment;
  listAttachments: ListAttachments;
  getAttachment: GetAttachment;
  openAttachmentContent: OpenAttachmentContent;
  deleteAttachment: DeleteAttachment;
  guards: RouteGuards;
  uploads: AttachmentUploadSettings;
}

export interface AttachmentUploadSettings {
  /** ATTACHMENT_MAX_BYTES: the file part's own limit, apart from BODY_LIMIT. */
  maxBytes: number;
  /** ATTACHMENT_UPLOAD_TIMEOUT: a connection still uploading then is closed. */
  timeoutMs: number;
}

/** Refused before a byte of the body is read: only multipart/form-data is an upload. */
async function refuseOtherBodies(request: FastifyRequest): Promise<void> {
  if (!isMultipartFormData(request.headers['content-type'])) throw new NotMultipart('Send the file as multipart/form-data, in one part named "file".');
}

/**
 * A refused upload may leave its body unread (the file was too large, the task not yours): the
 * connection closes after the answer, so a client still sending learns it at once instead of
 * pushing the rest into a connection that would have to read and discard it.
 */
function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
  if (!request.raw.readableEnded) reply.header('connection', 'close');
  done(null, payload);
}

export const attachmentRoutes: FastifyPluginAsyncTypebox<AttachmentRoutesOptions> = async (app, options) => {
  const { uploads } = options;
  // In this plugin only: no other route parses multipart bodies. The file part's limit is one
  // byte over the maximum, so that the upload sees a file is too large rather than a cut one.
  await app.register(multipart, {
    preservePath: true,
    throwFileSizeLimit: false,
    limits: { fileSize: uploads.maxBytes + 1, parts: 2, fieldSize: 1024, fieldNameSize: 100, headerPairs: 100 },
  });
  const perUser = options.guards.userRateLimit;
  const tags = ['attachments'];

  app.post(
    '/tasks/:id/attachments',
    {
      config: { ...perUser, access: needs('tasks:write') },
      preParsing: refuseOtherBodies,
      onSend: closeIfBodyUnread,
      schema: {
        tags,
        summary: 'Attach a file to a task',
        description:
          'multipart/form-data with exactly one part: the file, named "file". It streams to storage while its size and SHA-256 are computed. ' +
          'Not multipart: 415. No file part, another part, or an empty file: 422. Over ATTACHMENT_MAX_BYTES: 413; over your ATTACHMENT_QUOTA_BYTES: ' +
          '413 with a problem type ending in quota-exceeded. A refused or cut-off upload stores nothing.',
        consumes: ['multipart/form-data'],
        params: AttachmentParams,
        body: UploadBodyDocumentation,
        response: { 201: AttachmentDto, ...problems(400, 401, 404, 408, 413, 415, 422, 429) },
      },
      // The body is read as a stream by the handler; the schema above only documents it.
      validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : schemaCompiler(route)),
    },
    async (request, reply) => {
      // A client that stalls is cut off at the deadline; the upload then fails and stores nothing.
      const deadline = setTimeout(() => request.raw.destroy(), uploads.timeoutMs);
      try {
        const created = await options.uploadAttachment.execute(principalOf(request), request.params.id, () => receiveUpload(request));
        return reply.code(201).header('location', `/tasks/${created.taskId}/attachments/${created.id}`).send(toAttachmentDto(created));
      } finally {
        clearTimeout(deadline);
      }
    },
  );

  app.get(
    '/tasks/:id/attachments',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: { tags, summary: 'A task\'s attachments, oldest first', params: AttachmentParams, response: { 200: AttachmentList, ...problems(401, 404, 422, 429) } },
    },
    async (request) => ({ items: (await options.listAttachments.execute(principalOf(request), request.params.id)).map(toAttachmentDto) }),
  );

  app.get(
    '/tasks/:id/attachments/:attachmentId',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: { tags, summary: 'One attachment\'s metadata', params: OneAttachmentParams, response: { 200: AttachmentDto, ...problems(401, 404, 422, 429) } },
    },
    async (request) => toAttachmentDto(await options.getAttachment.execute(principalOf(request), request.params.id, request.params.attachmentId)),
  );

  app.get(
    '/tasks/:id/attachments/:attachmentId/content',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'Download an attachment (GET or HEAD)',
        description:
          'The exact bytes uploaded, with ETag "<sha256>", Accept-Ranges: bytes, X-Content-Type-Options: nosniff and a sandboxing Content-Security-Policy. ' +
          'Content-Disposition is inline only for PNG, JPEG, GIF and WebP images, attachment otherwise (RFC 6266, filename* for non-ASCII names). ' +
          'One Range → 206 with Content-Range; a range starting past the end → 416 with Content-Range: bytes */<size>; several ranges → the whole file. ' +
          'If-None-Match with the ETag → 304.',
        produces: ['application/octet-stream'],
        params: OneAttachmentParams,
        headers: ContentHeaders,
        response: {
          200: { description: 'The whole file.', type: 'string', format: 'binary' },
          206: { description: 'The requested range.', type: 'string', format: 'binary' },
          304: { type: 'null', description: 'Not modified.' },
          416: { type: 'null', description: 'The range is outside the file; Content-Range says its size.' },
          ...problems(401, 404, 422, 429),
        },
      },
    },
    async (request, reply) => {
      // Decided once the attachment is known, before any byte is read from storage.
      const answer: { status: 200 | 206 | 304 | 416; range: RangeRequest } = { status: 200, range: { kind: 'whole' } };
      const choosePart = (attachment: Attachment): ContentPart => {
        if (contentNoneMatch(request.headers['if-none-match'], attachment.sha256)) return (answer.status = 304), { kind: 'none' };
        answer.range = parseRange(request.headers.range, attachment.size);
        if (answer.range.kind === 'unsatisfiable') return (answer.status = 416), { kind: 'none' };
        if (answer.range.kind === 'range') answer.status = 206;
        if (request.method === 'HEAD') return { kind: 'none' };
        return answer.range.kind === 'range' ? { kind: 'range', range: { start: answer.range.start, end: answer.range.end } } : { kind: 'whole' };
      };
      const { attachment, bytes } = await options.openAttachmentContent.execute(principalOf(request), request.params.id, request.params.attachmentId, choosePart);
      const { size } = attachment;
      reply
        .header('etag', contentEtag(attachment.sha256))
        .header('accept-ranges', 'bytes')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', DOWNLOAD_CONTENT_SECURITY_POLICY)
        .header('cache-control', 'private, no-cache');
      const { status, range } = answer;
      if (status === 304) return reply.code(304).send();
      if (status === 416) return reply.code(416).header('content-range', `bytes */${size}`).send();
      const length = range.kind === 'range' ? range.end - range.start + 1 : size;
      if (range.kind === 'range') reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.code(status).type(attachment.contentType).header('content-disposition', contentDisposition(attachment.filename, attachment.contentType)).header('content-length', length);
      // HEAD gets an empty stream: Fastify's HEAD route keeps the Content-Length of a streamed body.
      return reply.send(Readable.from(bytes ?? [], { objectMode: false }));
    },
  );

  app.delete(
    '/tasks/:id/attachments/:attachmentId',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Delete an attachment',
        description: 'Its metadata goes at once and its content is never served again; its bytes are removed from storage shortly after, by a job.',
        params: OneAttachmentParams,
        response: { 204: { type: 'null', description: 'Deleted.' }, ...problems(401, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      await options.deleteAttachment.execute(principalOf(request), request.params.id, request.params.attachmentId);
      return reply.code(204).send();
    },
  );
};
