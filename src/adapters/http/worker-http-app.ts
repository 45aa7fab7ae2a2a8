import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { clientErrorHandler } from './client-errors.js';
import { frameworkErrors, registerErrorHandling } from './error-handler.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerShutdownGuard } from './plugins/shutdown-guard.js';
import { requestIdFor } from './request-id.js';
import { healthRoutes, type ReadinessChecks } from './routes/health-routes.js';
import { Problem } from './schemas/common.js';

export interface WorkerHttpAppOptions {
  logger: FastifyBaseLogger;
  readiness: ReadinessChecks;
  /** Reported by /ready, never failing it (see HealthRoutesOptions). */
  readinessAdvisories?: ReadinessChecks;
  metricsToken: string | null;
  /** The job metrics of the worker's process. */
  metricsRegistries: readonly Registry[];
}

/**
 * What a worker process serves: its probes and its metrics, nothing else. Anything else is a
 * problem+json 404, as on the API; `/ready` answers 503 once the worker is shutting down.
 */
export async function buildWorkerHttpApp(options: WorkerHttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: false,
    genReqId: requestIdFor,
    clientErrorHandler,
    frameworkErrors,
  });
  app.addSchema(Problem);
  registerErrorHandling(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  registerShutdownGuard(app);
  registerMetrics(app, { token: options.metricsToken, registries: options.metricsRegistries });
  await app.register(healthRoutes, { readiness: options.readiness, advisories: options.readinessAdvisories });
  return app;
}
