import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Authenticate, Principal } from '../../application/index.js';
import { httpProblem, problemType, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function rejectToken(reply: FastifyReply, detail: string, error?: 'invalid_token') {
  reply.header('www-authenticate', error ? `Bearer error="${error}"` : 'Bearer');
  return sendProblem(reply, { ...httpProblem(401, detail), type: problemType('invalid-token'), title: 'Invalid token' });
}

/** An onRequest hook: the caller is known before a body is even read. */
export function bearerAuthentication(authenticate: Authenticate): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header) return rejectToken(reply, 'This resource needs a bearer access token.');
    const token = BEARER.exec(header)?.[1];
    if (!token) return rejectToken(reply, 'The Authorization header must be "Bearer <access token>".', 'invalid_token');
    try {
      request.principal = await authenticate.execute(token);
    } catch (error) {
      if ((error as { code?: string }).code === 'INVALID_TOKEN') {
        return rejectToken(reply, 'The access token is invalid, expired or revoked.', 'invalid_token');
      }
      throw error;
    }
  };
}

/** The authenticated caller; only valid behind bearerAuthentication. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf() used on a route without authentication');
  return request.principal;
}
