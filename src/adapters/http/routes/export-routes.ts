import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { GetExport, ListExports, OpenExportDownload, RequestExport } from '../../../application/index.js';
import type { ExportFormat } from '../../../domain/index.js';
import { principalOf } from '../authentication.js';
import { toExportDto } from '../export-mappers.js';
import { needs } from '../route-access.js';
import { problems } from '../schemas/common.js';
import { CreateExportBody, ExportDto, ExportList, ExportParams } from '../schemas/export-schemas.js';
import type { RouteGuards } from './route-guards.js';

export interface ExportRoutesOptions {
  requestExport: RequestExport;
  listExports: ListExports;
  getExport: GetExport;
  openExportDownload: OpenExportDownload;
  guards: RouteGuards;
}

const CONTENT_TYPE: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** The file's name as a download offers it: ASCII only (the id and the extension), so no encoding is needed. */
const fileNameOf = (id: string, format: ExportFormat): string => `taskforge-export-${id}.${format}`;

export const exportRoutes: FastifyPluginAsyncTypebox<ExportRoutesOptions> = async (app, options) => {
  const perUser = options.guards.userRateLimit;
  const tags = ['exports'];

  app.post(
    '/exports',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Export all your tasks to a file',
        description:
          'Answers at once with the queued export; a background job writes the file from one consistent snapshot of your tasks. ' +
          'Follow Location (or the export.completed / export.failed event) until its status is succeeded, then download it.',
        body: CreateExportBody,
        response: { 202: ExportDto, ...problems(400, 401, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const created = await options.requestExport.execute(principalOf(request), request.body);
      return reply.code(202).header('location', `/exports/${created.id}`).send(toExportDto(created));
    },
  );

  app.get(
    '/exports',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'Your exports, newest first',
        description: 'At most the 100 newest. An export is listed until 7 days after it expired (or failed).',
        response: { 200: ExportList, ...problems(401, 429) },
      },
    },
    async (request) => ({ items: (await options.listExports.execute(principalOf(request))).map(toExportDto) }),
  );

  app.get(
    '/exports/:exportId',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: { tags, summary: 'One of your exports', params: ExportParams, response: { 200: ExportDto, ...problems(401, 404, 422, 429) } },
    },
    async (request) => toExportDto(await options.getExport.execute(principalOf(request), request.params.exportId)),
  );

  app.get(
    '/exports/:exportId/download',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'Download the file of a succeeded export',
        description:
          'JSON: an array of your tasks as GET /tasks/{id} returns them, each with its attachments. CSV (RFC 4180, UTF-8, CRLF): a header row, ' +
          'then one row per task with tags joined by ";"; a cell starting with =, +, - or @ is prefixed with \' so that no spreadsheet runs it. ' +
          '409 while the export is not succeeded; 410 once it has expired.',
        produces: ['application/json', 'text/csv'],
        params: ExportParams,
        response: { 200: { description: 'The file, as an attachment.', type: 'string', format: 'binary' }, ...problems(401, 404, 409, 410, 422, 429) },
      },
    },
    async (request, reply) => {
      const download = await options.openExportDownload.execute(principalOf(request), request.params.exportId);
      const { id, format, size } = download.export;
      reply.type(CONTENT_TYPE[format]).header('content-disposition', `attachment; filename="${fileNameOf(id, format)}"`);
      if (size !== null) reply.header('content-length', size);
      return reply.send(Readable.from(download.content, { objectMode: false }));
    },
  );
};
