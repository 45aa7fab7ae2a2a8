import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_SYNC_PAGE, MAX_SYNC_PAGE } from '../../../application/index.js';
import { TaskDto } from './task-schemas.js';

export const SyncQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'The sync_token of the previous page. Without it: a full sync.',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_SYNC_PAGE,
        default: DEFAULT_SYNC_PAGE,
        description: `The most entries in one page, tasks and tombstones together (default ${DEFAULT_SYNC_PAGE}).`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type SyncQuery = Static<typeof SyncQuery>;

export const Tombstone = Type.Object(
  {
    id: Type.Integer({ examples: [42] }),
    deleted_at: Type.String({ format: 'date-time', description: 'When the task was deleted.', examples: ['2026-11-22T10:00:00.000Z'] }),
  },
  { additionalProperties: false },
);

export const SyncPageDto = Type.Object(
  {
    tasks: Type.Array(TaskDto, { description: 'Tasks created or changed since the token, each once, in its current state.' }),
    deleted: Type.Array(Tombstone, { description: 'Tasks deleted since the token. Always empty on the first page of a full sync.' }),
    sync_token: Type.String({ description: 'Opaque, bound to you: pass it as since for the next page or the next sync.' }),
    has_more: Type.Boolean({ description: 'True: call again at once with since = sync_token.' }),
    full_sync: Type.Boolean({
      description: 'True on the first page of a full sync: replace your copy with this page\'s tasks; later pages are applied as changes.',
    }),
  },
  { additionalProperties: false },
);
export type SyncPageDto = Static<typeof SyncPageDto>;
