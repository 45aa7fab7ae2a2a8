import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const AttachmentParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The task\'s id.' }),
});

export const OneAttachmentParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The task\'s id.' }),
  attachmentId: Type.String({ format: 'uuid', maxLength: 36, description: 'The attachment\'s id, a UUID.' }),
});

export const AttachmentDto = Type.Object(
  {
    id: Type.String({ format: 'uuid', examples: ['0b6f3c1e-2a4d-4e8f-9a7b-1c2d3e4f5a6b'] }),
    task_id: Type.Integer({ minimum: 1 }),
    filename: Type.String({ description: 'The part\'s filename without any path or control characters, at most 255 characters; "file" when nothing usable was given.' }),
    content_type: Type.String({ description: 'The part\'s declared type, lower-cased, with no parameter but charset; application/octet-stream when none was given.' }),
    size: Type.Integer({ minimum: 1, description: 'Bytes, as the server counted them.' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the bytes, lowercase hex, as the server computed it.' }),
    created_at: Timestamp,
  },
  { additionalProperties: false },
);
export type AttachmentDto = Static<typeof AttachmentDto>;

export const AttachmentList = Type.Object({ items: Type.Array(AttachmentDto) }, { additionalProperties: false });

export const ContentHeaders = Type.Object({
  range: Type.Optional(Type.String({ description: 'One range, bytes=first-last, bytes=first- or bytes=-suffix. Several ranges, or one that cannot be read, get the whole file (200).' })),
  'if-none-match': Type.Optional(Type.String({ description: 'The ETag ("<sha256>") you have: 304 and no body when it still matches.' })),
});

/** The multipart body, for the OpenAPI document: the route reads it as a stream, never through this schema. */
export const UploadBodyDocumentation = {
  type: 'object',
  required: ['file'],
  properties: { file: { type: 'string', format: 'binary', description: 'The file: the only part, named "file".' } },
};
