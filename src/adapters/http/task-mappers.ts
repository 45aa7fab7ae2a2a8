import { isCompleted, type Task, type TaskDraft, type TaskInput, type TaskPatch } from '../../domain/index.js';
import { formatUtc } from '../shared/utc-timestamps.js';
import type { CreateTaskBody, PatchTaskBody, TaskDto } from './schemas/task-schemas.js';
import type { TaskDraftDto } from './schemas/generation-schemas.js';

/** A whitelist: a new column on tasks can never leak into a response by accident. */
export const toTaskDto = (task: Task): TaskDto => ({
  id: task.id,
  user_id: task.userId,
  title: task.title,
  description: task.description,
  status: task.status,
  completed: isCompleted(task.status),
  priority: task.priority,
  due_date: task.dueDate ? formatUtc(task.dueDate) : null,
  remind_at: task.remindAt ? formatUtc(task.remindAt) : null,
  tags: task.tags,
  completed_at: task.completedAt ? formatUtc(task.completedAt) : null,
  created_at: formatUtc(task.createdAt),
  updated_at: formatUtc(task.updatedAt),
  version: task.version,
});

export const fromTaskBody = (body: CreateTaskBody): TaskInput => ({ ...fromTaskPatch(body), title: body.title });

/** Only the fields present: absent and null mean different things in a merge patch. */
export function fromTaskPatch(body: PatchTaskBody): TaskPatch {
  const patch: TaskPatch = {};
  if (body.title !== undefined) patch.title = body.title;
  if (body.description !== undefined) patch.description = body.description;
  if (body.status !== undefined) patch.status = body.status;
  if (body.completed !== undefined) patch.completed = body.completed;
  if (body.priority !== undefined) patch.priority = body.priority;
  if (body.due_date !== undefined) patch.dueDate = body.due_date;
  if (body.remind_at !== undefined) patch.remindAt = body.remind_at;
  if (body.tags !== undefined) patch.tags = body.tags;
  return patch;
}

export const toTaskDraftDto = (draft: TaskDraft): TaskDraftDto => ({
  title: draft.title,
  description: draft.description,
  priority: draft.priority,
  due_date: draft.dueDate ? formatUtc(draft.dueDate) : null,
  tags: draft.tags,
});
