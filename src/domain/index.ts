export * from './errors.js';
export * from './text.js';
export * from './user.js';
export * from './task.js';
