import type { Export } from '../../domain/index.js';
import { formatUtc } from '../shared/utc-timestamps.js';
import type { ExportDto } from './schemas/export-schemas.js';

/** A whitelist: never the owner, never why it failed. */
export const toExportDto = (entity: Export): ExportDto => ({
  id: entity.id,
  format: entity.format,
  status: entity.status,
  created_at: formatUtc(entity.createdAt),
  completed_at: entity.completedAt && formatUtc(entity.completedAt),
  expires_at: entity.expiresAt && formatUtc(entity.expiresAt),
  size: entity.size,
});
