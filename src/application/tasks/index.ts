export * from './create-task.js';
export * from './delete-task.js';
export * from './get-task.js';
export * from './list-tasks.js';
export * from './task-access.js';
export * from './task-events.js';
export * from './task-listing.js';
export * from './update-task.js';
