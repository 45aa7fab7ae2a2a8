export * from './personal-access-tokens.js';
export * from './purge-expired-personal-access-tokens.js';
