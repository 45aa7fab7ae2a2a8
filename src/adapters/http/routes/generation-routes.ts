import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { GenerateTasks } from '../../../application/index.js';
import { principalOf } from '../authentication.js';
import { needs } from '../route-access.js';
import { problems } from '../schemas/common.js';
import { GenerateTasksBody, GeneratedTasks, TaskDrafts } from '../schemas/generation-schemas.js';
import { CreateTaskHeaders } from '../schemas/task-schemas.js';
import { toTaskDraftDto, toTaskDto } from '../task-mappers.js';
import type { RouteGuards } from './route-guards.js';

export interface GenerationRoutesOptions {
  generateTasks: GenerateTasks;
  guards: RouteGuards;
}

/**
 * Aborted when the client goes away before its answer is written, so the model call stops too:
 * nobody would read what it costs. The response's `close` comes before `finish` only then.
 */
function abortedWhenClientLeaves(reply: FastifyReply): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.once('close', onClose);
  return { signal: controller.signal, done: () => reply.raw.off('close', onClose) };
}

export const generationRoutes: FastifyPluginAsyncTypebox<GenerationRoutesOptions> = async (app, options) => {
  app.post(
    '/tasks/generate',
    {
      config: { ...options.guards.userRateLimit, access: needs('tasks:write') },
      schema: {
        tags: ['tasks'],
        summary: 'Generate tasks from a goal with an AI model',
        description:
          'The model (any OpenAI-compatible endpoint the server is configured with) proposes tasks; each is held to the rules of POST /tasks, ' +
          'fields a client could not set are dropped, and at most max_tasks are kept. With save (the default) they are created as your tasks ' +
          '(201, with an Idempotency-Key honoured as on POST /tasks); with "save": false they are only returned (200). ' +
          'An answer with no usable task, or a failing provider: 502; no answer within the server\'s AI_TIMEOUT_MS: 504; nothing is saved in either case. ' +
          'AI_RATE_LIMIT requests per user per hour: 429 with Retry-After. Without a configured model: 503.',
        headers: CreateTaskHeaders,
        body: GenerateTasksBody,
        response: { 200: TaskDrafts, 201: GeneratedTasks, ...problems(400, 401, 403, 409, 413, 415, 422, 429, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const { prompt, max_tasks: maxTasks, save } = request.body;
      const cancellation = abortedWhenClientLeaves(reply);
      try {
        const result = await options.generateTasks.execute(
          principalOf(request),
          { prompt, maxTasks, save },
          { idempotencyKey: request.headers['idempotency-key'], signal: cancellation.signal },
        );
        if (!result.saved) return reply.code(200).send({ items: result.drafts.map(toTaskDraftDto) });
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).send({ items: result.tasks.map(toTaskDto) });
      } finally {
        cancellation.done();
      }
    },
  );
};
