import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { IssueEventTicket, LiveEvents } from '../../../application/index.js';
import { principalOf } from '../authentication.js';
import { SSE_HEADERS, SseChannel } from '../events/sse-channel.js';
import { logWhenSseAbandoned, logWhenWebSocketCloses } from '../events/stream-log.js';
import { EventStreamOpener } from '../events/stream-opening.js';
import type { EventStreamSettings } from '../events/stream-settings.js';
import { WebSocketChannel } from '../events/websocket-channel.js';
import { needs } from '../route-access.js';
import { problems } from '../schemas/common.js';
import { EventTicketDto, EventsHeaders, EventsQuery } from '../schemas/event-schemas.js';
import type { RouteGuards } from './route-guards.js';

export interface EventRoutesOptions {
  issueEventTicket: IssueEventTicket;
  liveEvents: LiveEvents;
  streams: EventStreamSettings;
  guards: RouteGuards;
}

const STREAM_DESCRIPTION = [
  'Your events as they happen: a WebSocket (Upgrade: websocket) or Server-Sent Events (Accept: text/event-stream) on this one path; neither is a 406.',
  'Every check is answered before the upgrade, as a problem.',
  'Each event is { id, type, occurred_at, data }: task.created and task.updated carry { task }, task.deleted { id }.',
  'The first message is { "type": "ready", "last_id" } (SSE: an event: ready frame); then, with since (or, over SSE, Last-Event-ID), every event after that one, then live events.',
  'SSE frames are id / event / data lines, the data being the event as JSON.',
  'Heartbeats: a ping frame or an SSE comment line. Client messages are ignored; a frame over 4 KiB closes the WebSocket with 1009.',
  'The server closes the WebSocket with 4401 (or ends the SSE response) when the session or token is revoked, 4408 when the client stops reading, 1001 when it shuts down.',
].join(' ');

export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, options) => {
  const { liveEvents, streams } = options;
  const perUser = options.guards.userRateLimit;
  const tags = ['events'];
  const opener = new EventStreamOpener(liveEvents, streams, () => app.draining);

  app.addHook('onReady', async () => liveEvents.start());
  // Open streams never end by themselves: they are closed when the drain starts, not waited for.
  app.onDrain(() => liveEvents.stop());
  app.addHook('onClose', async () => liveEvents.stop());

  app.post(
    '/events/tickets',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'A ticket to open GET /events from a browser',
        description: 'Browsers cannot set headers on a WebSocket or an EventSource: pass this as ?ticket= instead. Single use, valid 30 s, bound to the session (or token) that asked.',
        response: { 201: EventTicketDto, ...problems(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { ticket, expiresIn } = await options.issueEventTicket.execute(principalOf(request));
      return reply.code(201).header('cache-control', 'no-store').send({ ticket, expires_in: expiresIn });
    },
  );

  app.route({
    method: 'GET',
    url: '/events',
    // A HEAD request cannot become a stream.
    exposeHeadRoute: false,
    config: { ...perUser, access: needs('tasks:read', { ticket: true }) },
    schema: {
      tags,
      summary: 'Live events (WebSocket or Server-Sent Events)',
      description: STREAM_DESCRIPTION,
      querystring: EventsQuery,
      headers: EventsHeaders,
      response: {
        101: { type: 'null', description: 'Switched to a WebSocket: JSON text frames, the ready message first, then each event.' },
        200: {
          description: 'A Server-Sent Events stream: the ready frame, then each event.',
          content: { 'text/event-stream': { schema: { type: 'string', examples: ['id: 1042\nevent: task.updated\ndata: {"id":"1042","type":"task.updated",…}\n\n'] } } },
        },
        ...problems(401, 403, 406, 410, 422, 429, 503),
      },
    },
    preHandler: opener.preHandler,
    handler: (request, reply) => {
      const channel = new SseChannel(reply.raw, streams.maxBufferBytes);
      opener.streamOf(request).attach(channel);
      logWhenSseAbandoned(reply, request);
      return reply.headers(SSE_HEADERS).send(channel.body);
    },
    wsHandler: (socket, request) => {
      opener.streamOf(request).attach(new WebSocketChannel(socket, streams.maxBufferBytes));
      logWhenWebSocketCloses(socket, request);
    },
  });
};
