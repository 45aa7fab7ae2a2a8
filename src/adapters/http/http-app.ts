import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type {
  Authenticate,
  DeleteUser,
  GetCurrentUser,
  GetUser,
  ListUsers,
  Login,
  Logout,
  PatchUser,
  RefreshSession,
  RegisterUser,
  ReplaceUser,
} from '../../application/index.js';
import { bearerAuthentication } from './authentication.js';
import { registerErrorHandling } from './error-handler.js';
import { registerOpenApi } from './openapi.js';
import { requestIdFor } from './request-id.js';
import { authRoutes } from './routes/auth-routes.js';
import { healthRoutes, type ReadinessChecks } from './routes/health-routes.js';
import type { RouteGuards } from './routes/route-guards.js';
import { userRoutes } from './routes/user-routes.js';
import { Problem } from './schemas/common.js';
import { schemaCompiler, trimStrings } from './validation.js';

export interface HttpUseCases {
  registerUser: RegisterUser;
  login: Login;
  refreshSession: RefreshSession;
  logout: Logout;
  authenticate: Authenticate;
  getCurrentUser: GetCurrentUser;
  getUser: GetUser;
  listUsers: ListUsers;
  replaceUser: ReplaceUser;
  patchUser: PatchUser;
  deleteUser: DeleteUser;
}

export interface HttpAppOptions {
  logger: FastifyBaseLogger;
  bodyLimit: number;
  trustProxy: boolean;
  version: string;
}

export interface HttpAppDependencies {
  useCases: HttpUseCases;
  readiness: ReadinessChecks;
}

export async function buildHttpApp(deps: HttpAppDependencies, options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: false,
    genReqId: requestIdFor,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(schemaCompiler);
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.decorateRequest('principal', null);
  app.addSchema(Problem);
  registerErrorHandling(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preValidation', async (request) => {
    trimStrings(request.body);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        statusCode: reply.statusCode,
        userId: request.principal?.userId,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
  });

  await registerOpenApi(app, options.version);

  const { useCases } = deps;
  const guards: RouteGuards = {
    authenticated: bearerAuthentication(useCases.authenticate),
    authRateLimit: {},
    userRateLimit: {},
  };

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(authRoutes, { ...useCases, guards });
  await app.register(userRoutes, { ...useCases, guards });
  return app;
}
