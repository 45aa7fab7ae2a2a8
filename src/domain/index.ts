export * from './errors.js';
export * from './text.js';
export * from './user.js';
export * from './task.js';
export * from './scope.js';
export * from './personal-access-token.js';
export * from './event-ticket.js';
export * from './export.js';
