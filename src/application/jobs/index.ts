export * from './housekeeping.js';
export * from './queues.js';
