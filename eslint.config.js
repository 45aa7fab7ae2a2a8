// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The core (domain, application) imports only its own modules: no framework, driver, validator or
 * Node built-in — TypeBox, Ajv, helmet, @fastify/*, fastify, knex, pg, sqlite3, better-sqlite3,
 * argon2, tsyringe, ioredis, and whatever package comes next. Every import that is not a relative
 * path (starting with a dot) is one of those, so that is the rule.
 */
const PACKAGE = '^[^.]';
const packageImports = (layer) => ({
  regex: PACKAGE,
  message: `${layer} imports no packages or Node built-ins (frameworks, drivers, validators): only its own and inner layers' modules.`,
});

/** The same rule for the forms an import can take that no-restricted-imports does not see. */
const noPackageImportSyntax = (layer) => [
  'error',
  { selector: `ImportExpression[source.value=/${PACKAGE}/]`, message: `${layer} imports no packages, not even dynamically.` },
  { selector: `TSImportType[source.value=/${PACKAGE}/]`, message: `${layer} refers to no package's types.` },
];

const databaseLayer = {
  group: ['knex', 'knex/*', 'pg', 'pg/*', 'better-sqlite3', 'sqlite3', '**/adapters/persistence/**'],
  message: 'src/adapters/http must not depend on the database layer; inject what it needs.',
};

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
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/application/**', '**/adapters/**', '**/infrastructure/**'], message: 'src/domain imports nothing outside itself.' },
          packageImports('src/domain'),
        ],
      }],
      'no-restricted-syntax': noPackageImportSyntax('src/domain'),
    },
  },
  {
    // Use cases see only the domain and the ports they declare.
    files: ['src/application/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/adapters/**', '**/infrastructure/**'], message: 'src/application depends only on the domain and its own ports.' },
          packageImports('src/application'),
        ],
      }],
      'no-restricted-syntax': noPackageImportSyntax('src/application'),
    },
  },
  {
    // The HTTP adapter speaks to persistence only through use cases and injected functions.
    files: ['src/adapters/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [databaseLayer] }],
    },
  },
  {
    // The web client is a client of the HTTP API like any other: it reaches the service only
    // through web/src/api (typed from the OpenAPI document), and runs in a browser.
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '^(\\.\\./){2,}(src|tests|scripts|migrations)(/|$)', message: 'web/ never imports the service\'s code: use the API client in web/src/api.' },
          { regex: '^node:', message: 'web/ runs in a browser: no Node built-ins.' },
        ],
      }],
    },
  },
  {
    // Route plugins get their use cases through plugin options; they never reach into the
    // composition root, its configuration or its container.
    files: ['src/adapters/http/routes/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [databaseLayer, { group: ['**/infrastructure/**'], message: 'Routes must not import src/infrastructure; take what they need as plugin options.' }],
      }],
    },
  },
);
