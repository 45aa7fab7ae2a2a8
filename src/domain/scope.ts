import { DomainError, ValidationError } from './errors.js';
import type { Role } from './user.js';

/** What a credential may do, OAuth2 style (RFC 6749 §3.3). */
export type Scope = 'tasks:read' | 'tasks:write' | 'profile' | 'admin';
export const SCOPES: readonly Scope[] = ['tasks:read', 'tasks:write', 'profile', 'admin'];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/** The scopes a user of this role may hold: `admin` only an administrator. */
export function scopesAllowedFor(role: Role): Scope[] {
  return role === 'admin' ? [...SCOPES] : SCOPES.filter((scope) => scope !== 'admin');
}

/** In the canonical order, each once: how granted scopes are stored and reported. */
const canonical = (scopes: Iterable<Scope>): Scope[] => {
  const set = new Set(scopes);
  return SCOPES.filter((scope) => set.has(scope));
};

/**
 * What a credential may do right now: the scopes it was granted that its user may still hold, so
 * a demoted administrator's tokens lose `admin` at once.
 */
export function effectiveScopes(granted: Iterable<string>, role: Role): Scope[] {
  const allowed = new Set<string>(scopesAllowedFor(role));
  return canonical([...granted].filter((scope): scope is Scope => allowed.has(scope)));
}

/**
 * Checks requested scopes against what a user of `role` may hold; duplicates merge. Throws a
 * ValidationError on `field` naming the first unknown scope, or `admin` asked for by a non-admin.
 */
export function grantScopes(requested: readonly string[], role: Role, field: string): Scope[] {
  for (const scope of requested) {
    if (!isScope(scope)) throw ValidationError.field(field, `"${scope}" is not a scope; use ${SCOPES.join(', ')}`);
    if (scope === 'admin' && role !== 'admin') throw ValidationError.field(field, 'admin may be granted to administrators only');
  }
  return canonical(requested as Scope[]);
}

/**
 * What a login session is granted from the OAuth2 `scope` parameter (space-separated). Absent or
 * blank asks for everything the user may hold, then and later: every scope is granted, and what
 * the user's role allows decides at each request (a promotion or demotion applies at once). A
 * bad one is a 400 `invalid_scope` in OAuth2, not a field validation failure.
 */
export function grantRequestedScope(scope: string | undefined, role: Role): Scope[] {
  if (!scope?.trim()) return [...SCOPES];
  const requested = scope.trim().split(/\s+/);
  try {
    return grantScopes(requested, role, 'scope');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new DomainError('INVALID_SCOPE', `The requested scope is invalid: ${error.fieldErrors[0]!.message}.`, error.fieldErrors);
  }
}

/** A scope string is checked for unknown scopes before the password: that needs no account. */
export function checkScopeSyntax(scope: string | undefined): void {
  if (scope?.trim()) grantRequestedScope(scope, 'admin');
}

export const hasScope = (scopes: readonly Scope[], needed: Scope): boolean => scopes.includes(needed);

/** Acting on other people's accounts needs both the role and a credential granted `admin`. */
export const actsAsAdministrator = (actor: { role: Role; scopes: readonly Scope[] }): boolean =>
  actor.role === 'admin' && hasScope(actor.scopes, 'admin');
