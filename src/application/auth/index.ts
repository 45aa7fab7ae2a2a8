export * from './authenticate.js';
export * from './login.js';
export * from './logout.js';
export * from './refresh-session.js';
export * from './token-pair.js';
export * from './login-session.js';
export * from './purge-ended-sessions.js';
