export * from './auth/index.js';
export * from './ports/index.js';
export * from './users/index.js';
export * from './tasks/index.js';
export * from './tokens/index.js';
export * from './events/index.js';
export * from './jobs/index.js';
export * from './exports/index.js';
