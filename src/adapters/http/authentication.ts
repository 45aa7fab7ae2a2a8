import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Authenticate, Principal, RedeemEventTicket } from '../../application/index.js';
import { PERSONAL_TOKEN_PREFIX } from '../../domain/index.js';
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

/** How a caller proves who they are. */
export interface Authenticators {
  /** A bearer token from the Authorization header: an access token or a personal access token. */
  bearer: Authenticate;
  /** A ticket from POST /events/tickets, on the routes that accept one (`access.ticket`). */
  ticket: RedeemEventTicket;
}

type Challenge = 'invalid_token' | 'invalid_request';

/** Why a request is refused with a 401: what the client is told, and the RFC 6750 error code, if any. */
interface Refusal {
  detail: string;
  error?: Challenge;
}

type Identification = { principal: Principal } | { refusal: Refusal };

/**
 * Query parameters clients put access tokens under. A URL ends up in logs, browser history and
 * Referer headers, so a token found in one is refused outright, so that the leak gets noticed.
 */
const TOKEN_PARAMETERS = new Set(['access_token', 'token', 'bearer', 'jwt', 'auth', 'authorization', 'api_key', 'apikey']);
const JWT_FORM = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

function accessTokenInQuery(query: unknown): boolean {
  for (const [name, value] of Object.entries(query ?? {})) {
    if (TOKEN_PARAMETERS.has(name.toLowerCase())) return true;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && (v.startsWith(PERSONAL_TOKEN_PREFIX) || JWT_FORM.test(v)))) return true;
  }
  return false;
}

const isInvalidToken = (error: unknown) => (error as { code?: string }).code === 'INVALID_TOKEN';

/**
 * onRequest hooks, one per route access (see route-access.ts): the caller and what their token
 * may do are known before a body is even read (and, on GET /events, before any upgrade). A
 * request that fails authentication counts against its address (`failedAuthentication`); over
 * that limit it is answered 429 instead of 401, so bad tokens cannot be sent without bound. A
 * valid token lacking the route's scope is a 403.
 */
export function routeAuthentication(
  authenticators: Authenticators,
  failedAuthentication: FailedAuthenticationLimit,
): (access: ProtectedAccess) => onRequestAsyncHookHandler {
  async function reject(request: FastifyRequest, reply: FastifyReply, { detail, error }: Refusal) {
    const { exceeded, limit, resetSeconds } = await failedAuthentication(request);
    if (exceeded) {
      reply.headers({ 'retry-after': resetSeconds, 'ratelimit-limit': limit, 'ratelimit-remaining': 0, 'ratelimit-reset': resetSeconds });
      return sendProblem(reply, httpProblem(429, `Too many requests without a valid token; retry in ${resetSeconds} seconds.`));
    }
    reply.header('www-authenticate', error ? `Bearer error="${error}"` : 'Bearer');
    return sendProblem(reply, { ...httpProblem(401, detail), type: problemType('invalid-token'), title: 'Invalid token' });
  }

  async function fromHeader(header: string | undefined): Promise<Identification> {
    if (!header) return { refusal: { detail: 'This resource needs a bearer access token.' } };
    const token = BEARER.exec(header)?.[1];
    if (!token) return { refusal: { detail: 'The Authorization header must be "Bearer <access token>".', error: 'invalid_token' } };
    try {
      return { principal: await authenticators.bearer.execute(token) };
    } catch (error) {
      if (isInvalidToken(error)) return { refusal: { detail: 'The access token is invalid, expired or revoked.', error: 'invalid_token' } };
      throw error;
    }
  }

  async function fromTicket(ticket: unknown): Promise<Identification> {
    if (typeof ticket !== 'string') return { refusal: { detail: 'Give one ticket.', error: 'invalid_request' } };
    try {
      return { principal: await authenticators.ticket.execute(ticket) };
    } catch (error) {
      if (isInvalidToken(error)) return { refusal: { detail: 'The ticket is invalid, expired or already used; ask POST /events/tickets for another.', error: 'invalid_token' } };
      throw error;
    }
  }

  /** The header, or on routes that take one, a ticket: never both, and never an access token in the URL. */
  function identify(request: FastifyRequest, acceptsTicket: boolean): Promise<Identification> {
    if (!acceptsTicket) return fromHeader(request.headers.authorization);
    const query = request.query as Record<string, unknown>;
    if (accessTokenInQuery(query)) {
      const detail = 'Access tokens are refused in URLs: send the Authorization header, or a ticket from POST /events/tickets.';
      return Promise.resolve({ refusal: { detail, error: 'invalid_request' } });
    }
    if (query.ticket === undefined) return fromHeader(request.headers.authorization);
    if (request.headers.authorization !== undefined) {
      return Promise.resolve({ refusal: { detail: 'Authenticate with the Authorization header or a ticket, not both.', error: 'invalid_request' } });
    }
    return fromTicket(query.ticket);
  }

  return ({ scope, loginSession, ticket }) => async (request: FastifyRequest, reply: FastifyReply) => {
    const identified = await identify(request, ticket);
    if ('refusal' in identified) return reject(request, reply, identified.refusal);
    request.principal = identified.principal;
    if (loginSession && request.principal.sessionId === null) return loginSessionRequired(reply);
    if (scope && !request.principal.scopes.includes(scope)) return insufficientScope(reply, scope);
  };
}

/** The authenticated caller; only valid behind routeAuthentication. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf() used on a route without authentication');
  return request.principal;
}
