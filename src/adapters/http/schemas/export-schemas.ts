import { Type, type Static } from '@sinclair/typebox';
import { EXPORT_FORMATS, EXPORT_STATUSES } from '../../../domain/index.js';
import { Nullable, StringEnum, Timestamp } from './common.js';

export const CreateExportBody = Type.Object(
  { format: StringEnum(EXPORT_FORMATS, { description: 'json: an array of your tasks as GET /tasks/{id} returns them; csv: one row per task.', examples: ['csv'] }) },
  { additionalProperties: false, examples: [{ format: 'json' }] },
);
export type CreateExportBody = Static<typeof CreateExportBody>;

export const ExportParams = Type.Object({
  exportId: Type.String({ format: 'uuid', maxLength: 36, description: 'The export\'s id, a UUID.' }),
});

export const ExportDto = Type.Object(
  {
    id: Type.String({ format: 'uuid', examples: ['3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192'] }),
    format: StringEnum(EXPORT_FORMATS),
    status: StringEnum(EXPORT_STATUSES, { description: 'queued, then running, then succeeded or failed.' }),
    created_at: Timestamp,
    completed_at: Nullable(Type.String({ format: 'date-time' }), { description: 'When it succeeded or failed.' }),
    expires_at: Nullable(Type.String({ format: 'date-time' }), { description: 'When the file of a succeeded export goes away (EXPORT_TTL after completion).' }),
    size: Nullable(Type.Integer({ minimum: 0 }), { description: 'The file\'s length in bytes, once it succeeded.' }),
  },
  { additionalProperties: false },
);
export type ExportDto = Static<typeof ExportDto>;

export const ExportList = Type.Object({ items: Type.Array(ExportDto) }, { additionalProperties: false });
