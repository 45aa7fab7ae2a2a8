export * from './attachment-events.js';
export * from './attachment-settings.js';
export * from './blob-garbage-jobs.js';
export * from './delete-attachment.js';
export * from './purge-blob-garbage.js';
export * from './read-attachments.js';
export * from './upload-attachment.js';
