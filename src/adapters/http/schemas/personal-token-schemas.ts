import { Type, type Static } from '@sinclair/typebox';
import { SCOPES, TOKEN_EXPIRY_DAYS_RULE, TOKEN_NAME_RULE } from '../../../domain/index.js';
import { Nullable, StringEnum, Timestamp } from './common.js';

const Scopes = Type.Array(StringEnum(SCOPES), {
  minItems: 1,
  maxItems: SCOPES.length * 4,
  description: 'What the token may do; admin only for administrators. Duplicates merge.',
  examples: [['tasks:read']],
});

export const CreatePersonalTokenBody = Type.Object(
  {
    // Bounds are checked again after trimming, in code points (the domain's rule).
    name: Type.String({ minLength: TOKEN_NAME_RULE.min, maxLength: TOKEN_NAME_RULE.max * 2, description: '1 to 100 characters.', examples: ['nightly backup'] }),
    scopes: Scopes,
    expires_in_days: Type.Optional(
      Nullable(Type.Integer({ minimum: TOKEN_EXPIRY_DAYS_RULE.min, maximum: TOKEN_EXPIRY_DAYS_RULE.max }), {
        description: 'Days until it stops working, 1 to 365; null or omitted: it does not expire.',
        examples: [90],
      }),
    ),
  },
  { additionalProperties: false, examples: [{ name: 'nightly backup', scopes: ['tasks:read'], expires_in_days: 90 }] },
);
export type CreatePersonalTokenBody = Static<typeof CreatePersonalTokenBody>;

export const PersonalTokenDto = Type.Object(
  {
    id: Type.Integer({ examples: [1] }),
    name: Type.String({ examples: ['nightly backup'] }),
    scopes: Type.Array(StringEnum(SCOPES)),
    created_at: Timestamp,
    expires_at: Nullable(Type.String({ format: 'date-time' })),
    last_used_at: Nullable(Type.String({ format: 'date-time' }), { description: 'To the minute.' }),
  },
  { additionalProperties: false },
);
export type PersonalTokenDto = Static<typeof PersonalTokenDto>;

export const CreatedPersonalTokenDto = Type.Object(
  {
    ...PersonalTokenDto.properties,
    token: Type.String({ description: 'The secret, shown this once: send it as Authorization: Bearer tfp_…', examples: ['tfp_3q2-7wOa…'] }),
  },
  { additionalProperties: false },
);

export const PersonalTokenList = Type.Object({ items: Type.Array(PersonalTokenDto) }, { additionalProperties: false });
