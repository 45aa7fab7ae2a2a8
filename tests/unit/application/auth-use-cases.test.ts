import { describe, expect, it } from 'vitest';
import { useCaseHarness } from '../../support/use-cases.js';

describe('Login', () => {
  it('accepts the username or the email in any case, with surrounding blanks', async () => {
    const h = useCaseHarness();
    const { user, password } = await h.account({ username: 'Ada_L', email: 'Ada@Example.com' });
    for (const login of ['Ada_L', 'ada_l', 'ADA_L', 'ada@example.com', 'ADA@EXAMPLE.COM', '  ada_l  ']) {
      const pair = await h.login.execute({ login, password });
      expect(pair).toMatchObject({ tokenType: 'bearer', expiresIn: 900 });
      expect((await h.authenticate.execute(pair.accessToken)).userId).toBe(user.id);
    }
  });

  it('fails a wrong password and an unknown user alike, spending a hash verification on both', async () => {
    const h = useCaseHarness();
    const { user } = await h.account();
    h.hasher.calls.length = 0;

    await expect(h.login.execute({ login: user.username, password: 'wrong password' })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    const wrongPassword = await h.login.execute({ login: user.username, password: 'wrong password' }).catch((e: Error) => e.message);
    const unknownUser = await h.login.execute({ login: 'nobody', password: 'whatever pass' }).catch((e: Error) => e.message);
    expect(wrongPassword).toBe(unknownUser);
    expect(h.hasher.calls).toEqual(['verify', 'verify', 'verifyAgainstDummy']);
  });

  it('never trims the password', async () => {
    const h = useCaseHarness();
    const { user } = await h.account({ password: '  padded secret  ' });
    await expect(h.login.execute({ login: user.username, password: 'padded secret' })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(h.login.execute({ login: user.username, password: '  padded secret  ' })).resolves.toBeDefined();
  });

  it('opens a new session per login', async () => {
    const h = useCaseHarness();
    const { user, password } = await h.account();
    const a = await h.authenticate.execute((await h.login.execute({ login: user.username, password })).accessToken);
    const b = await h.authenticate.execute((await h.login.execute({ login: user.username, password })).accessToken);
    expect(a.sessionId).not.toBe(b.sessionId);
  });
});

describe('RefreshSession', () => {
  it('rotates the refresh token and keeps the login session', async () => {
    const h = useCaseHarness();
    const { pair, principal } = await h.account();
    const next = await h.refreshSession.execute(pair.refreshToken);
    expect(next.refreshToken).not.toBe(pair.refreshToken);
    expect(await h.authenticate.execute(next.accessToken)).toEqual(principal);
    await expect(h.refreshSession.execute(next.refreshToken)).resolves.toBeDefined();
  });

  it('on reuse rejects and revokes that session only', async () => {
    const h = useCaseHarness();
    const { user, password, pair } = await h.account();
    const other = await h.login.execute({ login: user.username, password });
    const next = await h.refreshSession.execute(pair.refreshToken);

    await expect(h.refreshSession.execute(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(next.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.refreshSession.execute(next.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(other.accessToken)).resolves.toBeDefined();
  });

  it('rejects an unknown token and an expired one', async () => {
    const h = useCaseHarness();
    const { pair } = await h.account();
    await expect(h.refreshSession.execute('never-issued')).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    h.clock.advanceSeconds(h.tokens.refreshTokenTtlSeconds);
    await expect(h.refreshSession.execute(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('gives a rotated token a fresh lifetime from the time of rotation', async () => {
    const h = useCaseHarness();
    const { pair } = await h.account();
    h.clock.advanceSeconds(h.tokens.refreshTokenTtlSeconds - 10);
    const next = await h.refreshSession.execute(pair.refreshToken);
    h.clock.advanceSeconds(20);
    await expect(h.refreshSession.execute(next.refreshToken)).resolves.toBeDefined();
  });

  it('lets at most one of parallel refreshes with one token succeed', async () => {
    const h = useCaseHarness();
    const { pair } = await h.account();
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => h.refreshSession.execute(pair.refreshToken)));
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeLessThanOrEqual(1);
  });
});

describe('Authenticate and Logout', () => {
  it('resolves a live token to the principal with the current role', async () => {
    const h = useCaseHarness();
    const { user, pair } = await h.account();
    expect(await h.authenticate.execute(pair.accessToken)).toMatchObject({ userId: user.id, role: 'user' });
    await h.users.update(user.id, { role: 'admin', updatedAt: h.clock.now() });
    expect((await h.authenticate.execute(pair.accessToken)).role).toBe('admin');
  });

  it('rejects a token it did not issue, and one of a deleted user', async () => {
    const h = useCaseHarness();
    const { user, pair } = await h.account();
    await expect(h.authenticate.execute('garbage')).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await h.users.delete(user.id);
    await expect(h.authenticate.execute(pair.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('logout revokes the access and refresh tokens of that session only', async () => {
    const h = useCaseHarness();
    const { user, password, pair, principal } = await h.account();
    const other = await h.login.execute({ login: user.username, password });
    await h.logout.execute(principal);
    await expect(h.authenticate.execute(pair.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.refreshSession.execute(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(other.accessToken)).resolves.toBeDefined();
  });
});
