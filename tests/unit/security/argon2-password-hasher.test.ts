import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher, OWASP_ARGON2ID } from '../../../src/adapters/security/argon2-password-hasher.js';

/** The one test that pays for production parameters: what ships is what is checked. */
describe('Argon2PasswordHasher with its production parameters', () => {
  const hasher = new Argon2PasswordHasher();

  it('defaults to argon2id with at least OWASP’s minimum cost', () => {
    expect(OWASP_ARGON2ID.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(OWASP_ARGON2ID.timeCost).toBeGreaterThanOrEqual(2);
    expect(OWASP_ARGON2ID.parallelism).toBe(1);
  });

  it('encodes argon2id, m ≥ 19456, t ≥ 2, p = 1 and a random salt in every hash', async () => {
    const [a, b] = await Promise.all([hasher.hash('correct horse battery staple'), hasher.hash('correct horse battery staple')]);
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(a.replace(/m=(\d+),p=(\d+),t=(\d+)/, 'm=$1,t=$3,p=$2'));
    expect(match, a).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(19_456);
    expect(Number(match![2])).toBeGreaterThanOrEqual(2);
    expect(Number(match![3])).toBe(1);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verifies the exact password only: not trimmed, not another case', async () => {
    const hash = await hasher.hash('  Pass phrase ');
    expect(await hasher.verify(hash, '  Pass phrase ')).toBe(true);
    expect(await hasher.verify(hash, 'Pass phrase')).toBe(false);
    expect(await hasher.verify(hash, '  pass phrase ')).toBe(false);
  });

  it('treats a malformed stored hash as matching nothing', async () => {
    expect(await hasher.verify('not-a-hash', 'anything')).toBe(false);
    expect(await hasher.verify('', 'anything')).toBe(false);
  });

  it('spends a real verification on unknown accounts and always answers false', async () => {
    expect(await hasher.verifyAgainstDummy('taskforge-dummy-password')).toBe(false);
    expect(await hasher.verifyAgainstDummy('anything else')).toBe(false);
  });

  it('handles passwords of any characters, counted in code points', async () => {
    const password = '😀 pässwörd ✓ 密码';
    expect(await hasher.verify(await hasher.hash(password), password)).toBe(true);
  });
});
