import type { Export } from '../../domain/index.js';
import type { DomainEvent, EventPublisher } from '../ports/index.js';

export type ExportCompleted = DomainEvent<'export.completed', { export: Export }>;
export type ExportFailed = DomainEvent<'export.failed', { export: Export }>;
export type ExportEvent = ExportCompleted | ExportFailed;

/** Publishes how an export ended to its owner (see EventPublisher). The payload is a copy, never the live entity. */
export function publishExportEvent(events: EventPublisher, event: ExportEvent): Promise<void> {
  return events.publish({ ...event, payload: { export: structuredClone(event.payload.export) } });
}
