import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });
const BOUNDARY_RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax']);

/** The boundary messages ESLint reports for `code` placed at `filePath`. */
async function boundaryViolations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.ruleId && BOUNDARY_RULES.has(message.ruleId)).map((message) => message.message);
}

const FRAMEWORKS = [
  '@sinclair/typebox', 'ajv', 'ajv-formats', 'helmet', '@fastify/helmet', '@fastify/jwt', 'fastify', 'knex', 'pg', 'sqlite3',
  'better-sqlite3', 'argon2', 'tsyringe', 'ioredis', 'fast-jwt', 'pino', 'node:crypto', 'crypto', 'some-package-added-later',
];

describe.each([
  ['src/domain/sample.ts', '.'],
  ['src/application/tasks/sample.ts', '../..'],
])('the core (%s) imports no package', (filePath, root) => {
  it.each(FRAMEWORKS)('refuses %s', async (name) => {
    expect(await boundaryViolations(filePath, `import { x } from '${name}';\nexport const y = x;\n`)).toHaveLength(1);
    expect(await boundaryViolations(filePath, `import type { X } from '${name}/sub/path';\nexport type Y = X;\n`)).toHaveLength(1);
  });

  it('refuses a package reached dynamically or in a type position', async () => {
    expect(await boundaryViolations(filePath, `export const load = () => import('knex');\n`)).toHaveLength(1);
    expect(await boundaryViolations(filePath, `export type Db = import('knex').Knex;\n`)).toHaveLength(1);
  });

  it('refuses the outer layers', async () => {
    for (const layer of ['adapters/http/http-app.js', 'infrastructure/container.js']) {
      expect(await boundaryViolations(filePath, `import { x } from '${root}/${layer}';\nexport const y = x;\n`)).toHaveLength(1);
    }
  });

  it('accepts its own and inner modules', async () => {
    expect(await boundaryViolations(filePath, `import { x } from './sibling.js';\nexport const y = x;\n`)).toEqual([]);
  });
});

describe('the application layer', () => {
  it('may use the domain and its ports', async () => {
    const code = `import { ValidationError } from '../../domain/index.js';\nimport type { Clock } from '../ports/index.js';\nexport const y: [unknown, Clock?] = [ValidationError];\n`;
    expect(await boundaryViolations('src/application/tasks/sample.ts', code)).toEqual([]);
  });

  it('may not be imported by the domain', async () => {
    expect(await boundaryViolations('src/domain/sample.ts', `import { x } from '../application/index.js';\nexport const y = x;\n`)).toHaveLength(1);
  });
});

describe('HTTP routes', () => {
  const route = 'src/adapters/http/routes/sample-routes.ts';

  it('may not import the composition root, its configuration or anything else in src/infrastructure', async () => {
    for (const module of ['container.js', 'config.js', 'app.js']) {
      expect(await boundaryViolations(route, `import { x } from '../../../infrastructure/${module}';\nexport const y = x;\n`)).toHaveLength(1);
    }
  });

  it('may not import the database layer', async () => {
    expect(await boundaryViolations(route, `import type { Knex } from 'knex';\nexport type Db = Knex;\n`)).toHaveLength(1);
  });

  it('may use Fastify, TypeBox and the rest of the HTTP adapter', async () => {
    const code = `import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';\nimport { Type } from '@sinclair/typebox';\nimport { problems } from '../schemas/common.js';\nexport const y: unknown[] = [Type, problems];\nexport type P = FastifyPluginAsyncTypebox;\n`;
    expect(await boundaryViolations(route, code)).toEqual([]);
  });
});

describe('the code as it stands', () => {
  it('keeps every boundary', async () => {
    const results = await eslint.lintFiles(['src/domain', 'src/application', 'src/adapters/http']);
    const violations = results.flatMap((result) =>
      result.messages.filter((message) => message.ruleId && BOUNDARY_RULES.has(message.ruleId)).map((message) => `${result.filePath}: ${message.message}`),
    );
    expect(violations).toEqual([]);
  });
});
