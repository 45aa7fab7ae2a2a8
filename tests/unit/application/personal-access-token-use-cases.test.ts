import { describe, expect, it } from 'vitest';
import { useCaseHarness } from '../../support/use-cases.js';

describe('login scopes', () => {
  it('grants what was asked, reports it, keeps it across refresh, and refuses an unknown scope before the password', async () => {
    const h = useCaseHarness();
    const { user, password } = await h.account();
    const pair = await h.login.execute({ login: user.username, password, scope: 'tasks:read' });
    expect(pair.scopes).toEqual(['tasks:read']);
    expect((await h.authenticate.execute(pair.accessToken)).scopes).toEqual(['tasks:read']);
    const next = await h.refreshSession.execute(pair.refreshToken);
    expect(next.scopes).toEqual(['tasks:read']);
    expect((await h.authenticate.execute(next.accessToken)).scopes).toEqual(['tasks:read']);

    h.hasher.calls.length = 0;
    await expect(h.login.execute({ login: user.username, password, scope: 'tasks:read everything' })).rejects.toMatchObject({ code: 'INVALID_SCOPE' });
    expect(h.hasher.calls).toEqual([]);
    await expect(h.login.execute({ login: user.username, password, scope: 'admin' })).rejects.toMatchObject({ code: 'INVALID_SCOPE' });
  });

  it('without a scope, follows the role: a promotion gives admin to the live session', async () => {
    const h = useCaseHarness();
    const { user, pair } = await h.account();
    expect(pair.scopes).toEqual(['tasks:read', 'tasks:write', 'profile']);
    await h.users.update(user.id, { role: 'admin', updatedAt: h.clock.now() });
    expect((await h.authenticate.execute(pair.accessToken)).scopes).toContain('admin');
    expect((await h.refreshSession.execute(pair.refreshToken)).scopes).toContain('admin');
  });
});

describe('personal access tokens', () => {
  it('creates a tfp_ token shown once, stored only as a digest, that authenticates with its scopes and no session', async () => {
    const h = useCaseHarness();
    const { principal } = await h.account();
    const created = await h.createPersonalAccessToken.execute(principal, { name: ' ci ', scopes: ['tasks:read'], expiresInDays: 30 });
    expect(created.secret).toMatch(/^tfp_[A-Za-z0-9_-]{43}$/);
    expect(created.token).toMatchObject({ name: 'ci', scopes: ['tasks:read'], lastUsedAt: null, expiresAt: new Date(h.clock.now().getTime() + 30 * 86_400_000) });
    expect(JSON.stringify(await h.listPersonalAccessTokens.execute(principal))).not.toContain(created.secret.slice(4));
    expect(await h.authenticate.execute(created.secret)).toEqual({ userId: principal.userId, role: 'user', sessionId: null, personalTokenId: created.token.id, scopes: ['tasks:read'] });
  });

  it('writes last use at most once a minute, to the minute', async () => {
    const h = useCaseHarness();
    const { principal } = await h.account();
    const { secret, token } = await h.createPersonalAccessToken.execute(principal, { name: 'x', scopes: ['profile'] });
    const writes: Date[] = [];
    const recordUse = h.personalTokens.recordUse.bind(h.personalTokens);
    h.personalTokens.recordUse = async (id, minute) => {
      writes.push(minute);
      return recordUse(id, minute);
    };
    h.clock.advanceSeconds(5);
    for (let i = 0; i < 3; i++) await h.authenticate.execute(secret);
    h.clock.advanceSeconds(60);
    await h.authenticate.execute(secret);
    await h.authenticate.execute(secret);
    expect(writes).toHaveLength(2);
    const [listed] = await h.listPersonalAccessTokens.execute(principal);
    expect(listed!.id).toBe(token.id);
    expect(listed!.lastUsedAt!.getUTCSeconds()).toBe(0);
    expect(listed!.lastUsedAt).toEqual(writes[1]);
  });

  it('is refused once expired, once revoked, and once its user is deleted; altered or foreign strings are INVALID_TOKEN', async () => {
    const h = useCaseHarness();
    const { principal, user } = await h.account();
    const expiring = await h.createPersonalAccessToken.execute(principal, { name: 'a', scopes: ['profile'], expiresInDays: 1 });
    const revoked = await h.createPersonalAccessToken.execute(principal, { name: 'b', scopes: ['profile'] });
    const kept = await h.createPersonalAccessToken.execute(principal, { name: 'c', scopes: ['profile'] });
    h.clock.advanceSeconds(86_400);
    await expect(h.authenticate.execute(expiring.secret)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await h.revokePersonalAccessToken.execute(principal, revoked.token.id);
    await expect(h.authenticate.execute(revoked.secret)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.revokePersonalAccessToken.execute(principal, revoked.token.id)).rejects.toMatchObject({ code: 'PERSONAL_TOKEN_NOT_FOUND' });
    const altered = kept.secret.slice(0, -1) + (kept.secret.endsWith('A') ? 'B' : 'A');
    for (const bad of [altered, 'tfp_', 'tfp_short', `${kept.secret}x`]) await expect(h.authenticate.execute(bad)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(kept.secret)).resolves.toBeDefined();
    await h.users.delete(user.id);
    await expect(h.authenticate.execute(kept.secret)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('belongs to its user: another user can neither list nor revoke it', async () => {
    const h = useCaseHarness();
    const owner = await h.account();
    const other = await h.account();
    const { token } = await h.createPersonalAccessToken.execute(owner.principal, { name: 'mine', scopes: ['profile'] });
    expect(await h.listPersonalAccessTokens.execute(other.principal)).toEqual([]);
    await expect(h.revokePersonalAccessToken.execute(other.principal, token.id)).rejects.toMatchObject({ code: 'PERSONAL_TOKEN_NOT_FOUND' });
    expect(await h.listPersonalAccessTokens.execute(owner.principal)).toHaveLength(1);
  });

  it('refuses admin to a non-admin and bad fields with 422, creating nothing', async () => {
    const h = useCaseHarness();
    const { principal } = await h.account();
    await expect(h.createPersonalAccessToken.execute(principal, { name: 'x', scopes: ['admin'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(h.createPersonalAccessToken.execute(principal, { name: '', scopes: ['profile'], expiresInDays: 400 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await h.listPersonalAccessTokens.execute(principal)).toEqual([]);
  });

  it('survives a password change and a logout, and cannot itself change a password or log out', async () => {
    const h = useCaseHarness();
    const { principal, user, password } = await h.account();
    const { secret } = await h.createPersonalAccessToken.execute(principal, { name: 'x', scopes: ['profile'] });
    await h.patchUser.execute(principal, user.id, { password: 'another password 1', current_password: password });
    await h.logout.execute(principal);
    const viaToken = await h.authenticate.execute(secret);
    expect(viaToken.userId).toBe(user.id);
    await expect(h.patchUser.execute(viaToken, user.id, { password: 'third password 12', current_password: 'another password 1' })).rejects.toMatchObject({
      code: 'LOGIN_SESSION_REQUIRED',
    });
    await expect(h.patchUser.execute(viaToken, user.id, { email: 'new@example.com', current_password: 'another password 1' })).rejects.toMatchObject({
      code: 'LOGIN_SESSION_REQUIRED',
    });
    await expect(h.logout.execute(viaToken)).rejects.toMatchObject({ code: 'LOGIN_SESSION_REQUIRED' });
    expect((await h.patchUser.execute(viaToken, user.id, { name: 'Renamed' })).name).toBe('Renamed');
  });
});
