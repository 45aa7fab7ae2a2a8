import { ValidationError, parseFields } from './errors.js';
import { boundedText } from './text.js';
import { parseTaskInput, type TaskFields, type TaskInput } from './task.js';

export const GENERATION_PROMPT_RULE = { min: 1, max: 2000 } as const;
export const GENERATED_TASKS_RULE = { min: 1, max: 20, default: 5 } as const;

/** What a client asks of `POST /tasks/generate`, before validation. */
export interface GenerationInput {
  prompt: string;
  maxTasks?: number;
  /** True (the default): create the tasks; false: only return the drafts. */
  save?: boolean;
}

export interface GenerationSpec {
  prompt: string;
  maxTasks: number;
  save: boolean;
}

/** The fields a generated task may have: what a client can set on a new task, except its status and reminder. */
export type TaskDraft = Pick<TaskFields, 'title' | 'description' | 'priority' | 'dueDate' | 'tags'>;

export function parseGenerationInput(input: GenerationInput): GenerationSpec {
  return parseFields({
    prompt: () => {
      if (typeof input.prompt !== 'string') throw ValidationError.field('prompt', 'is required');
      return boundedText('prompt', input.prompt, GENERATION_PROMPT_RULE);
    },
    maxTasks: () => {
      const value = input.maxTasks ?? GENERATED_TASKS_RULE.default;
      if (!Number.isInteger(value) || value < GENERATED_TASKS_RULE.min || value > GENERATED_TASKS_RULE.max) {
        throw ValidationError.field('max_tasks', `must be a whole number from ${GENERATED_TASKS_RULE.min} to ${GENERATED_TASKS_RULE.max}`);
      }
      return value;
    },
    save: () => {
      if (input.save !== undefined && typeof input.save !== 'boolean') throw ValidationError.field('save', 'must be true or false');
      return input.save ?? true;
    },
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One proposed item as a client's task input, or null when it cannot be one. Only the draft's
 * fields are read, so whatever else the model set (an id, an owner, a status, a version) is never
 * looked at; a null stands for "not given", since models fill every field of a strict schema.
 */
function draftOf(item: unknown): TaskDraft | null {
  if (!isRecord(item) || typeof item.title !== 'string') return null;
  if (item.description != null && typeof item.description !== 'string') return null;
  // The type checks of the other fields are parseTaskInput's, as for a client's body.
  const input: TaskInput = {
    title: item.title,
    ...(item.description != null && { description: item.description as string }),
    ...(item.priority != null && { priority: item.priority as TaskInput['priority'] }),
    ...(item.due_date != null && { dueDate: item.due_date as string }),
    ...(item.tags != null && { tags: item.tags as string[] }),
  };
  try {
    const { title, description: text, priority, dueDate, tags } = parseTaskInput(input);
    return { title, description: text, priority, dueDate, tags };
  } catch (error) {
    if (error instanceof ValidationError) return null;
    throw error;
  }
}

/**
 * The drafts in a model's answer: the untrusted text is parsed here and every item held to the
 * rules of a task a client creates. Invalid items are dropped, and at most `maxTasks` kept. An
 * answer that is not JSON, or holds no valid item, yields none.
 */
export function draftsFromAnswer(content: string | null, maxTasks: number): TaskDraft[] {
  if (content === null) return [];
  let answer: unknown;
  try {
    answer = JSON.parse(content);
  } catch {
    return [];
  }
  const items = Array.isArray(answer) ? answer : isRecord(answer) && Array.isArray(answer.tasks) ? answer.tasks : [];
  const drafts: TaskDraft[] = [];
  for (const item of items) {
    if (drafts.length === maxTasks) break;
    const draft = draftOf(item);
    if (draft) drafts.push(draft);
  }
  return drafts;
}
