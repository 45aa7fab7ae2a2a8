/**
 * Route config shared by every route plugin, decided once when the app is built. Who may call a
 * route is declared beside it with `access` (see route-access.ts).
 */
export interface RouteGuards {
  /** Route config for endpoints limited per client address (sign-up, login, token, refresh). */
  authRateLimit: Record<string, unknown>;
  /** Route config for endpoints limited per authenticated user. */
  userRateLimit: Record<string, unknown>;
}
