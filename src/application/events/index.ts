export * from './event-tickets.js';
export * from './live-events.js';
