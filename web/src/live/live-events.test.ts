import { describe, expect, it } from 'vitest';
import { LiveEvents, type ChangeEvent, type LiveState } from './live-events';

const frame = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const anEvent = (id: string): ChangeEvent => ({ id, type: 'task.deleted', occurred_at: '2026-01-01T00:00:00.000Z', data: { id: Number(id) } });

/** A server that answers each connection with the next script: a status, or frames then the end of the stream. */
function fakeServer(scripts: Array<number | string[]>) {
  const urls: string[] = [];
  const fetch = (async (url: string) => {
    urls.push(url);
    const script = scripts.shift();
    if (script === undefined) return new Promise<Response>(() => undefined); // stays connected, says nothing
    if (typeof script === 'number') return new Response(null, { status: script });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of script) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }) as typeof globalThis.fetch;
  return { fetch, urls };
}

function liveEvents(server: ReturnType<typeof fakeServer>, tickets: Array<string | null> = []) {
  const events: string[] = [];
  const states: LiveState[] = [];
  let resyncs = 0;
  let ticket = 0;
  const live = new LiveEvents({
    ticket: async () => (tickets.length > 0 ? tickets.shift()! : `t${++ticket}`),
    onEvent: (event) => events.push(event.id),
    onResync: () => resyncs++,
    onState: (state) => states.push(state),
    delay: async () => undefined,
    fetch: server.fetch,
  });
  return { live, events, states, resyncs: () => resyncs };
}

/** Resolves once `condition` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 0));
}

describe('LiveEvents', () => {
  it('resumes after a drop from the last event it saw, with a new ticket, and delivers a replayed event once', async () => {
    const server = fakeServer([
      [frame('ready', { type: 'ready', last_id: '10' }), frame('task.deleted', anEvent('11'), '11'), frame('task.deleted', anEvent('12'), '12')],
      [frame('ready', { type: 'ready', last_id: '13' }), frame('task.deleted', anEvent('12'), '12'), frame('task.deleted', anEvent('13'), '13')],
    ]);
    const { live, events } = liveEvents(server);
    live.start();
    await until(() => events.length === 3);
    live.stop();
    expect(events).toEqual(['11', '12', '13']);
    expect(server.urls[0]).toBe('/events?ticket=t1');
    expect(server.urls[1]).toBe('/events?ticket=t2&since=12');
  });

  it('resumes from the ready frame\'s last_id when the first connection dropped before any event', async () => {
    const server = fakeServer([[frame('ready', { type: 'ready', last_id: '7' })], []]);
    const { live } = liveEvents(server);
    live.start();
    await until(() => server.urls.length >= 2);
    live.stop();
    expect(server.urls[1]).toBe('/events?ticket=t2&since=7');
  });

  it('starts afresh after a 410 and asks the page to reload once it is live again', async () => {
    const server = fakeServer([[frame('ready', { type: 'ready', last_id: '5' })], 410, [frame('ready', { type: 'ready', last_id: '90' })]]);
    const { live, resyncs } = liveEvents(server);
    live.start();
    await until(() => resyncs() === 1);
    live.stop();
    expect(server.urls[2]).toBe('/events?ticket=t3');
  });

  it('stops when the session is over (no ticket), and resolves ready() once live', async () => {
    const server = fakeServer([[frame('ready', { type: 'ready', last_id: null })]]);
    const { live, states } = liveEvents(server, ['first', null]);
    live.start();
    await live.ready();
    await until(() => states.includes('stopped'));
    expect(server.urls).toEqual(['/events?ticket=first']);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'stopped']);
  });
});
