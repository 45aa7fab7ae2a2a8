import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { Type } from '@sinclair/typebox';
import { IdParams } from '../../src/adapters/http/schemas/common.js';
import {
  ConditionalReadHeaders,
  ConditionalWriteHeaders,
  CreateTaskBody,
  CreateTaskHeaders,
  PatchTaskBody,
  ReplaceTaskBody,
  TaskDto,
  TaskListQuery,
  TaskPage,
} from '../../src/adapters/http/schemas/task-schemas.js';
import { HmacCursorCodec } from '../../src/adapters/security/hmac-cursor-codec.js';

export interface ReferenceTaskOptions {
  authenticated: onRequestAsyncHookHandler;
  cursorSecret: string;
}

/** Tasks as they would be sent, keyed by id; per user, ids in creation order. */
const tasks = new Map<number, TaskDto>();
const byUser = new Map<number, number[]>();
let nextId = 1;

const callerOf = (request: FastifyRequest): number => request.caller!.userId;
const notFound = () => Object.assign(new Error('No such task.'), { statusCode: 404 });

function fields(body: CreateTaskBody, now: string, previous?: TaskDto) {
  const status = body.status ?? (body.completed === undefined ? 'todo' : body.completed ? 'done' : 'todo');
  return {
    title: body.title,
    description: body.description ?? '',
    status,
    completed: status === 'done',
    priority: body.priority ?? 'medium',
    due_date: body.due_date ? new Date(body.due_date).toISOString() : null,
    remind_at: body.remind_at ? new Date(body.remind_at).toISOString() : null,
    tags: [...new Set(body.tags ?? [])],
    completed_at: status === 'done' ? (previous?.completed_at ?? now) : null,
  };
}

/**
 * The task routes of the reference server: the service's schemas for params, headers, bodies,
 * queries and responses, the service's cursor codec, and a Map where the service has SQL.
 */
export const referenceTaskRoutes: FastifyPluginAsyncTypebox<ReferenceTaskOptions> = async (app, { authenticated, cursorSecret }) => {
  const cursors = HmacCursorCodec.fromSecret(cursorSecret);

  app.post(
    '/tasks',
    { onRequest: authenticated, schema: { headers: CreateTaskHeaders, body: CreateTaskBody, response: { 201: TaskDto } } },
    async (request, reply) => {
      const userId = callerOf(request);
      const now = new Date().toISOString();
      const task: TaskDto = { id: nextId++, user_id: userId, ...fields(request.body, now), created_at: now, updated_at: now, version: 1 };
      tasks.set(task.id, task);
      let own = byUser.get(userId);
      if (!own) byUser.set(userId, (own = []));
      own.push(task.id);
      return reply.code(201).header('location', `/tasks/${task.id}`).header('etag', `"${task.version}"`).send(task);
    },
  );

  app.get(
    '/tasks',
    { onRequest: authenticated, schema: { querystring: TaskListQuery, response: { 200: TaskPage } } },
    async (request) => {
      const userId = callerOf(request);
      const limit = request.query.limit ?? 20;
      const offset = request.query.offset ?? 0;
      const own = byUser.get(userId) ?? [];
      // Default sort, -created_at then -id: newest first.
      const items: TaskDto[] = [];
      for (let i = own.length - 1 - offset; i >= 0 && items.length < limit; i--) items.push(tasks.get(own[i]!)!);
      const last = items.at(-1);
      const more = own.length > offset + items.length;
      const next_cursor = more && last ? cursors.encode({ u: userId, s: '-created_at', f: {}, k: [last.created_at, last.id] }) : null;
      return { items, total: own.length, limit, offset, next_cursor };
    },
  );

  app.get(
    '/tasks/:id',
    { onRequest: authenticated, schema: { params: IdParams, headers: ConditionalReadHeaders, response: { 200: TaskDto, 304: Type.Null() } } },
    async (request, reply) => {
      const task = tasks.get(request.params.id);
      if (!task || task.user_id !== callerOf(request)) throw notFound();
      const etag = `"${task.version}"`;
      if (request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send(null);
      return reply.header('etag', etag).send(task);
    },
  );

  app.put(
    '/tasks/:id',
    {
      onRequest: authenticated,
      schema: { params: IdParams, headers: ConditionalWriteHeaders, body: ReplaceTaskBody, response: { 200: TaskDto } },
    },
    async (request, reply) => {
      const task = tasks.get(request.params.id);
      if (!task || task.user_id !== callerOf(request)) throw notFound();
      const now = new Date().toISOString();
      const next: TaskDto = { ...task, ...fields(request.body, now, task), updated_at: now, version: task.version + 1 };
      tasks.set(next.id, next);
      return reply.header('etag', `"${next.version}"`).send(next);
    },
  );

  app.patch(
    '/tasks/:id',
    {
      onRequest: authenticated,
      schema: { params: IdParams, headers: ConditionalWriteHeaders, body: PatchTaskBody, response: { 200: TaskDto } },
    },
    async (request, reply) => {
      const task = tasks.get(request.params.id);
      if (!task || task.user_id !== callerOf(request)) throw notFound();
      const patch = request.body;
      const status = patch.status ?? (patch.completed === undefined ? task.status : patch.completed ? 'done' : 'todo');
      const merged = {
        title: patch.title ?? task.title,
        description: patch.description ?? task.description,
        status,
        priority: patch.priority ?? task.priority,
        due_date: patch.due_date === undefined ? task.due_date : patch.due_date === null ? null : new Date(patch.due_date).toISOString(),
        tags: patch.tags === undefined ? task.tags : [...new Set(patch.tags)],
      };
      // As the service does: a patch that changes nothing keeps the version and stores nothing.
      const changed = (Object.keys(merged) as Array<keyof typeof merged>).some((key) =>
        key === 'tags' ? merged.tags.join('\u0000') !== task.tags.join('\u0000') : merged[key] !== task[key],
      );
      if (!changed) return reply.header('etag', `"${task.version}"`).send(task);
      const now = new Date().toISOString();
      const next: TaskDto = {
        ...task,
        ...merged,
        completed: status === 'done',
        completed_at: status === 'done' ? (task.completed_at ?? now) : null,
        updated_at: now,
        version: task.version + 1,
      };
      tasks.set(next.id, next);
      return reply.header('etag', `"${next.version}"`).send(next);
    },
  );
};
