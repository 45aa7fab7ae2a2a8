import type { FastifyRequest } from 'fastify';

/** Label for requests that matched no route: raw URLs would let any client grow a label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The route template (`/tasks/:id`) a request matched, for logs and metrics; never the raw URL. */
export const routeLabel = (request: FastifyRequest): string => request.routeOptions.url ?? UNMATCHED_ROUTE;
