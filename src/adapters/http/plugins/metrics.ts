import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { httpProblem, sendProblem } from '../problem.js';
import { routeLabel } from '../route-label.js';
import { PUBLIC } from '../route-access.js';
import { problems } from '../schemas/common.js';

export interface MetricsOptions {
  /** When set, scrapers must send `Authorization: Bearer <token>`. */
  token: string | null;
  /** Metrics kept elsewhere in the process (the job queue's), exposed alongside the request metrics. */
  registries?: readonly Registry[];
}


let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, GC, event-loop lag) describe the process, not an app instance, and
 * their collectors are not free: one set per process, shared by every app built in it.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 20 });
  }
  return processRegistry;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearerMatches(request: FastifyRequest, expected: Buffer): boolean {
  return timingSafeEqual(digest(request.headers.authorization ?? ''), expected);
}

/** Request metrics for this app (its own registry) and `GET /metrics` in Prometheus text format. */
export function registerMetrics(app: FastifyInstance, options: MetricsOptions): void {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Read off the histogram's counts when scraped, so each request updates one metric, not two.
  new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [registry],
    async collect() {
      const { values } = await duration.get();
      this.reset();
      for (const { metricName, labels, value } of values) {
        if (metricName === 'http_request_duration_seconds_count') this.inc(labels as Record<(typeof labelNames)[number], string>, value);
      }
    },
  });
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    duration.observe({ method: request.method, route: routeLabel(request), status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  const expected = options.token === null ? null : digest(`Bearer ${options.token}`);
  app.get(
    '/metrics',
    {
      // Its own bearer token (METRICS_TOKEN) when configured, never a user's.
      config: { access: PUBLIC },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'Text exposition format. Needs `Authorization: Bearer <METRICS_TOKEN>` when the server sets METRICS_TOKEN.',
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'Prometheus text format' }, ...problems(401) },
      },
    },
    async (request, reply) => {
      if (expected && !bearerMatches(request, expected)) return sendProblem(reply, httpProblem(401, 'The metrics need the bearer token the server was configured with.'));
      const texts = await Promise.all([processMetrics(), registry, ...(options.registries ?? [])].map((source) => source.metrics()));
      const text = texts.join('');
      return reply.type(registry.contentType).send(text);
    },
  );
}
