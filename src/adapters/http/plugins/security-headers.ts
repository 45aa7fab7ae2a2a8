import cors from '@fastify/cors';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { declarePublic } from '../route-access.js';

/** Headers a browser client may read from our responses. */
const EXPOSED_HEADERS = ['location', 'etag', 'x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];

/**
 * One policy for the API and the Swagger UI at /docs: the UI loads only same-origin scripts and
 * styles (no inline script), but sets inline style attributes, hence 'unsafe-inline' for styles.
 * No upgrade-insecure-requests: it would break /docs served over plain HTTP on a private network.
 */
const CONTENT_SECURITY_POLICY: FastifyHelmetOptions['contentSecurityPolicy'] = {
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

/** On every response, errors and the 404 handler's included. */
const HELMET_OPTIONS: FastifyHelmetOptions = { global: true, contentSecurityPolicy: CONTENT_SECURITY_POLICY, frameguard: { action: 'deny' } };

export async function registerSecurityHeaders(app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  await app.register(helmet, HELMET_OPTIONS);
  if (corsOrigins.length === 0) return; // same-origin only: no CORS headers at all
  const anyOrigin = corsOrigins.includes('*');
  // The preflight carries no credentials by definition.
  declarePublic(app, (route) => route.method === 'OPTIONS' && route.url === '*');
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
