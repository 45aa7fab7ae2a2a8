import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LoggedEvent, StreamEnd } from '../../../src/application/index.js';
import { ClientStream, type EventChannel } from '../../../src/adapters/http/events/client-stream.js';
import { eventJson, toEventDto } from '../../../src/adapters/http/events/event-json.js';
import { acceptsEventStream } from '../../../src/adapters/http/events/stream-opening.js';
import { fitsInBuffer } from '../../../src/adapters/http/events/stream-settings.js';
import { toTaskDto } from '../../../src/adapters/http/task-mappers.js';
import { aTask } from '../../support/task-builders.js';

const AT = new Date('2026-12-08T09:00:00.000Z');
let position = 0;
const anEvent = (overrides: Partial<LoggedEvent> = {}): LoggedEvent => {
  position += 1;
  return { id: String(position), position, userId: 1, type: 'task.created', occurredAt: AT, payload: { task: aTask({ title: `task ${position}` }) }, ...overrides };
};

/** Records what the stream asks of its transport; `room` says how many more frames fit. */
class RecordingChannel implements EventChannel {
  readonly sent: string[] = [];
  ended: StreamEnd | null = null;
  constructor(private room = Infinity) {}
  sendReady(message: { last_id: string | null }, resumeId: string | null): void {
    this.sent.push(`ready ${message.last_id} from ${resumeId}`);
  }
  sendEvent(event: LoggedEvent): boolean {
    return this.take(`event ${event.id}`);
  }
  sendHeartbeat(): boolean {
    return this.take('heartbeat');
  }
  end(reason: StreamEnd): void {
    this.ended = reason;
  }
  private take(frame: string): boolean {
    if (this.room <= 0) return false;
    this.room -= 1;
    this.sent.push(frame);
    return true;
  }
}

const settings = { heartbeatSeconds: 30, maxBufferBytes: 64 * 1024 };
const aStream = (lastId: string | null = '9', options = settings) => {
  const stream = new ClientStream({ position: 9, lastId, resumeId: lastId }, options);
  const handle = { close: vi.fn() };
  stream.bind(handle);
  return { stream, handle };
};

afterEach(() => vi.useRealTimers());

describe('the event JSON both transports send', () => {
  it('maps each task event through the task whitelist', () => {
    const task = aTask({ id: 7, tags: ['a'] });
    expect(toEventDto(anEvent({ id: '41', type: 'task.updated', payload: { task } }))).toEqual({
      id: '41',
      type: 'task.updated',
      occurred_at: '2026-12-08T09:00:00.000Z',
      data: { task: toTaskDto(task) },
    });
    expect(toEventDto(anEvent({ id: '42', type: 'task.deleted', payload: { taskId: 7 } }))?.data).toEqual({ id: 7 });
  });

  it('shows nothing of a kind of event it does not know', () => {
    expect(toEventDto(anEvent({ type: 'something.new', payload: { secret: 'x' } }))).toBeNull();
    expect(eventJson(anEvent({ type: 'something.new', payload: { secret: 'x' } }))).toBeNull();
  });
});

describe('acceptsEventStream', () => {
  it.each([
    ['text/event-stream', true],
    ['application/json, TEXT/Event-Stream;q=0.5', true],
    ['text/event-stream;q=0', false],
    ['*/*', false],
    ['text/*', false],
    [undefined, false],
  ])('%s → %s', (accept, expected) => expect(acceptsEventStream(accept)).toBe(expected));
});

describe('fitsInBuffer', () => {
  it('lets any frame into an empty queue, and otherwise only within the limit', () => {
    expect(fitsInBuffer(0, 10_000, 100)).toBe(true);
    expect(fitsInBuffer(60, 40, 100)).toBe(true);
    expect(fitsInBuffer(60, 41, 100)).toBe(false);
  });
});

describe('ClientStream', () => {
  it('sends the ready frame first, then what was delivered before the transport came, in order', () => {
    const { stream } = aStream();
    const [a, b] = [anEvent(), anEvent()];
    expect(stream.deliver(a)).toBe(true);
    expect(stream.deliver(b)).toBe(true);
    const channel = new RecordingChannel();
    stream.attach(channel);
    const c = anEvent();
    stream.deliver(c);
    expect(channel.sent).toEqual(['ready 9 from 9', `event ${a.id}`, `event ${b.id}`, `event ${c.id}`]);
  });

  it('a transport that cannot take what waited for it closes the stream as overflowing', () => {
    const { stream, handle } = aStream();
    stream.deliver(anEvent());
    stream.deliver(anEvent());
    const channel = new RecordingChannel(1);
    stream.attach(channel);
    expect(channel.ended).toBe('overflow');
    expect(handle.close).toHaveBeenCalled();
  });

  it('holds no more than the buffer limit before the transport comes', () => {
    const { stream } = aStream('9', { heartbeatSeconds: 30, maxBufferBytes: 2_000 });
    const results = Array.from({ length: 10 }, () => stream.deliver(anEvent()));
    expect(results).toContain(false);
  });

  it('skips events it cannot show, as delivered', () => {
    const { stream } = aStream();
    const channel = new RecordingChannel();
    stream.attach(channel);
    expect(stream.deliver(anEvent({ type: 'something.new' }))).toBe(true);
    expect(channel.sent).toEqual(['ready 9 from 9']);
  });

  it('ended by the server before the transport came, it says ready and ends at once', () => {
    const { stream } = aStream(null);
    stream.close('revoked');
    const channel = new RecordingChannel();
    stream.attach(channel);
    expect(channel.sent).toEqual(['ready null from null']);
    expect(channel.ended).toBe('revoked');
  });

  it('sends nothing once the client is gone, and leaves the hub', () => {
    const { stream, handle } = aStream();
    stream.gone();
    expect(handle.close).toHaveBeenCalled();
    const channel = new RecordingChannel();
    stream.attach(channel);
    expect(channel.sent).toEqual([]);
  });

  it('sends heartbeats, and a client too far behind for one is closed as overflowing', () => {
    vi.useFakeTimers();
    const { stream, handle } = aStream();
    const channel = new RecordingChannel(2);
    stream.attach(channel);
    vi.advanceTimersByTime(60_000);
    expect(channel.sent).toEqual(['ready 9 from 9', 'heartbeat', 'heartbeat']);
    expect(channel.ended).toBeNull();
    vi.advanceTimersByTime(30_000);
    expect(channel.ended).toBe('overflow');
    expect(handle.close).toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    expect(channel.sent).toHaveLength(3);
  });
});
