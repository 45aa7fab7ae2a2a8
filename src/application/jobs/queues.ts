/** The job queues, named by the kind of work they carry. */
export const JOB_QUEUES = {
  /** Builds an export file: payload `{ exportId, userId }`. */
  exports: 'exports',
  /** Fires one task's reminder at its time: payload `{ userId, taskId, remindAt }`. */
  reminders: 'reminders',
  /** The chores of Housekeeping, on schedules: payload `{ chore }`. */
  housekeeping: 'housekeeping',
} as const;

export type JobQueueName = (typeof JOB_QUEUES)[keyof typeof JOB_QUEUES];

export const JOB_QUEUE_NAMES: readonly JobQueueName[] = Object.values(JOB_QUEUES);
