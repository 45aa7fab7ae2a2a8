import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { LoggedEvent, StreamEnd } from '../../../application/index.js';
import type { ReadyMessage } from '../schemas/event-schemas.js';
import type { EventChannel } from './client-stream.js';
import { CLOSE_GRACE_MS, fitsInBuffer } from './stream-settings.js';

/**
 * The response headers of an SSE stream. `no-store` and `x-accel-buffering: no` keep caches and
 * proxies (nginx) from holding frames back; `connection: close` because a stream the server ends
 * (revocation, shutdown) should take its connection with it rather than leave it idle.
 */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
  connection: 'close',
} as const;

/**
 * A stream as Server-Sent Events: `id` / `event` / `data` frames, a comment line as heartbeat.
 * Frames go into `body`, which Fastify pipes into the response (so the response keeps every
 * header the app's hooks set: security headers, CORS, the request id). What is queued for the
 * client is what waits in `body` plus what the response has not handed to the network yet.
 * Event JSON has no line breaks (JSON.stringify escapes them), so one `data` line carries it.
 */
export class SseChannel implements EventChannel {
  readonly body = new Readable({ read() {} });
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly maxBufferBytes: number,
  ) {}

  sendReady(message: ReadyMessage, resumeId: string | null): void {
    // The id names where this stream starts, so an EventSource dropped before any event resumes there.
    this.write(`${resumeId === null ? '' : `id: ${resumeId}\n`}event: ready\ndata: ${JSON.stringify(message)}\n\n`);
  }

  sendEvent(event: LoggedEvent, json: string): boolean {
    return this.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
  }

  sendHeartbeat(): boolean {
    return this.write(': heartbeat\n\n');
  }

  end(_reason: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.body.push(null);
    const cut = setTimeout(() => this.response.destroy(), CLOSE_GRACE_MS).unref();
    this.response.once('close', () => clearTimeout(cut));
  }

  private write(frame: string): boolean {
    if (this.ended) return true;
    const queued = this.body.readableLength + this.response.writableLength;
    if (!fitsInBuffer(queued, Buffer.byteLength(frame), this.maxBufferBytes)) return false;
    this.body.push(frame);
    return true;
  }
}
