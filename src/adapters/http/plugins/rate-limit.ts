import rateLimit, { normalizeIP, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SharedWindowCounter } from '../../redis/fallback-window-counter.js';
import { WindowCounterStore } from './rate-limit-store.js';

export interface RateLimitSettings {
  /** Per client address and route: sign-up, login, token, refresh. */
  authMax: number;
  /** Per authenticated user and route: everything else that is limited. */
  max: number;
  /** Per client address: requests refused for their token (401), on any route. */
  failedAuthMax: number;
  windowSeconds: number;
}

/** Whether a client that just failed authentication has done so too often; counts the failure. */
export type FailedAuthenticationLimit = (request: FastifyRequest) => Promise<{ exceeded: boolean; limit: number; resetSeconds: number }>;

/** Route `config` objects, one per kind of limit (see RouteGuards), and the failed-authentication limit. */
export interface RateLimitRouteConfigs {
  authRateLimit: Record<string, unknown>;
  userRateLimit: Record<string, unknown>;
  failedAuthentication: FailedAuthenticationLimit;
}

class RateLimitedError extends Error {
  readonly code = 'RATE_LIMITED';
  readonly statusCode = 429;
}

/**
 * The user limiter sits in the route's onRequest hooks after the authentication hook (route-access.ts
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
  const store = WindowCounterStore.create(shared, app.log);
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
  // Requests refused with 401 never reach the per-user limit, so they are counted per address:
  // only when they fail, so an authenticated request pays nothing for it. A budget of their own:
  // a client with a valid token needs far fewer refusals than requests.
  const failures = app.createRateLimit({ max: settings.failedAuthMax, keyGenerator: (request) => `failed-authentication|${addressKey(request)}` });
  const failedAuthentication: FailedAuthenticationLimit = async (request) => {
    const outcome = await failures(request);
    if (outcome.isAllowed) return { exceeded: false, limit: settings.failedAuthMax, resetSeconds: 0 };
    return { exceeded: outcome.isExceeded, limit: outcome.max, resetSeconds: outcome.ttlInSeconds };
  };
  return {
    authRateLimit: { rateLimit: { max: settings.authMax, keyGenerator: addressKey } },
    userRateLimit: { rateLimit: { max: settings.max, keyGenerator: userKey } },
    failedAuthentication,
  };
}
