import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DeleteUser, GetCurrentUser, GetUser, ListUsers, PatchUser, ReplaceUser } from '../../../application/index.js';
import { principalOf } from '../authentication.js';
import { toUserDto } from '../mappers.js';
import { needs } from '../route-access.js';
import { IdParams, problems } from '../schemas/common.js';
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
  const perUser = guards.userRateLimit;
  const tags = ['users'];

  app.get(
    '/me',
    { config: { ...perUser, access: needs('profile') }, schema: { tags, summary: 'The current user', response: { 200: UserDto, ...problems(401, 429) } } },
    async (request) => toUserDto(await options.getCurrentUser.execute(principalOf(request))),
  );

  app.get(
    '/users',
    {
      config: { ...perUser, access: needs('admin') },
      schema: {
        tags,
        summary: 'List users (administrators only)',
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
      config: { ...perUser, access: needs('profile') },
      schema: { tags, summary: 'A user (yourself, or anyone for administrators with the admin scope)', params: IdParams, response: { 200: UserDto, ...problems(401, 404, 422, 429) } },
    },
    async (request) => toUserDto(await options.getUser.execute(principalOf(request), request.params.id)),
  );

  app.put(
    '/users/:id',
    {
      config: { ...perUser, access: needs('profile') },
      schema: {
        tags,
        summary: 'Replace a user',
        description:
          'An omitted name is cleared. Changing your own password or email needs current_password; it signs out your other sessions. ' +
          'Password and email changes need a login session (a personal access token gets 403); acting on another account needs the admin scope.',
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
      config: { ...perUser, access: needs('profile') },
      schema: {
        tags,
        summary: 'Change some fields of a user',
        description:
          'Changing your own password or email needs current_password; it signs out your other sessions. ' +
          'Password and email changes need a login session (a personal access token gets 403); acting on another account needs the admin scope.',
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
      config: { ...perUser, access: needs('profile') },
      schema: {
        tags,
        summary: 'Delete a user and all their tasks',
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
