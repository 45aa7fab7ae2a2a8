import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DeleteUser, GetCurrentUser, GetUser, ListUsers, PatchUser, ReplaceUser } from '../../../application/index.js';
import { principalOf } from '../authentication.js';
import { toUserDto } from '../mappers.js';
import { IdParams, bearerSecurity, problems } from '../schemas/common.js';
import { PatchUserBody, ReplaceUserBody, UserDto, UserListQuery, UserPage } from '../schemas/user-schemas.js';
import type { RouteGuards } from './route-guards.js';

export interface UserRoutesOptions {
  getCurrentUser: GetCurrentUser;
  getUser: GetUser;
  listUsers: ListUsers;
  replaceUser: ReplaceUser;
  patchUser: PatchUser;
  deleteUser: DeleteUser;
  guards: RouteGuards;
}

export const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, options) => {
  const { guards } = options;
  const protectedRoute = { onRequest: guards.authenticated, config: guards.userRateLimit } as const;
  const tags = ['users'];

  app.get(
    '/me',
    { ...protectedRoute, schema: { tags, summary: 'The current user', security: bearerSecurity, response: { 200: UserDto, ...problems(401, 429) } } },
    async (request) => toUserDto(await options.getCurrentUser.execute(principalOf(request))),
  );

  app.get(
    '/users',
    {
      ...protectedRoute,
      schema: {
        tags,
        summary: 'List users (administrators only)',
        security: bearerSecurity,
        querystring: UserListQuery,
        response: { 200: UserPage, ...problems(401, 403, 422, 429) },
      },
    },
    async (request) => {
      const { limit, offset, q } = request.query;
      const page = await options.listUsers.execute(principalOf(request), { limit, offset, q });
      return { items: page.items.map(toUserDto), total: page.total, limit, offset };
    },
  );

  app.get(
    '/users/:id',
    {
      ...protectedRoute,
      schema: { tags, summary: 'A user (yourself, or anyone for administrators)', security: bearerSecurity, params: IdParams, response: { 200: UserDto, ...problems(401, 404, 422, 429) } },
    },
    async (request) => toUserDto(await options.getUser.execute(principalOf(request), request.params.id)),
  );

  app.put(
    '/users/:id',
    {
      ...protectedRoute,
      schema: {
        tags,
        summary: 'Replace a user',
        description: 'An omitted name is cleared. Changing your own password or email needs current_password; it signs out your other sessions.',
        security: bearerSecurity,
        params: IdParams,
        body: ReplaceUserBody,
        response: { 200: UserDto, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
    },
    async (request) => toUserDto(await options.replaceUser.execute(principalOf(request), request.params.id, request.body)),
  );

  app.patch(
    '/users/:id',
    {
      ...protectedRoute,
      schema: {
        tags,
        summary: 'Change some fields of a user',
        description: 'Changing your own password or email needs current_password; it signs out your other sessions.',
        security: bearerSecurity,
        params: IdParams,
        body: PatchUserBody,
        response: { 200: UserDto, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
    },
    async (request) => toUserDto(await options.patchUser.execute(principalOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/users/:id',
    {
      ...protectedRoute,
      schema: {
        tags,
        summary: 'Delete a user and all their tasks',
        security: bearerSecurity,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted.' }, ...problems(401, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      await options.deleteUser.execute(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
