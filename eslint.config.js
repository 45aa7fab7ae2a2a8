// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const frameworks = ['fastify', '@fastify/*', 'knex', 'pg', 'better-sqlite3', 'argon2', 'tsyringe', 'ioredis', 'fast-jwt', 'pino', 'prom-client', 'node:*'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The hexagon's rule: the domain depends on nothing outside itself.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/application/**', '**/adapters/**', '**/infrastructure/**'], message: 'src/domain imports nothing outside itself.' },
          { group: frameworks, message: 'src/domain must not depend on frameworks or drivers.' },
        ],
      }],
    },
  },
  {
    // The HTTP adapter speaks to persistence only through use cases and injected functions.
    files: ['src/adapters/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['knex', 'pg', 'better-sqlite3', '**/adapters/persistence/**'], message: 'src/adapters/http must not depend on the database layer; inject what it needs.' },
        ],
      }],
    },
  },
  {
    // Use cases see only the domain and the ports they declare.
    files: ['src/application/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/adapters/**', '**/infrastructure/**'], message: 'src/application depends only on the domain and its own ports.' },
          { group: frameworks, message: 'src/application must not depend on frameworks or drivers.' },
        ],
      }],
    },
  },
);
