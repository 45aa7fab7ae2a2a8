import type { onRequestAsyncHookHandler } from 'fastify';

/** What protects a route, decided once when the app is built and shared by every route plugin. */
export interface RouteGuards {
  /** Resolves the bearer token to `request.principal`, or answers 401. */
  authenticated: onRequestAsyncHookHandler;
  /** Route config for endpoints limited per client address (sign-up, login, token, refresh). */
  authRateLimit: Record<string, unknown>;
  /** Route config for endpoints limited per authenticated user. */
  userRateLimit: Record<string, unknown>;
}
