import { describe, expect, it } from 'vitest';
import { ValidationError, checkPassword, codePointLength, identityKey, parseDisplayName, parseEmail, parseUsername } from '../../../src/domain/index.js';

const rejects = (parse: () => unknown, field: string) => {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fieldErrors.map((e) => e.field)).toEqual([field]);
    return;
  }
  throw new Error('expected a ValidationError');
};

describe('user value rules', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
  });

  it('usernames: 3–32 of [A-Za-z0-9_.-] after trimming, case kept', () => {
    expect(parseUsername('  Ada_L.x-1  ')).toBe('Ada_L.x-1');
    expect(parseUsername('abc')).toBe('abc');
    expect(parseUsername('a'.repeat(32))).toHaveLength(32);
    for (const bad of ['', '   ', 'ab', ' ab ', 'a'.repeat(33), 'ada l', 'ada@x', 'äda', '😀😀😀']) rejects(() => parseUsername(bad), 'username');
  });

  it('emails: trimmed, one @, a dot in the domain, at most 254', () => {
    expect(parseEmail('  Ada@Example.com ')).toBe('Ada@Example.com');
    for (const bad of ['', 'ada', 'ada@localhost', 'a@b@c.com', 'ada @x.com', `${'a'.repeat(250)}@x.com`]) rejects(() => parseEmail(bad), 'email');
  });

  it('display names: trimmed, up to 100 code points, blank means none', () => {
    expect(parseDisplayName('  Ada  ')).toBe('Ada');
    expect(parseDisplayName('   ')).toBeNull();
    expect(parseDisplayName(undefined)).toBeNull();
    expect(parseDisplayName('😀'.repeat(100))).toHaveLength(200);
    rejects(() => parseDisplayName('😀'.repeat(101)), 'name');
  });

  it('passwords: 8–128 code points of anything, never trimmed', () => {
    expect(checkPassword('        ')).toBe('        ');
    expect(checkPassword(' padded  ')).toBe(' padded  ');
    expect(checkPassword('😀'.repeat(128))).toHaveLength(256);
    rejects(() => checkPassword('😀'.repeat(7)), 'password');
    rejects(() => checkPassword('x'.repeat(129)), 'password');
    rejects(() => checkPassword('short', 'current_password'), 'current_password');
  });

  it('identity keys ignore case and surrounding blanks', () => {
    expect(identityKey('  Ada_L ')).toBe(identityKey('ada_l'));
    expect(identityKey('ADA@EXAMPLE.COM')).toBe('ada@example.com');
  });
});
