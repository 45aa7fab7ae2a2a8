import { Type, type Static } from '@sinclair/typebox';
import { SCOPES } from '../../../domain/index.js';

const Secret = Type.String({ minLength: 1, maxLength: 1024 });

/** OAuth2 `scope` (RFC 6749 §3.3): checked by the login itself, so a bad one is a 400, not a 422. */
const ScopeParameter = Type.String({
  maxLength: 1024,
  description: `Space-separated scopes to grant (${SCOPES.join(', ')}); omitted or blank: every scope you may hold.`,
  examples: ['tasks:read tasks:write'],
});

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 254, description: 'The username or the email address.', examples: ['ada_l'] }),
    password: Type.String({ ...Secret, examples: ['correct horse battery staple'] }),
    scope: Type.Optional(ScopeParameter),
    refresh_cookie: Type.Optional(
      Type.Boolean({
        description:
          'For the web client: true sets the refresh token as an HttpOnly, SameSite=Strict cookie limited to POST /refresh (Secure over HTTPS), lasting as long as the refresh token, instead of returning it in the body. Omitted or false: refresh_token is in the body and no cookie is set.',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ username: 'ada_l', password: 'correct horse battery staple' }] },
);
export type LoginBody = Static<typeof LoginBody>;

/** OAuth2 resource-owner password grant, as Swagger UI's Authorize dialog sends it. */
export const TokenForm = Type.Object(
  {
    username: LoginBody.properties.username,
    password: LoginBody.properties.password,
    grant_type: Type.Optional(Type.Literal('password')),
    scope: LoginBody.properties.scope,
    client_id: Type.Optional(Type.String({ maxLength: 1024 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false, examples: [{ grant_type: 'password', username: 'ada_l', password: 'correct horse battery staple' }] },
);
export type TokenForm = Static<typeof TokenForm>;

export const RefreshBody = Type.Object(
  {
    refresh_token: Type.Optional(
      Type.String({ ...Secret, description: 'Required unless the request carries the refresh cookie set at login with refresh_cookie: true.', examples: ['kJ3v0Zl4…'] }),
    ),
  },
  { additionalProperties: false, examples: [{ refresh_token: 'kJ3v0Zl4…' }] },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const TokenPairDto = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.', examples: [900] }),
    refresh_token: Type.Optional(
      Type.String({ description: 'Single use; exchange it at POST /refresh. Absent when it was set as the refresh cookie instead (refresh_cookie at login).' }),
    ),
    scope: Type.String({ description: 'The scopes granted, space-separated.', examples: ['tasks:read tasks:write profile'] }),
  },
  { additionalProperties: false },
);
