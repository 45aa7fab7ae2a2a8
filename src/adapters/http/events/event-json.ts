import type { AttachmentEvent, ExportEvent, LoggedEvent, TaskEvent } from '../../../application/index.js';
import { toAttachmentDto } from '../attachment-mappers.js';
import { formatUtc } from '../../shared/utc-timestamps.js';
import { toExportDto } from '../export-mappers.js';
import type { EventDto, ReadyMessage } from '../schemas/event-schemas.js';
import { toTaskDto } from '../task-mappers.js';

/** Every event a client may be shown. */
type ClientEvent = TaskEvent | ExportEvent | AttachmentEvent;
type PayloadOf<T extends ClientEvent['type']> = Extract<ClientEvent, { type: T }>['payload'];

/** A whitelist per event type, as for every other response: what a client sees of each payload. */
const DATA_OF: { [T in ClientEvent['type']]: (payload: PayloadOf<T>) => EventDto['data'] } = {
  'task.created': ({ task }) => ({ task: toTaskDto(task) }),
  'task.updated': ({ task }) => ({ task: toTaskDto(task) }),
  'task.deleted': ({ taskId }) => ({ id: taskId }),
  'task.reminder': ({ task }) => ({ task: toTaskDto(task) }),
  'export.completed': ({ export: entity }) => ({ export: toExportDto(entity) }),
  'export.failed': ({ export: entity }) => ({ export: toExportDto(entity) }),
  'attachment.created': ({ taskId, attachment }) => ({ task_id: taskId, attachment: toAttachmentDto(attachment) }),
  'attachment.deleted': ({ taskId, id }) => ({ task_id: taskId, id }),
};

const isKnownType = (type: string): type is ClientEvent['type'] => Object.hasOwn(DATA_OF, type);

/** The event as both transports send it; null for a type this version cannot show. */
export function toEventDto(event: LoggedEvent): EventDto | null {
  if (!isKnownType(event.type)) return null;
  const data = (DATA_OF[event.type] as (payload: unknown) => EventDto['data'])(event.payload);
  return { id: event.id, type: event.type, occurred_at: formatUtc(event.occurredAt), data };
}

/**
 * Each event's JSON, written once however many of its user's streams it goes to: the hub hands
 * the same event object to each of them, and forgets it afterwards.
 */
const written = new WeakMap<LoggedEvent, string | null>();

export function eventJson(event: LoggedEvent): string | null {
  let json = written.get(event);
  if (json === undefined) {
    const dto = toEventDto(event);
    json = dto && JSON.stringify(dto);
    written.set(event, json);
  }
  return json;
}

export const readyMessage = (lastId: string | null): ReadyMessage => ({ type: 'ready', last_id: lastId });
