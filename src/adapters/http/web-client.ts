import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { httpProblem, sendProblem } from './problem.js';
import { PUBLIC, declarePublic } from './route-access.js';

export const WEB_CLIENT_PREFIX = '/app/';

/** Vite names every asset after its content: a changed file is a new URL, so caches may keep them for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current assets: a browser must ask again each time (a 304 when unchanged). */
const REVALIDATE = 'no-cache';

/**
 * Where `npm run build` puts the client: `dist/web`, found from this module whether it runs
 * compiled (dist/src/adapters/http) or from source (src/adapters/http), whatever the working directory.
 */
export function bundledWebClientDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const compiled = path.basename(path.resolve(here, '../../..')) === 'dist';
  return path.resolve(here, compiled ? '../../../web' : '../../../dist/web');
}

const isAsset = (file: string): boolean => file.split(path.sep).includes('assets');

/**
 * The single-page client at /app/: files of the built client, index.html for every other path
 * under /app/ (the client's own routes), and `GET /` sends people there. Hashed assets are cached
 * for a year, index.html revalidated on every load. An asset that does not exist is a 404, never
 * index.html: a stale page asking for an old chunk must fail visibly, not parse HTML as script.
 */
export async function registerWebClient(app: FastifyInstance, root: string): Promise<void> {
  declarePublic(app, (route) => route.url === '/' || route.url.startsWith(WEB_CLIENT_PREFIX) || route.url === '/app');
  app.get('/', { config: { access: PUBLIC }, schema: { hide: true } }, (_request, reply) => reply.redirect(WEB_CLIENT_PREFIX, 302));

  const built = existsSync(path.join(root, 'index.html'));
  // With ignoreTrailingSlash, the wildcard does not match the bare prefix: both are routes.
  const clientRoutes = ['/app/', '/app/*'];
  if (!built) {
    for (const url of clientRoutes) {
      app.get(url, { config: { access: PUBLIC }, schema: { hide: true } }, (_request, reply) =>
        sendProblem(reply, httpProblem(404, 'The web client is not built here: `npm run build` builds it with the service.')),
      );
    }
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: WEB_CLIENT_PREFIX,
    // Files are served as they are found at start-up: no path from a request reaches the file system.
    wildcard: false,
    index: false,
    cacheControl: false,
    etag: true,
    lastModified: true,
    // Compressed twins written by the build are served to clients that accept them.
    preCompressed: true,
    setHeaders: (res, file) => res.setHeader('cache-control', isAsset(path.relative(root, file)) ? IMMUTABLE : REVALIDATE),
  });

  for (const url of clientRoutes) {
    app.get(url, { config: { access: PUBLIC }, schema: { hide: true } }, (request, reply) => {
      const rest = (request.params as { '*'?: string })['*'] ?? '';
      if (rest.startsWith('assets/')) return sendProblem(reply, httpProblem(404, 'No such file of the web client.'));
      return reply.sendFile('index.html');
    });
  }
}
