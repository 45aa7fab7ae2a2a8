import type { EventSink, LoggedEvent, OpenStream, StreamEnd, StreamStart } from '../../../application/index.js';
import { eventJson, readyMessage } from './event-json.js';
import type { ReadyMessage } from '../schemas/event-schemas.js';
import { fitsInBuffer, type EventStreamSettings } from './stream-settings.js';

/** What a transport (WebSocket, SSE) does with a stream's frames. Each send is false when the client's buffer is full. */
export interface EventChannel {
  /** The first frame; `resumeId` is where this stream starts in the log, when it has an id. */
  sendReady(message: ReadyMessage, resumeId: string | null): void;
  sendEvent(event: LoggedEvent, json: string): boolean;
  sendHeartbeat(): boolean;
  /** Ends the stream from the server's side, saying why in the transport's terms. */
  end(reason: StreamEnd): void;
}

/**
 * One client's stream, as LiveEvents sees it (its EventSink), in front of the transport that
 * carries it. It exists before the transport does: the stream is opened, and counted against
 * the user's limit, before the WebSocket upgrade or the first byte of the SSE response, so a
 * refusal is still an HTTP answer. Events delivered meanwhile wait here, within the same budget.
 */
export class ClientStream implements EventSink {
  private channel: EventChannel | null = null;
  private early: LoggedEvent[] = [];
  private earlyBytes = 0;
  /** Why the server ended the stream, or 'gone' once the client's connection closed. */
  private ended: StreamEnd | 'gone' | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private handle: OpenStream | null = null;

  constructor(
    private readonly start: StreamStart & { resumeId: string | null },
    private readonly settings: EventStreamSettings,
  ) {}

  /** The hub's handle on this stream, to leave it when the client goes or falls behind. */
  bind(handle: OpenStream): void {
    this.handle = handle;
  }

  deliver(event: LoggedEvent): boolean {
    const json = eventJson(event);
    if (json === null) return true; // a kind of event this version does not show
    if (this.channel) return this.channel.sendEvent(event, json);
    const bytes = Buffer.byteLength(json);
    if (!fitsInBuffer(this.earlyBytes, bytes, this.settings.maxBufferBytes)) return false;
    this.early.push(event);
    this.earlyBytes += bytes;
    return true;
  }

  close(reason: StreamEnd): void {
    if (this.ended) return;
    this.ended = reason;
    this.stopHeartbeat();
    this.channel?.end(reason);
  }

  /** The transport is there: the ready frame, what arrived meanwhile, then heartbeats until the end. */
  attach(channel: EventChannel): void {
    if (this.ended === 'gone') return;
    this.channel = channel;
    channel.sendReady(readyMessage(this.start.lastId), this.start.resumeId);
    for (const event of this.early.splice(0)) {
      if (!channel.sendEvent(event, eventJson(event)!)) return this.fellBehind();
    }
    this.earlyBytes = 0;
    if (this.ended) return channel.end(this.ended);
    this.heartbeat = setInterval(() => {
      if (!channel.sendHeartbeat()) this.fellBehind();
    }, this.settings.heartbeatSeconds * 1000);
    this.heartbeat.unref();
  }

  /** The client's connection is gone, whoever closed it. */
  gone(): void {
    this.ended = 'gone';
    this.stopHeartbeat();
    this.handle?.close();
  }

  private fellBehind(): void {
    this.handle?.close();
    this.close('overflow');
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
