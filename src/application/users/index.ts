export * from './create-admin.js';
export * from './delete-user.js';
export * from './get-user.js';
export * from './list-users.js';
export * from './register-user.js';
export * from './update-user.js';
