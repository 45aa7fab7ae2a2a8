export * from './personal-access-tokens.js';
