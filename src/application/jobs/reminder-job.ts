import { ValidationError, parseDueDate } from '../../domain/index.js';
import { JobRefusedError, type JobOptions, type JobPayload } from '../ports/index.js';

import { JOB_QUEUES } from './queues.js';

/** The queue reminder jobs run on. */
export const REMINDERS_QUEUE = JOB_QUEUES.reminders;

/** One reminder of one task: the task's owner, the task, and the remind_at it is for. */
export interface Reminder {
  userId: number;
  taskId: number;
  remindAt: Date;
}

/**
 * The job's key names the task and the time, so a job for a time the task no longer has is told
 * apart from the current one: rescheduling cancels the old key, and enqueueing the new one is
 * never swallowed by the old one still running or kept as failed.
 */
export const reminderJobKey = (taskId: number, remindAt: Date): string => `reminder-${taskId}-${remindAt.getTime()}`;

/** The job that fires `reminder`, at its time. */
export function reminderJob(reminder: Reminder): { payload: JobPayload; options: Required<JobOptions> } {
  const { userId, taskId, remindAt } = reminder;
  return {
    payload: { userId, taskId, remindAt: remindAt.toISOString() },
    options: { key: reminderJobKey(taskId, remindAt), runAt: remindAt },
  };
}

const isId = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/** A reminder job's payload, checked: one that is not a reminder can never succeed and is refused. */
export function parseReminderPayload(payload: unknown): Reminder {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new JobRefusedError('a reminder job carries an object');
  const { userId, taskId, remindAt } = payload as Record<string, unknown>;
  if (!isId(userId) || !isId(taskId)) throw new JobRefusedError('a reminder job names its user and task by positive integer ids');
  if (typeof remindAt !== 'string') throw new JobRefusedError('a reminder job carries remindAt as an RFC 3339 date-time');
  try {
    return { userId, taskId, remindAt: parseDueDate(remindAt, 'remindAt')! };
  } catch (error) {
    if (error instanceof ValidationError) throw new JobRefusedError(`a reminder job's remindAt ${error.fieldErrors[0]?.message ?? 'is invalid'}`);
    throw error;
  }
}
