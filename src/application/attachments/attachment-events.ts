import type { Attachment } from '../../domain/index.js';
import type { DomainEvent, EventPublisher } from '../ports/index.js';

export type AttachmentCreated = DomainEvent<'attachment.created', { taskId: number; attachment: Attachment }>;
export type AttachmentDeleted = DomainEvent<'attachment.deleted', { taskId: number; id: string }>;
export type AttachmentEvent = AttachmentCreated | AttachmentDeleted;

/** Publishes an attachment's change to its owner (see EventPublisher). The payload is a copy, never the live entity. */
export function publishAttachmentEvent(events: EventPublisher, event: AttachmentEvent): Promise<void> {
  return events.publish({ ...event, payload: structuredClone(event.payload) });
}
