import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, isEventIdForm, ValidationError } from '../../../domain/index.js';
import type { LiveEvents } from '../../../application/index.js';
import { principalOf } from '../authentication.js';
import { httpProblem, sendProblem } from '../problem.js';
import type { EventsQuery } from '../schemas/event-schemas.js';
import { ClientStream } from './client-stream.js';
import type { EventStreamSettings } from './stream-settings.js';

/** A slot frees when another of the user's streams closes, which may be happening right now. */
const STREAM_LIMIT_RETRY_AFTER_SECONDS = 5;

type EventsRequest = FastifyRequest<{ Querystring: EventsQuery }>;

/** `Accept` names text/event-stream (a wildcard does not: a client that did not ask for a stream gets no stream). */
export function acceptsEventStream(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'text/event-stream' && !parameters.some((parameter) => /^q=0(\.0{0,3})?$/.test(parameter));
  });
}

/** SSE only: where an EventSource asks to resume after a dropped connection. */
function lastEventIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header !== 'string' || header === '') return undefined;
  if (!isEventIdForm(header)) throw ValidationError.field('last-event-id', 'is not an event id');
  return header;
}

/**
 * Everything GET /events checks before a WebSocket upgrade or the first byte of an SSE response,
 * so that each refusal is an HTTP problem: the service is not draining (503), the client asked
 * for a stream (406), its resume point is valid (422) and still known (410), and the user has a
 * stream to spare (429). The stream is then opened and held here until the transport takes it.
 */
export class EventStreamOpener {
  private readonly opened = new WeakMap<FastifyRequest, ClientStream>();

  constructor(
    private readonly liveEvents: LiveEvents,
    private readonly settings: EventStreamSettings,
    private readonly draining: () => boolean,
  ) {}

  readonly preHandler = async (request: EventsRequest, reply: FastifyReply) => {
    if (this.draining()) {
      return sendProblem(reply.header('retry-after', 1), httpProblem(503, 'This instance is shutting down; connect again.'));
    }
    if (!request.ws && !acceptsEventStream(request.headers.accept)) {
      return sendProblem(reply, httpProblem(406, 'GET /events is a WebSocket (Upgrade: websocket) or Server-Sent Events (Accept: text/event-stream).'));
    }
    const since = request.query.since ?? (request.ws ? undefined : lastEventIdOf(request));
    try {
      this.opened.set(request, await this.open(request, reply, since));
    } catch (error) {
      if (isDomainError(error) && error.code === 'TOO_MANY_STREAMS') reply.header('retry-after', STREAM_LIMIT_RETRY_AFTER_SECONDS);
      throw error;
    }
  };

  /** The stream opened for this request by the preHandler. */
  streamOf(request: FastifyRequest): ClientStream {
    const stream = this.opened.get(request);
    if (!stream) throw new Error('GET /events handler reached without its preHandler');
    return stream;
  }

  private async open(request: FastifyRequest, reply: FastifyReply, since: string | undefined): Promise<ClientStream> {
    const actor = principalOf(request);
    const start = await this.liveEvents.prepare(actor, since);
    const stream = new ClientStream({ ...start, resumeId: since ?? start.lastId }, this.settings);
    // open() checks the limit again: of two requests prepared side by side, one may take the last slot.
    stream.bind(this.liveEvents.open(actor, start, stream));
    // The connection, upgraded or not, closing for any reason ends the stream: nothing can leak.
    reply.raw.once('close', () => stream.gone());
    return stream;
  }
}
