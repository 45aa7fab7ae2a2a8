import { isScope, type Scope } from '../../../domain/index.js';

/** Scopes are stored as the OAuth2 `scope` string: space-separated, in canonical order. */
export const toScopeColumn = (scopes: readonly Scope[]): string => scopes.join(' ');
export const fromScopeColumn = (column: string): Scope[] => column.split(' ').filter(isScope);
