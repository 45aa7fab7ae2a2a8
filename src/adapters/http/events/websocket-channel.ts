import type { WebSocket } from 'ws';
import type { LoggedEvent, StreamEnd } from '../../../application/index.js';
import type { ReadyMessage } from '../schemas/event-schemas.js';
import type { EventChannel } from './client-stream.js';
import { fitsInBuffer } from './stream-settings.js';

/** Close codes of the contract: 4401 credential revoked, 4408 client too slow, 1001 going away. */
export const CLOSE_CODES: Record<StreamEnd, { code: number; reason: string }> = {
  revoked: { code: 4401, reason: 'credential revoked' },
  overflow: { code: 4408, reason: 'too far behind; reconnect with since' },
  shutdown: { code: 1001, reason: 'server shutting down' },
};

/** A frame's header is at most 10 bytes (server frames are not masked). */
const FRAME_HEADER_BYTES = 10;
/** The largest close frame, kept free in the buffer so that closing never takes it past the limit. */
const CLOSE_FRAME_BYTES = 2 + 125;

/**
 * A stream over a WebSocket: JSON text frames, a ping every heartbeat. A client that has not
 * answered the previous ping by the next one is gone (a half-open connection) and is cut. What
 * the client sends is ignored (ws answers its pings itself); frames over the size limit are
 * refused by ws with 1009.
 */
export class WebSocketChannel implements EventChannel {
  private answeredPing = true;

  constructor(
    private readonly socket: WebSocket,
    private readonly maxBufferBytes: number,
  ) {
    socket.on('pong', () => {
      this.answeredPing = true;
    });
  }

  sendReady(message: ReadyMessage): void {
    this.send(JSON.stringify(message));
  }

  sendEvent(_event: LoggedEvent, json: string): boolean {
    return this.send(json);
  }

  sendHeartbeat(): boolean {
    if (!this.answeredPing) {
      this.socket.terminate();
      return true;
    }
    if (!this.fits(0)) return false;
    this.answeredPing = false;
    this.socket.ping();
    return true;
  }

  end(reason: StreamEnd): void {
    const { code, reason: text } = CLOSE_CODES[reason];
    // ws cuts the connection if the client does not complete the closing handshake in time (closeTimeout).
    this.socket.close(code, text);
  }

  private send(text: string): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return true; // closing: the hub hears of it from the close
    if (!this.fits(Buffer.byteLength(text))) return false;
    this.socket.send(text);
    return true;
  }

  private fits(payloadBytes: number): boolean {
    return fitsInBuffer(this.socket.bufferedAmount, payloadBytes + FRAME_HEADER_BYTES + CLOSE_FRAME_BYTES, this.maxBufferBytes);
  }
}
