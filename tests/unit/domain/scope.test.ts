import { describe, expect, it } from 'vitest';
import { actsAsAdministrator, effectiveScopes, grantRequestedScope, grantScopes, parsePersonalAccessTokenSpec, scopesAllowedFor, startOfMinute } from '../../../src/domain/index.js';

describe('scopes', () => {
  it('lets only an administrator hold admin', () => {
    expect(scopesAllowedFor('user')).toEqual(['tasks:read', 'tasks:write', 'profile']);
    expect(scopesAllowedFor('admin')).toEqual(['tasks:read', 'tasks:write', 'profile', 'admin']);
  });

  it('grants requested scopes in canonical order, once each', () => {
    expect(grantScopes(['profile', 'tasks:read', 'profile'], 'user', 'scopes')).toEqual(['tasks:read', 'profile']);
  });

  it('refuses an unknown or differently cased scope, and admin for a non-admin, naming the field', () => {
    expect(() => grantScopes(['tasks:delete'], 'admin', 'scopes')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', fieldErrors: [expect.objectContaining({ field: 'scopes' })] }));
    expect(() => grantScopes(['TASKS:READ'], 'admin', 'scopes')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => grantScopes(['admin'], 'user', 'scopes')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(grantScopes(['admin'], 'admin', 'scopes')).toEqual(['admin']);
  });

  it('reads the OAuth2 scope parameter: blank asks for everything, a bad one is INVALID_SCOPE (400)', () => {
    expect(grantRequestedScope(undefined, 'user')).toEqual(['tasks:read', 'tasks:write', 'profile', 'admin']);
    expect(grantRequestedScope('  ', 'user')).toHaveLength(4);
    expect(grantRequestedScope(' tasks:read   profile ', 'user')).toEqual(['tasks:read', 'profile']);
    expect(() => grantRequestedScope('tasks:read nope', 'user')).toThrow(expect.objectContaining({ code: 'INVALID_SCOPE' }));
    expect(() => grantRequestedScope('admin', 'user')).toThrow(expect.objectContaining({ code: 'INVALID_SCOPE' }));
  });

  it('makes effective only what the role allows now, and admin rights need the admin scope too', () => {
    expect(effectiveScopes(['admin', 'tasks:read'], 'user')).toEqual(['tasks:read']);
    expect(effectiveScopes(['admin', 'tasks:read'], 'admin')).toEqual(['tasks:read', 'admin']);
    expect(actsAsAdministrator({ role: 'admin', scopes: ['profile'] })).toBe(false);
    expect(actsAsAdministrator({ role: 'admin', scopes: ['admin'] })).toBe(true);
    expect(actsAsAdministrator({ role: 'user', scopes: ['admin'] })).toBe(false);
  });
});

describe('personal access token requests', () => {
  const now = new Date('2026-12-07T10:00:00.000Z');

  it('trims the name, merges scopes and turns days into an expiry', () => {
    expect(parsePersonalAccessTokenSpec({ name: '  ci  ', scopes: ['tasks:read', 'tasks:read'], expiresInDays: 30 }, 'user', now)).toEqual({
      name: 'ci',
      scopes: ['tasks:read'],
      expiresAt: new Date('2027-01-06T10:00:00.000Z'),
    });
    expect(parsePersonalAccessTokenSpec({ name: 'x', scopes: ['profile'], expiresInDays: null }, 'user', now).expiresAt).toBeNull();
  });

  it('reports every bad field at once', () => {
    const attempt = () => parsePersonalAccessTokenSpec({ name: 'é'.repeat(101), scopes: [], expiresInDays: 366 }, 'user', now);
    expect(attempt).toThrow(
      expect.objectContaining({
        fieldErrors: [expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'scopes' }), expect.objectContaining({ field: 'expires_in_days' })],
      }),
    );
    expect(() => parsePersonalAccessTokenSpec({ name: 'é'.repeat(100), scopes: ['profile'], expiresInDays: 0 }, 'user', now)).toThrow(
      expect.objectContaining({ fieldErrors: [expect.objectContaining({ field: 'expires_in_days' })] }),
    );
  });

  it('keeps last use to the minute', () => {
    expect(startOfMinute(new Date('2026-12-07T10:05:59.999Z'))).toEqual(new Date('2026-12-07T10:05:00.000Z'));
  });
});
