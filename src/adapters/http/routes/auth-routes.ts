import formBody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Login, Logout, RefreshSession, RegisterUser, TokenPair } from '../../../application/index.js';
import { ValidationError } from '../../../domain/index.js';
import { principalOf } from '../authentication.js';
import { toUserDto } from '../mappers.js';
import { clearRefreshCookie, refreshCookieOf, setRefreshCookie } from '../refresh-cookie.js';
import { PUBLIC, needs } from '../route-access.js';
import { problems } from '../schemas/common.js';
import { LoginBody, RefreshBody, TokenForm, TokenPairDto } from '../schemas/auth-schemas.js';
import { RegisterBody, UserDto } from '../schemas/user-schemas.js';
import type { RouteGuards } from './route-guards.js';

export interface AuthRoutesOptions {
  registerUser: RegisterUser;
  login: Login;
  refreshSession: RefreshSession;
  logout: Logout;
  guards: RouteGuards;
}

const toTokenPairDto = (pair: TokenPair) => ({
  access_token: pair.accessToken,
  token_type: pair.tokenType,
  expires_in: pair.expiresIn,
  refresh_token: pair.refreshToken,
  scope: pair.scopes.join(' '),
});

/** The web client's form of the pair: the refresh token goes into the cookie, never into the body its script reads. */
function withRefreshCookie(request: FastifyRequest, reply: FastifyReply, pair: TokenPair) {
  setRefreshCookie(request, reply, pair.refreshToken, pair.refreshExpiresIn);
  const { refresh_token: _inCookie, ...body } = toTokenPairDto(pair);
  return body;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { registerUser, login, refreshSession, logout, guards }) => {
  const signUp = {
    schema: {
      tags: ['auth'],
      summary: 'Sign up',
      body: RegisterBody,
      response: { 201: UserDto, ...problems(400, 409, 413, 415, 422, 429) },
    },
    config: { ...guards.authRateLimit, access: PUBLIC },
  } as const;

  for (const url of ['/register', '/users']) {
    app.post(url, signUp, async (request, reply) => {
      const user = await registerUser.execute(request.body);
      return reply.code(201).header('location', `/users/${user.id}`).send(toUserDto(user));
    });
  }

  app.post(
    '/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with a username or email',
        description: 'scope (optional, space-separated) limits what the tokens may do; without it they get every scope you may hold. An unknown scope, or admin for a non-administrator: 400.',
        body: LoginBody,
        response: { 200: TokenPairDto, ...problems(400, 401, 415, 422, 429) },
      },
      config: { ...guards.authRateLimit, access: PUBLIC },
    },
    async (request, reply) => {
      const pair = await login.execute({ login: request.body.username, password: request.body.password, scope: request.body.scope });
      return request.body.refresh_cookie === true ? withRefreshCookie(request, reply, pair) : toTokenPairDto(pair);
    },
  );

  // The OAuth2 password flow wants a form body; only this route accepts one.
  await app.register(async (tokenScope) => {
    await tokenScope.register(formBody);
    tokenScope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/token',
      {
        schema: {
          tags: ['auth'],
          summary: 'Log in (OAuth2 password flow, used by the docs page)',
          consumes: ['application/x-www-form-urlencoded'],
          body: TokenForm,
          response: { 200: TokenPairDto, ...problems(400, 401, 415, 422, 429) },
        },
        config: { ...guards.authRateLimit, access: PUBLIC },
      },
      async (request) => toTokenPairDto(await login.execute({ login: request.body.username, password: request.body.password, scope: request.body.scope })),
    );
  });

  app.post(
    '/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new token pair',
        description:
          'Refresh tokens are single use: presenting a used one revokes the whole login session. The new tokens keep the scopes of the login. ' +
          'Without refresh_token in the body, the refresh cookie set at login (refresh_cookie: true) is used, and the new refresh token replaces it in the cookie; a refused cookie is cleared.',
        body: RefreshBody,
        response: { 200: TokenPairDto, ...problems(400, 401, 415, 422, 429) },
      },
      config: { ...guards.authRateLimit, access: PUBLIC },
    },
    async (request, reply) => {
      const inBody = request.body.refresh_token;
      if (inBody !== undefined) return toTokenPairDto(await refreshSession.execute(inBody));
      const inCookie = refreshCookieOf(request);
      if (inCookie === null) throw ValidationError.field('refresh_token', 'is required (or the refresh cookie set at login)');
      try {
        return withRefreshCookie(request, reply, await refreshSession.execute(inCookie));
      } catch (error) {
        clearRefreshCookie(request, reply);
        throw error;
      }
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'End this login session',
        description: 'Also clears the web client\'s refresh cookie.',
        response: { 204: { type: 'null', description: 'Logged out.' }, ...problems(401, 429) },
      },
      // Any login session may end itself, whatever it was granted.
      config: { ...guards.userRateLimit, access: needs(null, { loginSession: true }) },
    },
    async (request, reply) => {
      await logout.execute(principalOf(request));
      // The web client's refresh token is in a cookie its script cannot delete.
      clearRefreshCookie(request, reply);
      return reply.code(204).send();
    },
  );
};
