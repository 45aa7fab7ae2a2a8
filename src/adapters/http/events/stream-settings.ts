/** How the transports treat an open stream (EVENTS_HEARTBEAT_SECONDS, EVENTS_MAX_BUFFER). */
export interface EventStreamSettings {
  /** Between two heartbeats: a WebSocket ping, an SSE comment line. */
  heartbeatSeconds: number;
  /** The most bytes queued for one client; past it, its stream is closed and it resumes with `since`. */
  maxBufferBytes: number;
}

/**
 * Once the server has closed a stream, how long the client has to read what is still queued
 * (the close frame, the end of the response) before its connection is cut. A client that has
 * stopped reading would otherwise hold its buffer, and a draining server, for ever.
 */
export const CLOSE_GRACE_MS = 5_000;

/**
 * Whether `bytes` more may be queued behind `queued` bytes not yet sent. A frame always goes into
 * an empty queue, so that no stream can be stuck on one event larger than the limit.
 */
export const fitsInBuffer = (queued: number, bytes: number, limit: number): boolean => queued === 0 || queued + bytes <= limit;
