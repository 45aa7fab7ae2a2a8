export * from './export-events.js';
export * from './export-jobs.js';
export * from './expire-exports.js';
export * from './read-exports.js';
export * from './request-export.js';
export * from './run-export.js';
