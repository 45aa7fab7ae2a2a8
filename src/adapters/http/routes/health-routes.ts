import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { httpProblem, sendProblem } from '../problem.js';
import { PUBLIC } from '../route-access.js';
import { problems } from '../schemas/common.js';

/** Each dependency the service needs to answer requests, checked on demand. */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

export interface HealthRoutesOptions {
  readiness: ReadinessChecks;
  /**
   * Dependencies that only some requests need (the file storage): reported in `/ready`'s checks,
   * never making it fail. Taking every instance out of the load balancer because the bucket is
   * down would turn a broken feature into a whole outage.
   */
  advisories?: ReadinessChecks;
  /**
   * Features whose state is settled by configuration, reported as they are: `ai: not_configured`
   * tells an operator why POST /tasks/generate answers 503, without failing readiness.
   */
  notes?: Record<string, string>;
}

/** A probe that hangs is a failed probe: orchestrators time out, and so do we, a little sooner. */
const CHECK_TIMEOUT_MS = 2_000;

function withinTimeout(check: () => Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check().catch(() => false), timeout]).finally(() => clearTimeout(timer));
}

async function runChecks(checks: ReadinessChecks): Promise<Record<string, 'ok' | 'unavailable'>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, (await withinTimeout(check)) ? 'ok' : 'unavailable'] as const),
  );
  return Object.fromEntries(entries);
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { readiness, advisories = {}, notes = {} }) => {
  app.get(
    '/health',
    { config: { access: PUBLIC }, schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { access: PUBLIC },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database (and Redis, when configured) answer, its schema is current, and the service is not shutting down; the file storage is reported, not required',
        response: { 200: Type.Object({ status: Type.Literal('ok'), checks: Type.Record(Type.String(), Type.String()) }), ...problems(503) },
      },
    },
    async (_request, reply) => {
      // Draining before a shutdown: load balancers stop sending new requests here.
      if (app.draining) return sendProblem(reply, httpProblem(503, 'The service is shutting down.', { checks: { shutdown: 'draining' } }));
      const [required, advisory] = await Promise.all([runChecks(readiness), runChecks(advisories)]);
      const checks = { ...notes, ...required, ...advisory };
      if (Object.values(required).every((state) => state === 'ok')) return { status: 'ok' as const, checks };
      return sendProblem(reply, httpProblem(503, 'A dependency of the service is unavailable.', { checks }));
    },
  );
};
