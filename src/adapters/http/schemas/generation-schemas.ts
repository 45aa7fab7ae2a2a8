import { Type, type Static } from '@sinclair/typebox';
import { GENERATED_TASKS_RULE, GENERATION_PROMPT_RULE, TASK_PRIORITIES } from '../../../domain/index.js';
import { Nullable, StringEnum, Timestamp } from './common.js';
import { TaskDto } from './task-schemas.js';

export const GenerateTasksBody = Type.Object(
  {
    prompt: Type.String({
      minLength: GENERATION_PROMPT_RULE.min,
      maxLength: GENERATION_PROMPT_RULE.max,
      description: 'The goal, in the user\'s words: 1 to 2,000 characters after trimming. Sent to the model as the user\'s message, never as instructions.',
    }),
    max_tasks: Type.Optional(
      Type.Integer({
        minimum: GENERATED_TASKS_RULE.min,
        maximum: GENERATED_TASKS_RULE.max,
        default: GENERATED_TASKS_RULE.default,
        description: `At most this many tasks are kept (default ${GENERATED_TASKS_RULE.default}).`,
      }),
    ),
    save: Type.Optional(Type.Boolean({ default: true, description: 'true (default): create the tasks (201); false: only return drafts (200), storing nothing.' })),
  },
  {
    additionalProperties: false,
    examples: [
      { prompt: 'Plan a birthday party for Saturday: guests, food, music', max_tasks: 5 },
      { prompt: 'Prepare for a job interview next Tuesday', save: false },
    ],
  },
);
export type GenerateTasksBody = Static<typeof GenerateTasksBody>;

export const TaskDraftDto = Type.Object(
  {
    title: Type.String(),
    description: Type.String(),
    priority: StringEnum(TASK_PRIORITIES),
    due_date: Nullable(Timestamp),
    tags: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type TaskDraftDto = Static<typeof TaskDraftDto>;

export const GeneratedTasks = Type.Object(
  { items: Type.Array(TaskDto) },
  {
    additionalProperties: false,
    description: 'The tasks created, each a normal task of yours with its task.created event.',
    examples: [
      {
        items: [
          {
            id: 101,
            user_id: 7,
            title: 'Send the invitations',
            description: 'By Wednesday, so people can plan.',
            status: 'todo',
            completed: false,
            priority: 'high',
            due_date: '2026-12-09T18:00:00.000Z',
            remind_at: null,
            tags: ['party'],
            completed_at: null,
            created_at: '2026-12-06T10:00:00.000Z',
            updated_at: '2026-12-06T10:00:00.000Z',
            version: 1,
          },
        ],
      },
    ],
  },
);

export const TaskDrafts = Type.Object(
  { items: Type.Array(TaskDraftDto) },
  {
    additionalProperties: false,
    description: 'Proposed tasks; nothing was stored.',
    examples: [
      {
        items: [
          { title: 'Research the company', description: 'Products, news, the team.', priority: 'high', due_date: '2026-12-14T18:00:00.000Z', tags: ['interview'] },
          { title: 'Prepare answers to common questions', description: '', priority: 'medium', due_date: null, tags: ['interview'] },
        ],
      },
    ],
  },
);
