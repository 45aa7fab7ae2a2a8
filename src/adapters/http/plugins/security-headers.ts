import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/** Headers a browser client may read from our responses. */
const EXPOSED_HEADERS = ['location', 'etag', 'x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];

/**
 * One policy for the API and the Swagger UI at /docs: the UI loads only same-origin scripts and
 * styles (no inline script), but sets inline style attributes, hence 'unsafe-inline' for styles.
 * No upgrade-insecure-requests: it would break /docs served over plain HTTP on a private network.
 */
const CONTENT_SECURITY_POLICY: HelmetOptions['contentSecurityPolicy'] = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  },
};

const HELMET_OPTIONS: HelmetOptions = { contentSecurityPolicy: CONTENT_SECURITY_POLICY, frameguard: { action: 'deny' } };

/**
 * The headers helmet sets for a configuration whose values never depend on the request (no CSP
 * nonces, no functions), recorded once from helmet's own middleware. @fastify/helmet builds that
 * middleware again on every request, re-parsing the policy: about 40 µs, a fifth of a GET's cost.
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

export async function registerSecurityHeaders(app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  const headers = helmetHeaders(HELMET_OPTIONS);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  if (corsOrigins.length === 0) return; // same-origin only: no CORS headers at all
  const anyOrigin = corsOrigins.includes('*');
  await app.register(cors, {
    origin: anyOrigin ? '*' : [...corsOrigins],
    // Browsers refuse credentials with a wildcard origin; we never offer that combination.
    credentials: !anyOrigin,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'x-request-id'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
