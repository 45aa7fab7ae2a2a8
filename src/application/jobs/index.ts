export * from './fire-due-reminders.js';
export * from './fire-reminder.js';
export * from './housekeeping.js';
export * from './queues.js';
export * from './reminder-job.js';
export * from './reminder-scheduler.js';
