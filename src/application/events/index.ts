export * from './event-tickets.js';
export * from './live-events.js';
export * from './purge-expired-events.js';
export * from './sync-tasks.js';
