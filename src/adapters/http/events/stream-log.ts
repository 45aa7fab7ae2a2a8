import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

/**
 * The access log's line for event streams that Fastify's onResponse hook never sees, with the
 * same fields: an upgraded request (plus the close code), and an SSE response the client went
 * away from (onResponse follows only responses the server finished).
 */
function logStreamEnd(request: FastifyRequest, statusCode: number, opened: number, extra: Record<string, unknown> = {}): void {
  const durationMs = Date.now() - opened;
  request.log.info({ method: request.method, route: '/events', statusCode, userId: request.principal?.userId, durationMs, ...extra }, 'request completed');
}

export function logWhenWebSocketCloses(socket: WebSocket, request: FastifyRequest): void {
  const opened = Date.now();
  socket.once('close', (closeCode: number) => logStreamEnd(request, 101, opened, { closeCode }));
}

export function logWhenSseAbandoned(reply: FastifyReply, request: FastifyRequest): void {
  const opened = Date.now();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) logStreamEnd(request, reply.raw.statusCode, opened, { clientClosed: true });
  });
}
