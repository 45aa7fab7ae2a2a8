import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { PUBLIC, declarePublic, oauth2Scopes } from './route-access.js';

/**
 * Stable camelCase operation ids (GET /tasks/:id → getTasksById). Without them Swagger UI invents
 * ids such as get_tasks, whose deep links it now flags as deprecated, and client generators guess.
 */
function operationIdOf(method: string | string[], url: string): string {
  const verb = String([method].flat()[0]).toLowerCase();
  const words = url
    .split('/')
    .filter(Boolean)
    .flatMap((part) => (part.startsWith(':') ? ['by', part.slice(1)] : part.split(/[-_.]/)))
    .filter(Boolean);
  return verb + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

/** The OpenAPI document is generated from the route schemas that also validate requests. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Taskforge API',
        version,
        description:
          'Personal task management: sign up, log in with JWTs, manage your own tasks. ' +
          'Errors are RFC 9457 problem details (application/problem+json). ' +
          'Use "Authorize" with your username and password to try authenticated routes. ' +
          'Each operation names the scope its token needs (tasks:read, tasks:write, profile, admin); without it the answer is 403 insufficient_scope.',
      },
      tags: [
        { name: 'auth', description: 'Sign-up, login and tokens' },
        { name: 'users', description: 'Accounts' },
        { name: 'tasks', description: 'Your tasks' },
        { name: 'tokens', description: 'Personal access tokens, for scripts and integrations' },
        { name: 'sync', description: 'Delta sync for offline-capable clients' },
        { name: 'events', description: 'Live events: your changes as they happen, over a WebSocket or Server-Sent Events' },
        { name: 'exports', description: 'All your tasks as a JSON or CSV file, made in the background' },
        { name: 'operations', description: 'Health and monitoring' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An access token from /login or /token (a JWT), or a personal access token (tfp_…) from POST /me/tokens.',
          },
          eventTicket: {
            type: 'apiKey',
            in: 'query',
            name: 'ticket',
            description: 'GET /events only: a single-use ticket from POST /events/tickets, for browsers, which cannot set headers on a WebSocket or an EventSource.',
          },
          oauth2: {
            type: 'oauth2',
            description: 'Log in with a username and password; tick the scopes the token should be granted (none ticked: every scope you may hold).',
            flows: { password: { tokenUrl: '/token', scopes: oauth2Scopes() } },
          },
        },
      },
    },
    transform: ({ schema, url, route }) => ({ schema: schema && { operationId: operationIdOf(route.method, url), ...schema }, url }),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  declarePublic(app, (route) => route.url === '/docs' || route.url.startsWith('/docs/'));
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, displayRequestDuration: true },
  });
  app.get('/openapi.json', { config: { access: PUBLIC }, schema: { hide: true } }, async () => app.swagger());
}
