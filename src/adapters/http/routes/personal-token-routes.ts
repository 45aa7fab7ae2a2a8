import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CreatePersonalAccessToken, ListPersonalAccessTokens, RevokePersonalAccessToken } from '../../../application/index.js';
import type { PersonalAccessToken } from '../../../domain/index.js';
import { formatUtc } from '../../shared/utc-timestamps.js';
import { principalOf } from '../authentication.js';
import { needs } from '../route-access.js';
import { IdParams, problems } from '../schemas/common.js';
import { CreatePersonalTokenBody, CreatedPersonalTokenDto, PersonalTokenList, type PersonalTokenDto } from '../schemas/personal-token-schemas.js';
import type { RouteGuards } from './route-guards.js';

export interface PersonalTokenRoutesOptions {
  createPersonalAccessToken: CreatePersonalAccessToken;
  listPersonalAccessTokens: ListPersonalAccessTokens;
  revokePersonalAccessToken: RevokePersonalAccessToken;
  guards: RouteGuards;
}

/** A whitelist: never the digest. */
const toPersonalTokenDto = (token: PersonalAccessToken): PersonalTokenDto => ({
  id: token.id,
  name: token.name,
  scopes: token.scopes,
  created_at: formatUtc(token.createdAt),
  expires_at: token.expiresAt && formatUtc(token.expiresAt),
  last_used_at: token.lastUsedAt && formatUtc(token.lastUsedAt),
});

export const personalTokenRoutes: FastifyPluginAsyncTypebox<PersonalTokenRoutesOptions> = async (app, options) => {
  // A stolen personal access token must not be able to mint, list or revoke others.
  const access = { config: { ...options.guards.userRateLimit, access: needs('profile', { loginSession: true }) } };
  const tags = ['tokens'];

  app.post(
    '/me/tokens',
    {
      ...access,
      schema: {
        tags,
        summary: 'Create a personal access token',
        description: 'The token is in this response only; the server keeps just a hash of it.',
        body: CreatePersonalTokenBody,
        response: { 201: CreatedPersonalTokenDto, ...problems(400, 401, 403, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const { name, scopes, expires_in_days: expiresInDays } = request.body;
      const created = await options.createPersonalAccessToken.execute(principalOf(request), { name, scopes, expiresInDays });
      return reply.code(201).send({ ...toPersonalTokenDto(created.token), token: created.secret });
    },
  );

  app.get(
    '/me/tokens',
    { ...access, schema: { tags, summary: 'Your personal access tokens, newest first', response: { 200: PersonalTokenList, ...problems(401, 403, 429) } } },
    async (request) => ({ items: (await options.listPersonalAccessTokens.execute(principalOf(request))).map(toPersonalTokenDto) }),
  );

  app.delete(
    '/me/tokens/:id',
    {
      ...access,
      schema: {
        tags,
        summary: 'Revoke a personal access token',
        description: 'From the next request on, on every instance, the token is refused.',
        params: IdParams,
        response: { 204: { type: 'null', description: 'Revoked.' }, ...problems(401, 403, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      await options.revokePersonalAccessToken.execute(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
