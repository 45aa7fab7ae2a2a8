import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

const EVENT_ID_DESCRIPTION = 'Opaque, at most 64 characters of [A-Za-z0-9._:-]; resume from it with since (or Last-Event-ID).';

export const EventDto = Type.Object(
  {
    id: Type.String({ maxLength: 64, description: EVENT_ID_DESCRIPTION, examples: ['1042'] }),
    type: Type.String({
      description:
        'task.created, task.updated, task.deleted, task.reminder, export.completed, export.failed, attachment.created or attachment.deleted (more kinds may come: ignore the ones you do not know).',
      examples: ['task.updated'],
    }),
    occurred_at: Timestamp,
    data: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'task.created, task.updated and task.reminder: { task } as GET /tasks/{id} returns it (for task.reminder, as it is when its remind_at comes); ' +
          'task.deleted: { id }; export.completed and export.failed: { export } as GET /exports/{id} returns it; ' +
          'attachment.created: { task_id, attachment } as GET /tasks/{id}/attachments/{aid} returns it; attachment.deleted: { task_id, id }.',
      },
    ),
  },
  { $id: 'Event', additionalProperties: false },
);
export type EventDto = Static<typeof EventDto>;

/** The first message of every stream. */
export const ReadyMessage = Type.Object(
  {
    type: Type.Literal('ready'),
    last_id: Nullable(Type.String(), { description: 'The id of your newest event, or null when you have none.' }),
  },
  { additionalProperties: false },
);
export type ReadyMessage = Static<typeof ReadyMessage>;

export const EventsQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Replay every event after this one, then continue live. Not an event id: 422; unknown, another user\'s or past retention: 410.',
        examples: ['1042'],
      }),
    ),
    ticket: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'A single-use ticket from POST /events/tickets, instead of the Authorization header (browsers).' }),
    ),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

export const EventsHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ maxLength: 64, description: 'SSE only: the resume point an EventSource sends when it reconnects; since wins.' })),
});

export const EventTicketDto = Type.Object(
  {
    ticket: Type.String({ description: 'Pass it as ?ticket= to GET /events, once, within expires_in seconds.', examples: ['tfe_Xq3…'] }),
    expires_in: Type.Integer({ description: 'Seconds the ticket stays valid.', examples: [30] }),
  },
  { additionalProperties: false },
);
