export * from './clock.js';
export * from './event-publisher.js';
export * from './id-generator.js';
export * from './password-hasher.js';
export * from './session-repository.js';
export * from './token-service.js';
export * from './user-repository.js';
