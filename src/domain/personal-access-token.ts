import { parseFields, ValidationError } from './errors.js';
import { grantScopes, type Scope } from './scope.js';
import { boundedText } from './text.js';
import type { Role } from './user.js';

/** Marks a bearer token as a personal access token rather than a JWT, at a glance and for scanners. */
export const PERSONAL_TOKEN_PREFIX = 'tfp_';

export const TOKEN_NAME_RULE = { min: 1, max: 100 } as const;
export const TOKEN_EXPIRY_DAYS_RULE = { min: 1, max: 365 } as const;

/** A long-lived credential for scripts; its secret is never stored, only a digest of it. */
export interface PersonalAccessToken {
  id: number;
  userId: number;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export interface PersonalAccessTokenSpec {
  name: string;
  scopes: readonly string[];
  expiresInDays?: number | null;
}

const DAY_MS = 86_400_000;

/** Validates a request for a token of a user of `role`: its name, scopes (a subset of theirs) and lifetime. */
export function parsePersonalAccessTokenSpec(spec: PersonalAccessTokenSpec, role: Role, now: Date) {
  return parseFields({
    name: () => boundedText('name', spec.name, TOKEN_NAME_RULE),
    scopes: () => {
      if (spec.scopes.length === 0) throw ValidationError.field('scopes', 'must name at least one scope');
      return grantScopes(spec.scopes, role, 'scopes');
    },
    expiresAt: () => {
      const days = spec.expiresInDays ?? null;
      if (days === null) return null;
      if (!Number.isInteger(days) || days < TOKEN_EXPIRY_DAYS_RULE.min || days > TOKEN_EXPIRY_DAYS_RULE.max) {
        throw ValidationError.field('expires_in_days', `must be a whole number from ${TOKEN_EXPIRY_DAYS_RULE.min} to ${TOKEN_EXPIRY_DAYS_RULE.max}, or null`);
      }
      return new Date(now.getTime() + days * DAY_MS);
    },
  });
}

/** `last_used_at` is kept to the minute, so a busy token writes it at most once a minute. */
export const startOfMinute = (at: Date): Date => new Date(Math.floor(at.getTime() / 60_000) * 60_000);

export const isExpired = (token: Pick<PersonalAccessToken, 'expiresAt'>, now: Date): boolean =>
  token.expiresAt !== null && token.expiresAt <= now;
