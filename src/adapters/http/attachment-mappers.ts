import type { Attachment } from '../../domain/index.js';
import { formatUtc } from '../shared/utc-timestamps.js';
import type { AttachmentDto } from './schemas/attachment-schemas.js';

/** A whitelist: never the owner, never where the bytes are kept. */
export const toAttachmentDto = (entity: Attachment): AttachmentDto => ({
  id: entity.id,
  task_id: entity.taskId,
  filename: entity.filename,
  content_type: entity.contentType,
  size: entity.size,
  sha256: entity.sha256,
  created_at: formatUtc(entity.createdAt),
});
