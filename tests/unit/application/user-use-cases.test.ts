import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/index.js';
import { aRegistration, principal } from '../../support/fakes.js';
import { useCaseHarness } from '../../support/use-cases.js';

const fieldsOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).fieldErrors.map((f) => f.field).sort();
};

describe('RegisterUser', () => {
  it('trims, hashes the password and makes a plain user', async () => {
    const h = useCaseHarness();
    const user = await h.registerUser.execute({ username: '  Ada_L ', email: ' ada@example.com ', password: '  secret pass ', name: '  Ada  ' });
    expect(user).toMatchObject({ username: 'Ada_L', email: 'ada@example.com', name: 'Ada', role: 'user', passwordHash: 'hashed:  secret pass ' });
    expect(user.createdAt).toEqual(h.clock.now());
    expect(user.updatedAt).toEqual(user.createdAt);
  });

  it('stores an omitted, null or blank name as null', async () => {
    const h = useCaseHarness();
    for (const name of [undefined, null, '', '   ']) expect((await h.registerUser.execute(aRegistration({ name }))).name).toBeNull();
  });

  it('reports every invalid field at once and stores nothing', async () => {
    const h = useCaseHarness();
    expect(await fieldsOf(h.registerUser.execute({ username: 'a', email: 'not-an-email', password: 'short', name: 'x'.repeat(101) }))).toEqual([
      'email',
      'name',
      'password',
      'username',
    ]);
    expect(h.hasher.calls).toEqual([]);
    expect((await h.users.list({ limit: 10, offset: 0 })).total).toBe(0);
  });

  it('counts code points, not UTF-16 units', async () => {
    const h = useCaseHarness();
    await expect(h.registerUser.execute(aRegistration({ password: '😀'.repeat(8), name: '😀'.repeat(100) }))).resolves.toBeDefined();
    expect(await fieldsOf(h.registerUser.execute(aRegistration({ password: '😀'.repeat(7) })))).toEqual(['password']);
    expect(await fieldsOf(h.registerUser.execute(aRegistration({ password: '😀'.repeat(129) })))).toEqual(['password']);
  });

  it('refuses a case-insensitive duplicate username or email', async () => {
    const h = useCaseHarness();
    await h.registerUser.execute(aRegistration({ username: 'ada_l', email: 'ada@example.com' }));
    await expect(h.registerUser.execute(aRegistration({ username: 'ADA_L' }))).rejects.toMatchObject({ code: 'USERNAME_TAKEN' });
    await expect(h.registerUser.execute(aRegistration({ email: 'ADA@example.COM' }))).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
  });
});

describe('CreateAdmin', () => {
  it('at start-up creates an admin only while none exists; from the command line always', async () => {
    const h = useCaseHarness();
    const first = await h.createAdmin.execute(aRegistration(), { onlyIfNoAdmin: true });
    expect(first?.role).toBe('admin');
    expect(await h.createAdmin.execute(aRegistration(), { onlyIfNoAdmin: true })).toBeNull();
    expect((await h.createAdmin.execute(aRegistration(), { onlyIfNoAdmin: false }))?.role).toBe('admin');
  });
});

