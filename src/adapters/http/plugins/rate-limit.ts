import rateLimit, { normalizeIP, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FallbackRateLimitStore, type SharedWindowCounter } from './rate-limit-store.js';

export interface RateLimitSettings {
  /** Per client address and route: sign-up, login, token, refresh. */
  authMax: number;
  /** Per authenticated user and route: everything else that is limited. */
  max: number;
  windowSeconds: number;
}

/** Route `config` objects, one per kind of limit (see RouteGuards). */
export interface RateLimitRouteConfigs {
  authRateLimit: Record<string, unknown>;
  userRateLimit: Record<string, unknown>;
}

class RateLimitedError extends Error {
  readonly code = 'RATE_LIMITED';
  readonly statusCode = 429;
}

/**
 * The user limiter sits in the route's onRequest hooks after `guards.authenticated` (the plugin
 * appends to the route's own hooks), so the principal is known before any body is read. Were it
 * ever reached without one, it would count per address rather than let the request through.
 */
const addressKey = (request: FastifyRequest): string => `address:${normalizeIP(request.ip)}`;

function userKey(request: FastifyRequest): string {
  return request.principal ? `user:${request.principal.userId}` : addressKey(request);
}

export async function registerRateLimits(
  app: FastifyInstance,
  settings: RateLimitSettings,
  shared: SharedWindowCounter | null,
): Promise<RateLimitRouteConfigs> {
  const store = FallbackRateLimitStore.create(shared, app.log);
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    timeWindow: settings.windowSeconds * 1000,
    // The plugin builds its store with `new`; returning an object from a constructor hands that object back.
    store: function useSharedStore() {
      return store;
    } as unknown as FastifyRateLimitStoreCtor,
    errorResponseBuilder: (_request, context) => new RateLimitedError(`Too many requests; retry in ${context.after}.`),
  });
  return {
    authRateLimit: { rateLimit: { max: settings.authMax, keyGenerator: addressKey } },
    userRateLimit: { rateLimit: { max: settings.max, keyGenerator: userKey } },
  };
}
