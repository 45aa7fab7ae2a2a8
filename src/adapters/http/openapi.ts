import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

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
          'Use "Authorize" with your username and password to try authenticated routes.',
      },
      tags: [
        { name: 'auth', description: 'Sign-up, login and tokens' },
        { name: 'users', description: 'Accounts' },
        { name: 'tasks', description: 'Your tasks' },
        { name: 'operations', description: 'Health and monitoring' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, displayRequestDuration: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
