import { DomainError, ValidationError } from './errors.js';
import { boundedText, codePointLength } from './text.js';

export type Role = 'user' | 'admin';
export const ROLES: readonly Role[] = ['user', 'admin'];

export const USERNAME_RULE = { min: 3, max: 32, pattern: '^[A-Za-z0-9_.-]+$' } as const;
export const EMAIL_RULE = { min: 3, max: 254 } as const;
export const NAME_RULE = { min: 0, max: 100 } as const;
export const PASSWORD_RULE = { min: 8, max: 128 } as const;

export interface User {
  id: number;
  username: string;
  email: string;
  name: string | null;
  role: Role;
  passwordHash: string;
  createdAt: Date;
  updatedAt: Date;
}

const USERNAME_PATTERN = new RegExp(USERNAME_RULE.pattern);
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the mailer's job.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export function parseUsername(raw: string): string {
  const value = boundedText('username', raw, USERNAME_RULE);
  if (!USERNAME_PATTERN.test(value)) {
    throw ValidationError.field('username', 'may contain only letters, digits, "_", "." and "-"');
  }
  return value;
}

export function parseEmail(raw: string): string {
  const value = boundedText('email', raw, EMAIL_RULE);
  if (!EMAIL_PATTERN.test(value)) throw ValidationError.field('email', 'must be a valid email address');
  return value;
}

/** An empty display name is no name at all. */
export function parseDisplayName(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const value = boundedText('name', raw, NAME_RULE);
  return value === '' ? null : value;
}

/** NIST SP 800-63B: length only, any characters, never trimmed. */
export function checkPassword(plain: string, field = 'password'): string {
  const length = codePointLength(plain);
  if (length < PASSWORD_RULE.min) throw ValidationError.field(field, `must be at least ${PASSWORD_RULE.min} characters`);
  if (length > PASSWORD_RULE.max) throw ValidationError.field(field, `must be at most ${PASSWORD_RULE.max} characters`);
  return plain;
}

/** The key under which usernames and emails are unique: case does not make a new identity. */
export const identityKey = (value: string): string => value.trim().toLowerCase();

export const usernameTaken = (): DomainError =>
  new DomainError('USERNAME_TAKEN', 'That username is already taken.', [{ field: 'username', message: 'is already taken' }]);

export const emailTaken = (): DomainError =>
  new DomainError('EMAIL_TAKEN', 'That email address is already registered.', [{ field: 'email', message: 'is already registered' }]);
