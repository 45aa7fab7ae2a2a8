import { Type, type Static } from '@sinclair/typebox';
import { EMAIL_RULE, NAME_RULE, PASSWORD_RULE, ROLES, USERNAME_RULE } from '../../../domain/index.js';
import { Nullable, OffsetPageQuery, StringEnum, Timestamp } from './common.js';

const Username = Type.String({
  minLength: USERNAME_RULE.min,
  maxLength: USERNAME_RULE.max,
  pattern: USERNAME_RULE.pattern,
  description: 'Letters, digits, "_", "." and "-"; unique ignoring case.',
  examples: ['ada_l'],
});
const Email = Type.String({ minLength: EMAIL_RULE.min, maxLength: EMAIL_RULE.max, format: 'email', examples: ['ada@example.com'] });
const Password = Type.String({
  minLength: PASSWORD_RULE.min,
  maxLength: PASSWORD_RULE.max,
  description: '8 to 128 characters of any kind; never trimmed.',
  examples: ['correct horse battery staple'],
});
const DisplayName = Type.Union([Type.String({ maxLength: NAME_RULE.max }), Type.Null()], {
  description: 'Optional display name.',
  examples: ['Ada Lovelace'],
});
const Role = Type.Union(ROLES.map((role) => Type.Literal(role)), { description: 'Only an administrator may set it.' });
const CurrentPassword = Type.String({ maxLength: 1024, description: 'Required to change your own password or email.' });

export const UserDto = Type.Object(
  {
    id: Type.Integer({ examples: [1] }),
    username: Type.String({ examples: ['ada_l'] }),
    email: Type.String({ examples: ['ada@example.com'] }),
    name: Nullable(Type.String(), { examples: ['Ada Lovelace'] }),
    role: StringEnum(ROLES),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);
export type UserDto = Static<typeof UserDto>;

export const RegisterBody = Type.Object(
  { username: Username, email: Email, password: Password, name: Type.Optional(DisplayName) },
  {
    additionalProperties: false,
    examples: [{ username: 'ada_l', email: 'ada@example.com', password: 'correct horse battery staple', name: 'Ada Lovelace' }],
  },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const ReplaceUserBody = Type.Object(
  {
    username: Username,
    email: Email,
    name: Type.Optional(DisplayName),
    password: Type.Optional(Password),
    role: Type.Optional(Role),
    current_password: Type.Optional(CurrentPassword),
  },
  { additionalProperties: false, examples: [{ username: 'ada_l', email: 'ada@example.com', name: 'Ada King' }] },
);
export type ReplaceUserBody = Static<typeof ReplaceUserBody>;

export const PatchUserBody = Type.Partial(ReplaceUserBody, {
  additionalProperties: false,
  examples: [{ name: 'Ada King' }, { password: 'a new long passphrase', current_password: 'correct horse battery staple' }],
});
export type PatchUserBody = Static<typeof PatchUserBody>;

export const UserListQuery = Type.Object(
  { ...OffsetPageQuery, q: Type.Optional(Type.String({ maxLength: 200, description: 'Search in username, email and name.' })) },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

export const UserPage = Type.Object(
  { items: Type.Array(UserDto), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() },
  { additionalProperties: false },
);