describe('GetUser, GetCurrentUser and ListUsers', () => {
  it('shows a user to themself and admins; to others it does not exist', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account();
    const { principal: stranger } = await h.account();
    const { principal: admin } = await h.account({}, 'admin');
    expect((await h.getUser.execute(self, user.id)).id).toBe(user.id);
    expect((await h.getUser.execute(admin, user.id)).id).toBe(user.id);
    await expect(h.getUser.execute(stranger, user.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(h.getUser.execute(admin, 9999)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    expect((await h.getCurrentUser.execute(self)).id).toBe(user.id);
  });

  it('lists users for admins only, trimming q and ignoring a blank one', async () => {
    const h = useCaseHarness();
    const { principal: user } = await h.account({ username: 'findme_1' });
    const { principal: admin } = await h.account({}, 'admin');
    await expect(h.listUsers.execute(user, { limit: 10, offset: 0 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await h.listUsers.execute(admin, { limit: 10, offset: 0, q: '  FINDME ' })).items.map((u) => u.username)).toEqual(['findme_1']);
    expect((await h.listUsers.execute(admin, { limit: 10, offset: 0, q: '   ' })).total).toBe(2);
  });
});

describe('ReplaceUser and PatchUser', () => {
  it('PATCH changes only what is given; an empty patch changes nothing, not even updated_at', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account({ name: 'Keep' });
    h.clock.advanceSeconds(60);
    const renamed = await h.patchUser.execute(self, user.id, { username: 'renamed_1' });
    expect(renamed).toMatchObject({ username: 'renamed_1', email: user.email, name: 'Keep', updatedAt: h.clock.now() });
    h.clock.advanceSeconds(60);
    expect(await h.patchUser.execute(self, user.id, {})).toEqual(renamed);
    expect(await h.patchUser.execute(self, user.id, { username: 'renamed_1', name: 'Keep' })).toEqual(renamed);
  });

  it('PUT clears an omitted name', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account({ name: 'Gone soon' });
    expect((await h.replaceUser.execute(self, user.id, { username: user.username, email: user.email })).name).toBeNull();
  });

  it('hides other users behind USER_NOT_FOUND', async () => {
    const h = useCaseHarness();
    const { user } = await h.account();
    const { principal: stranger } = await h.account();
    await expect(h.patchUser.execute(stranger, user.id, { name: 'x' })).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(h.deleteUser.execute(stranger, user.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });

  it('only an admin may send a role, even the current one', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account();
    const { principal: admin } = await h.account({}, 'admin');
    await expect(h.patchUser.execute(self, user.id, { role: 'user' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h.patchUser.execute(self, user.id, { role: 'admin' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await h.patchUser.execute(admin, user.id, { role: 'admin' })).role).toBe('admin');
  });

  it('changing one’s own password or email needs current_password: missing → 422 field, wrong → CURRENT_PASSWORD_WRONG', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account();
    expect(await fieldsOf(h.patchUser.execute(self, user.id, { password: 'a new password' }))).toEqual(['current_password']);
    expect(await fieldsOf(h.patchUser.execute(self, user.id, { email: 'new@example.com', current_password: '' }))).toEqual(['current_password']);
    expect(await fieldsOf(h.patchUser.execute(self, user.id, { email: user.email.toUpperCase() }))).toEqual(['current_password']);
    await expect(h.patchUser.execute(self, user.id, { password: 'a new password', current_password: 'wrong one' })).rejects.toMatchObject({
      code: 'CURRENT_PASSWORD_WRONG',
    });
    expect((await h.users.findById(user.id))?.passwordHash).toBe(user.passwordHash);
  });

  it('a credential change keeps the acting session and revokes the user’s others', async () => {
    const h = useCaseHarness();
    const { user, password, pair, principal: self } = await h.account();
    const other = await h.login.execute({ login: user.username, password });
    const updated = await h.patchUser.execute(self, user.id, { password: 'a new password', current_password: password });
    expect(updated.passwordHash).toBe('hashed:a new password');
    await expect(h.authenticate.execute(pair.accessToken)).resolves.toEqual(self);
    await expect(h.authenticate.execute(other.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('a name change revokes nothing', async () => {
    const h = useCaseHarness();
    const { user, password, principal: self } = await h.account();
    const other = await h.login.execute({ login: user.username, password });
    await h.patchUser.execute(self, user.id, { name: 'New' });
    await expect(h.authenticate.execute(other.accessToken)).resolves.toBeDefined();
  });

  it('an admin resets another user’s password without current_password and signs them out everywhere', async () => {
    const h = useCaseHarness();
    const { user, pair } = await h.account();
    const { principal: admin, pair: adminPair } = await h.account({}, 'admin');
    await h.patchUser.execute(admin, user.id, { password: 'reset by admin' });
    await expect(h.authenticate.execute(pair.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(h.authenticate.execute(adminPair.accessToken)).resolves.toBeDefined();
  });

  it('reports field errors before checking the current password', async () => {
    const h = useCaseHarness();
    const { user, principal: self } = await h.account();
    expect(await fieldsOf(h.patchUser.execute(self, user.id, { password: 'short', username: 'x' }))).toEqual(['password', 'username']);
  });
});

describe('DeleteUser', () => {
  it('deletes oneself or, for an admin, anyone; a second delete is USER_NOT_FOUND', async () => {
    const h = useCaseHarness();
    const { user, pair, principal: self } = await h.account();
    const { user: other } = await h.account();
    const { principal: admin } = await h.account({}, 'admin');
    await h.deleteUser.execute(self, user.id);
    await expect(h.authenticate.execute(pair.accessToken)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await h.deleteUser.execute(admin, other.id);
    await expect(h.deleteUser.execute(admin, other.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(h.getUser.execute(principal(1, 'admin'), user.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });
});
