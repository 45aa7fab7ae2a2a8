import type { ServerProcess } from '../../scripts/support/server-process.js';
import { connectWs, openSse, sseRefusal, wsRefusal, type Message } from './event-streams.js';

export type Transport = 'websocket' | 'sse';
export const TRANSPORTS: readonly Transport[] = ['websocket', 'sse'];

/** An event as a client took it from its stream, and when (Date.now()). */
export interface Received {
  event: Message;
  at: number;
}

/** GET /events on a service process, whichever the transport: its ready message, then its events. */
export interface LiveStream {
  readonly transport: Transport;
  /** The first message (`{ type: 'ready', last_id }`). */
  readonly ready: Message;
  /** The next event, waited for up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<Message>;
  /** Events received but not taken yet. */
  readonly pending: number;
  /** Settles when the server or the network ended the stream: the WebSocket close code (null for SSE), and when. */
  readonly ended: Promise<{ code: number | null; at: number }>;
  close(): void;
}

const pathOf = (query: Record<string, string>) => {
  const search = new URLSearchParams(query).toString();
  return search ? `/events?${search}` : '/events';
};

/** Opens GET /events (`query`: since, ticket) and waits for its ready message. */
export async function openStream(server: ServerProcess, transport: Transport, headers: Record<string, string>, query: Record<string, string> = {}): Promise<LiveStream> {
  if (transport === 'websocket') {
    const ws = await connectWs(server.port, pathOf(query), headers);
    const ready = await ws.ready();
    return {
      transport,
      ready,
      next: (timeoutMs) => ws.messages.next(timeoutMs),
      get pending() {
        return ws.messages.size;
      },
      ended: ws.closed.then(({ code, at }) => ({ code, at })),
      close: () => ws.socket.close(),
    };
  }
  const sse = await openSse(server.port, pathOf(query), headers);
  const frame = await sse.frames.next();
  if (frame.event !== 'ready') throw new Error(`the first SSE frame was not ready: ${JSON.stringify(frame)}`);
  return {
    transport,
    ready: JSON.parse(frame.data) as Message,
    next: (timeoutMs) => sse.nextEvent(timeoutMs),
    get pending() {
      return sse.frames.size;
    },
    ended: sse.ended.then((at) => ({ code: null, at })),
    close: () => sse.close(),
  };
}

/** Takes `count` events, each stamped as it is taken: run it before the writes, so that it waits for each one. */
export async function receive(stream: LiveStream, count: number, timeoutMs = 5_000): Promise<Received[]> {
  const received: Received[] = [];
  while (received.length < count) received.push({ event: await stream.next(timeoutMs), at: Date.now() });
  return received;
}

/** Every event after `since`, up to the newest when asked: a fresh replay over a WebSocket. */
export async function replay(server: ServerProcess, headers: Record<string, string>, since: string): Promise<Message[]> {
  const stream = await openStream(server, 'websocket', headers, { since });
  const events: Message[] = [];
  try {
    while (stream.ready.last_id !== since && events[events.length - 1]?.id !== stream.ready.last_id) events.push(await stream.next());
  } finally {
    stream.close();
  }
  return events;
}

/** The status GET /events is refused with, before any upgrade. */
export async function refusalStatus(server: ServerProcess, transport: Transport, headers: Record<string, string>, query: Record<string, string> = {}): Promise<number> {
  const refuse = transport === 'websocket' ? wsRefusal : sseRefusal;
  return (await refuse(server.port, pathOf(query), headers)).status;
}
