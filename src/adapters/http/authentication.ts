import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Authenticate, Principal } from '../../application/index.js';
import type { FailedAuthenticationLimit } from './plugins/rate-limit.js';
import { httpProblem, problemType, sendProblem } from './problem.js';
import type { ProtectedAccess } from './route-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** RFC 6750 §3.1: the token is valid but was not granted what the route needs. */
function insufficientScope(reply: FastifyReply, scope: string) {
  reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
  return sendProblem(reply, {
    type: problemType('insufficient-scope'),
    title: 'Insufficient scope',
    status: 403,
    detail: `This request needs a token granted the "${scope}" scope.`,
  });
}

function loginSessionRequired(reply: FastifyReply) {
  return sendProblem(reply, {
    type: problemType('login-session-required'),
    title: 'Login session required',
    status: 403,
    detail: 'This request needs the access token of a login session; personal access tokens cannot make it.',
  });
}

/**
 * onRequest hooks, one per route access (see route-access.ts): the caller and what their token
 * may do are known before a body is even read. A request that fails authentication counts against
 * its address (`failedAuthentication`); over that limit it is answered 429 instead of 401, so bad
 * tokens cannot be sent without bound. A valid token lacking the route's scope is a 403.
 */
export function bearerAuthentication(
  authenticate: Authenticate,
  failedAuthentication: FailedAuthenticationLimit,
): (access: ProtectedAccess) => onRequestAsyncHookHandler {
  async function reject(request: FastifyRequest, reply: FastifyReply, detail: string, error?: 'invalid_token') {
    const { exceeded, limit, resetSeconds } = await failedAuthentication(request);
    if (exceeded) {
      reply.headers({ 'retry-after': resetSeconds, 'ratelimit-limit': limit, 'ratelimit-remaining': 0, 'ratelimit-reset': resetSeconds });
      return sendProblem(reply, httpProblem(429, `Too many requests without a valid token; retry in ${resetSeconds} seconds.`));
    }
    reply.header('www-authenticate', error ? `Bearer error="${error}"` : 'Bearer');
    return sendProblem(reply, { ...httpProblem(401, detail), type: problemType('invalid-token'), title: 'Invalid token' });
  }

  return ({ scope, loginSession }) => async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header) return reject(request, reply, 'This resource needs a bearer access token.');
    const token = BEARER.exec(header)?.[1];
    if (!token) return reject(request, reply, 'The Authorization header must be "Bearer <access token>".', 'invalid_token');
    try {
      request.principal = await authenticate.execute(token);
    } catch (error) {
      if ((error as { code?: string }).code === 'INVALID_TOKEN') {
        return reject(request, reply, 'The access token is invalid, expired or revoked.', 'invalid_token');
      }
      throw error;
    }
    if (loginSession && request.principal.sessionId === null) return loginSessionRequired(reply);
    if (scope && !request.principal.scopes.includes(scope)) return insufficientScope(reply, scope);
  };
}

/** The authenticated caller; only valid behind bearerAuthentication. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf() used on a route without authentication');
  return request.principal;
}
