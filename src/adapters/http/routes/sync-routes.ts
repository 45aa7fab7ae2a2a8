import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DEFAULT_SYNC_PAGE, type SyncPage, type SyncTasks } from '../../../application/index.js';
import { formatUtc } from '../../shared/utc-timestamps.js';
import { principalOf } from '../authentication.js';
import { needs } from '../route-access.js';
import { problems } from '../schemas/common.js';
import { SyncPageDto, SyncQuery } from '../schemas/sync-schemas.js';
import { toTaskDto } from '../task-mappers.js';
import type { RouteGuards } from './route-guards.js';

export interface SyncRoutesOptions {
  syncTasks: SyncTasks;
  guards: RouteGuards;
}

const toSyncPageDto = (page: SyncPage): SyncPageDto => ({
  tasks: page.tasks.map(toTaskDto),
  deleted: page.deleted.map((tombstone) => ({ id: tombstone.id, deleted_at: formatUtc(tombstone.deletedAt) })),
  sync_token: page.syncToken,
  has_more: page.hasMore,
  full_sync: page.fullSync,
});

export const syncRoutes: FastifyPluginAsyncTypebox<SyncRoutesOptions> = async (app, options) => {
  app.get(
    '/sync',
    {
      config: { ...options.guards.userRateLimit, access: needs('tasks:read') },
      schema: {
        tags: ['sync'],
        summary: 'Bring an offline copy of your tasks up to date',
        description:
          'Without since: a full sync of your current tasks, in pages (full_sync is true on the first page; replace your copy with its tasks). ' +
          'While has_more is true, call again with since = sync_token. With since: every task created or changed after that token, once, in its ' +
          'current state, and every task deleted after it as a tombstone; a task created and deleted in between is only a tombstone. Applying ' +
          'the pages in order leaves your copy equal to the server\'s tasks, even with writes racing the sync. A sync_token of another user, ' +
          'or altered, is a 422; one older than the change history kept (EVENT_RETENTION, 7 days by default) is a 410: start a full sync again.',
        querystring: SyncQuery,
        response: { 200: SyncPageDto, ...problems(401, 410, 422, 429) },
      },
    },
    async (request) => {
      const { since, limit = DEFAULT_SYNC_PAGE } = request.query;
      return toSyncPageDto(await options.syncTasks.execute(principalOf(request), { since, limit }));
    },
  );
};
