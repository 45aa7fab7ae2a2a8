import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Authenticate, RedeemEventTicket } from '../../application/index.js';
import { routeAuthentication } from './authentication.js';
import { clientErrorHandler } from './client-errors.js';
import { frameworkErrors, registerErrorHandling } from './error-handler.js';
import type { EventStreamSettings } from './events/stream-settings.js';
import { registerWebSockets } from './events/websocket-plugin.js';
import { guardRequestText } from './input-guard.js';
import { registerJsonParsers } from './json-parsers.js';
import { registerOpenApi } from './openapi.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerRateLimits, type RateLimitSettings } from './plugins/rate-limit.js';
import type { SharedWindowCounter } from '../redis/fallback-window-counter.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerShutdownGuard } from './plugins/shutdown-guard.js';
import { requestIdFor } from './request-id.js';
import { lazyChildLogger } from './request-logger.js';
import { registerRouteAccess } from './route-access.js';
import { routeLabel } from './route-label.js';
import { attachmentRoutes, type AttachmentRoutesOptions, type AttachmentUploadSettings } from './routes/attachment-routes.js';
import { authRoutes, type AuthRoutesOptions } from './routes/auth-routes.js';
import { eventRoutes, type EventRoutesOptions } from './routes/event-routes.js';
import { exportRoutes, type ExportRoutesOptions } from './routes/export-routes.js';
import { generationRoutes, type GenerationRoutesOptions } from './routes/generation-routes.js';
import { healthRoutes, type ReadinessChecks } from './routes/health-routes.js';
import type { RouteGuards } from './routes/route-guards.js';
import { personalTokenRoutes, type PersonalTokenRoutesOptions } from './routes/personal-token-routes.js';
import { syncRoutes, type SyncRoutesOptions } from './routes/sync-routes.js';
import { taskRoutes, type TaskRoutesOptions } from './routes/task-routes.js';
import { userRoutes, type UserRoutesOptions } from './routes/user-routes.js';
import { Problem } from './schemas/common.js';
import { rejectNonDecimalIds, schemaCompiler } from './validation.js';
import { bundledWebClientDir, registerWebClient } from './web-client.js';

/** Every use case the HTTP transport calls: what its route plugins need, plus the credential checks. */
export type HttpUseCases = Omit<
  AuthRoutesOptions &
    UserRoutesOptions &
    TaskRoutesOptions &
    PersonalTokenRoutesOptions &
    SyncRoutesOptions &
    EventRoutesOptions &
    ExportRoutesOptions &
    AttachmentRoutesOptions &
    GenerationRoutesOptions,
  'guards' | 'streams' | 'uploads'
> & {
  authenticate: Authenticate;
  redeemEventTicket: RedeemEventTicket;
};

/** Fastify's trustProxy: false, true, a hop count, or the proxies' addresses and ranges. */
export type TrustProxy = boolean | number | string[];

export interface HttpAppOptions {
  logger: FastifyBaseLogger;
  bodyLimit: number;
  trustProxy: TrustProxy;
  version: string;
  rateLimit: RateLimitSettings;
  corsOrigins: readonly string[];
  metricsToken: string | null;
  /** Exposed on /metrics next to the request metrics (the job queue's). */
  metricsRegistries?: readonly Registry[];
  /** GET /events: heartbeats and the most a client may have queued. */
  eventStreams: EventStreamSettings;
  /** POST /tasks/{id}/attachments: the file's limit and the upload's deadline. */
  attachmentUploads: AttachmentUploadSettings;
  /** The built web client served at /app/; null or absent: the one `npm run build` makes. */
  webClientDir?: string | null;
}

export interface HttpAppDependencies {
  useCases: HttpUseCases;
  readiness: ReadinessChecks;
  /** Reported by /ready, never failing it (see HealthRoutesOptions). */
  readinessAdvisories?: ReadinessChecks;
  /** Settled states /ready reports as they are (see HealthRoutesOptions). */
  readinessNotes?: Record<string, string>;
  /** Tells an unreachable or overloaded dependency (answered 503) from a bug (answered 500). */
  isUnavailable?: (error: unknown) => boolean;
  /** Counters shared by every instance (Redis); without it, limits are counted per instance. */
  sharedRateLimitCounter: SharedWindowCounter | null;
}

/**
 * One line per request. Its fields are fixed (the route template, never the raw URL; no headers,
 * no body), so no secret can reach it and it skips the logger's redaction, the costliest part of
 * writing the line.
 */
function registerAccessLog(app: FastifyInstance, logger: FastifyBaseLogger): void {
  const accessLog = logger.child({}, { redact: [] });
  app.addHook('onResponse', (request, reply, done) => {
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        route: routeLabel(request),
        statusCode: reply.statusCode,
        userId: request.principal?.userId,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
    done();
  });
}

const trustHops =
  (hops: number) =>
  (_address: string, hop: number): boolean =>
    hop < hops;

export async function buildHttpApp(deps: HttpAppDependencies, options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: options.bodyLimit,
    // A hop count as proxy-addr's trust function: the first `hops` addresses, nearest first.
    trustProxy: typeof options.trustProxy === 'number' ? trustHops(options.trustProxy) : options.trustProxy,
    // Late requests on open connections are served (see shutdown-guard), never a non-problem 503.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: false,
    genReqId: requestIdFor,
    // Errors raised before a route is found are problem+json too.
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(schemaCompiler);
  app.removeContentTypeParser('text/plain');
  registerJsonParsers(app);
  app.decorateRequest('principal', null);
  app.addSchema(Problem);
  registerErrorHandling(app, { isUnavailable: deps.isUnavailable });

  // Hooks on every request take a callback rather than return a promise: one microtask less each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  registerShutdownGuard(app);
  app.addHook('preValidation', (request, _reply, done) => {
    guardRequestText(request);
    rejectNonDecimalIds(request.params);
    done();
  });
  registerAccessLog(app, options.logger);

  const { useCases } = deps;
  const { failedAuthentication, ...rateLimits } = await registerRateLimits(app, options.rateLimit, deps.sharedRateLimitCounter);
  // Before any route is added, so every route passes through it (and before the OpenAPI generator).
  registerRouteAccess(app, routeAuthentication({ bearer: useCases.authenticate, ticket: useCases.redeemEventTicket }, failedAuthentication));
  // Before any route, the documentation's and the metrics' included: see registerWebSockets.
  await registerWebSockets(app);
  await registerSecurityHeaders(app, options.corsOrigins);
  registerMetrics(app, { token: options.metricsToken, registries: options.metricsRegistries });
  await registerOpenApi(app, options.version);
  const guards: RouteGuards = rateLimits;

  await app.register(healthRoutes, { readiness: deps.readiness, advisories: deps.readinessAdvisories, notes: deps.readinessNotes });
  await app.register(authRoutes, { ...useCases, guards });
  await app.register(userRoutes, { ...useCases, guards });
  await app.register(taskRoutes, { ...useCases, guards });
  await app.register(generationRoutes, { ...useCases, guards });
  await app.register(personalTokenRoutes, { ...useCases, guards });
  await app.register(syncRoutes, { ...useCases, guards });
  await app.register(eventRoutes, { ...useCases, guards, streams: options.eventStreams });
  await app.register(exportRoutes, { ...useCases, guards });
  await app.register(attachmentRoutes, { ...useCases, guards, uploads: options.attachmentUploads });
  await registerWebClient(app, options.webClientDir ?? bundledWebClientDir());
  return app;
}
