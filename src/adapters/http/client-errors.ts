import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance } from 'fastify';
import { httpProblem, validationProblem, type ProblemDetails } from './problem.js';

/**
 * A header whose value holds a NUL: Node refuses it as an invalid character, yet for the client
 * it is text the service cannot store, answered like such text anywhere else (422 naming it).
 */
function headerWithNul(rawPacket: unknown): string | null {
  // The bytes Node's parser had read when it gave up (documented with the server's 'clientError').
  if (!Buffer.isBuffer(rawPacket)) return null;
  const lines = rawPacket.toString('latin1').split('\r\n').slice(1);
  for (const line of lines) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0 && line.includes('\u0000', colon)) return line.slice(0, colon).trim().toLowerCase();
  }
  return null;
}

function problemFor(error: ConnectionError): ProblemDetails {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return httpProblem(431, 'The request headers are larger than the server accepts.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return httpProblem(408, 'The request did not arrive in time.');
    case 'HPE_INVALID_HEADER_TOKEN': {
      const header = headerWithNul(error.rawPacket);
      if (header) return validationProblem([{ field: header, message: 'must not contain the NUL character (U+0000)' }]);
      return httpProblem(400, 'A request header is malformed.');
    }
    default:
      return httpProblem(400, 'The request is not well-formed HTTP.');
  }
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refused never reach a route or the
 * error handler, so their problem is written to the socket here, which is then closed as Node does.
 */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Only the code and message: the error's rawPacket holds the request's bytes, credentials and body included.
  this.log.debug({ err: { code: error.code, message: error.message } }, 'refused a malformed request');
  if (socket.writable) {
    const problem = problemFor(error);
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${randomUUID()}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
