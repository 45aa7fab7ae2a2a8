import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { CreateTask, DeleteTask, GetTask, ListTasks, PatchTask, ReplaceTask } from '../../../application/index.js';
import type { Task } from '../../../domain/index.js';
import { principalOf } from '../authentication.js';
import { etagOf, expectedVersions, noneMatchHits } from '../etag.js';
import { needs } from '../route-access.js';
import { IdParams, problems } from '../schemas/common.js';
import {
  ConditionalReadHeaders,
  ConditionalWriteHeaders,
  CreateTaskBody,
  CreateTaskHeaders,
  DEFAULT_PAGE_SIZE,
  PatchTaskBody,
  ReplaceTaskBody,
  TaskDto,
  TaskListQuery,
  TaskPage,
} from '../schemas/task-schemas.js';
import { TaskJson } from '../task-json.js';
import { fromTaskBody, fromTaskPatch } from '../task-mappers.js';
import type { RouteGuards } from './route-guards.js';

export interface TaskRoutesOptions {
  createTask: CreateTask;
  getTask: GetTask;
  listTasks: ListTasks;
  replaceTask: ReplaceTask;
  patchTask: PatchTask;
  deleteTask: DeleteTask;
  guards: RouteGuards;
}

/** JSON written already (see TaskJson): Fastify sends a string as it is, past the serializer. */
const sendJson = (reply: FastifyReply, json: string) => reply.type('application/json; charset=utf-8').send(json);

const splitCommas = (values: string[] | undefined) => values?.flatMap((value) => value.split(','));

export const taskRoutes: FastifyPluginAsyncTypebox<TaskRoutesOptions> = async (app, options) => {
  const { guards } = options;
  // Task JSON is written once per task version; the response schemas below document what it is.
  const taskJson = new TaskJson();
  /** Every task response names its version, so a client can make its next write conditional. */
  const sendTask = (reply: FastifyReply, task: Task) => sendJson(reply.header('etag', etagOf(task.version)), taskJson.of(task));
  const perUser = guards.userRateLimit;
  const tags = ['tasks'];

  app.post(
    '/tasks',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Create a task',
        description:
          'With an Idempotency-Key, a retry within 24 hours returns the first response (status, Location, ETag, body) and creates nothing; ' +
          'the same key with another body is a 422, and while the first request runs a 409. A request that fails with a 4xx does not use up its key.',
        headers: CreateTaskHeaders,
        body: CreateTaskBody,
        response: { 201: TaskDto, ...problems(400, 401, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const { task, replayed } = await options.createTask.execute(principalOf(request), fromTaskBody(request.body), request.headers['idempotency-key']);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return sendTask(reply.code(201).header('location', `/tasks/${task.id}`), task);
    },
  );

  app.get(
    '/tasks',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'List your tasks',
        description:
          'Offset (limit/offset) or keyset (cursor) pagination; next_cursor is given for both and is null on the last page. ' +
          'A cursor carries its sort and filters: repeating them is allowed, changing them is a 422.',
        querystring: TaskListQuery,
        response: { 200: TaskPage, ...problems(401, 422, 429) },
      },
    },
    async (request, reply) => {
      const { status, priority, limit = DEFAULT_PAGE_SIZE, ...query } = request.query;
      const page = await options.listTasks.execute(principalOf(request), { ...query, limit, status: splitCommas(status), priority: splitCommas(priority) });
      return sendJson(reply, taskJson.page(page));
    },
  );

  app.get(
    '/tasks/:id',
    {
      config: { ...perUser, access: needs('tasks:read') },
      schema: {
        tags,
        summary: 'One of your tasks',
        description: 'With If-None-Match naming the current ETag, 304 and no body.',
        params: IdParams,
        headers: ConditionalReadHeaders,
        response: { 200: TaskDto, 304: { type: 'null', description: 'Not modified.' }, ...problems(401, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      const task = await options.getTask.execute(principalOf(request), request.params.id);
      if (noneMatchHits(request.headers['if-none-match'], task.version)) return reply.code(304).header('etag', etagOf(task.version)).send();
      return sendTask(reply, task);
    },
  );

  app.put(
    '/tasks/:id',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Replace a task',
        description: 'Every writable field; omitted optional fields return to their defaults. If-Match with a stale ETag: 412, nothing written.',
        params: IdParams,
        headers: ConditionalWriteHeaders,
        body: ReplaceTaskBody,
        response: { 200: TaskDto, ...problems(400, 401, 404, 412, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const expected = expectedVersions(request.headers['if-match']);
      return sendTask(reply, await options.replaceTask.execute(principalOf(request), request.params.id, fromTaskBody(request.body), expected));
    },
  );

  app.patch(
    '/tasks/:id',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Change some fields of a task',
        description:
          'application/json or application/merge-patch+json. null clears due_date; null elsewhere is a 422. ' +
          'A patch that changes nothing (even {}) answers 200 and keeps the version. If-Match with a stale ETag: 412, nothing written.',
        consumes: ['application/merge-patch+json', 'application/json'],
        params: IdParams,
        headers: ConditionalWriteHeaders,
        body: PatchTaskBody,
        response: { 200: TaskDto, ...problems(400, 401, 404, 412, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const expected = expectedVersions(request.headers['if-match']);
      return sendTask(reply, await options.patchTask.execute(principalOf(request), request.params.id, fromTaskPatch(request.body), expected));
    },
  );

  app.delete(
    '/tasks/:id',
    {
      config: { ...perUser, access: needs('tasks:write') },
      schema: {
        tags,
        summary: 'Delete a task',
        description: 'If-Match with a stale ETag: 412, nothing deleted.',
        params: IdParams,
        headers: ConditionalWriteHeaders,
        response: { 204: { type: 'null', description: 'Deleted.' }, ...problems(401, 404, 412, 422, 429) },
      },
    },
    async (request, reply) => {
      await options.deleteTask.execute(principalOf(request), request.params.id, expectedVersions(request.headers['if-match']));
      return reply.code(204).send();
    },
  );
};
