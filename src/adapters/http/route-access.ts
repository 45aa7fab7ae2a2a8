import type { FastifyInstance, RouteOptions, onRequestAsyncHookHandler } from 'fastify';
import { SCOPES, type Scope } from '../../domain/index.js';
import { problemRef } from './schemas/common.js';

/**
 * Who may call a route: the one declaration, in the route's `config.access` next to its schema,
 * that both the authentication hook and the OpenAPI document are derived from.
 */
export type RouteAccess =
  | { public: true }
  | {
      public?: false;
      /** The scope a credential needs; null: any authenticated caller (logout). */
      scope: Scope | null;
      /** Refuses personal access tokens: the act belongs to a person who logged in. */
      loginSession: boolean;
      /**
       * Also accepts a single-use ticket from POST /events/tickets as `?ticket=`, in place of the
       * Authorization header: browsers cannot set headers on a WebSocket or an EventSource.
       */
      ticket: boolean;
    };
export type ProtectedAccess = Extract<RouteAccess, { scope: Scope | null }>;

/** Open to anyone: sign-up, login, health, metrics, the documentation. */
export const PUBLIC: RouteAccess = { public: true };

/** Needs a valid token granted `scope` (null: any valid token). */
export const needs = (scope: Scope | null, options: { loginSession?: boolean; ticket?: boolean } = {}): RouteAccess => ({
  scope,
  loginSession: options.loginSession ?? false,
  ticket: options.ticket ?? false,
});

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'tasks:read': 'Read your tasks',
  'tasks:write': 'Create, change and delete your tasks (reading needs tasks:read)',
  profile: 'Your account and your personal access tokens',
  admin: 'Administer every account (administrators only)',
};

export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

const tables = new WeakMap<FastifyInstance, DeclaredRoute[]>();

/** Every route of the app with what it declared, for the test that no route goes undeclared. */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return tables.get(app) ?? [];
}

function documentAccess(route: RouteOptions, access: ProtectedAccess): void {
  const schema = route.schema ?? {};
  const notes = [
    access.loginSession ? 'Needs a login session: personal access tokens are refused (403).' : '',
    access.ticket ? 'Instead of the Authorization header, a ticket from POST /events/tickets may be given as ?ticket=; an access token in the URL is refused (401).' : '',
  ];
  const description = [(schema as { description?: string }).description, ...notes].filter(Boolean).join(' ');
  const security: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: access.scope ? [access.scope] : [] }, ...(access.ticket ? [{ eventTicket: [] }] : [])];
  route.schema = {
    ...schema,
    ...(description ? { description } : {}),
    security,
    response: { ...(schema.response as object), 401: problemRef, 403: problemRef },
  } as RouteOptions['schema'];
}

/**
 * Adds the authentication hook to every route declaring a scope, first among its onRequest hooks
 * (the per-user rate limit after it needs the caller), and its security requirement to its schema.
 * Registered before the OpenAPI generator so the document sees the requirement. A route that
 * declares nothing stops the app at start-up.
 */
export function registerRouteAccess(app: FastifyInstance, authenticated: (access: ProtectedAccess) => onRequestAsyncHookHandler): void {
  const table: DeclaredRoute[] = [];
  tables.set(app, table);
  const declared: Array<{ entry: DeclaredRoute; route: RouteOptions }> = [];
  app.addHook('onRoute', (route) => {
    const entry: DeclaredRoute = { method: String(route.method), url: route.url, access: route.config?.access };
    table.push(entry);
    declared.push({ entry, route });
    const access = route.config?.access;
    if (!access || access.public) return;
    route.onRequest = [authenticated(access), ...[route.onRequest ?? []].flat()];
    documentAccess(route, access);
  });
  app.addHook('onReady', async () => {
    // Plugins' routes (the documentation's, CORS preflight) are declared by hooks added after this one.
    for (const { entry, route } of declared) entry.access = route.config?.access;
    const undeclared = table.filter((entry) => !entry.access);
    if (undeclared.length > 0) {
      throw new Error(`routes without an access declaration (config.access): ${undeclared.map((r) => `${r.method} ${r.url}`).join(', ')}`);
    }
  });
}

/** For routes a plugin adds that we do not write (Swagger UI, CORS preflight): those it matches are public. */
export function declarePublic(app: FastifyInstance, isTheirs: (route: RouteOptions) => boolean): void {
  app.addHook('onRoute', (route) => {
    if (isTheirs(route)) route.config = { ...route.config, access: PUBLIC };
  });
}

export const oauth2Scopes = (): Record<string, string> => Object.fromEntries(SCOPES.map((scope) => [scope, SCOPE_DESCRIPTIONS[scope]]));
