import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';

/** Where the scale check runs: its own SQLite file, or its own schema of a PostgreSQL database. */
export interface PerfTarget {
  label: string;
  postgres: boolean;
  open(): Promise<Knex>;
}

export const PERF_OPTIONS = {
  'database-url': { type: 'string' },
  schema: { type: 'string', default: 'taskforge_perf' },
} as const;

/**
 * --database-url (else PERF_DATABASE_URL, else ./data/perf.sqlite). A PostgreSQL URL gets the schema
 * --schema (default taskforge_perf), so the scale data never meets the tests' tables.
 */
export function perfTarget(values: { 'database-url'?: string; schema?: string }): PerfTarget {
  const url = values['database-url'] ?? process.env.PERF_DATABASE_URL ?? 'file:./data/perf.sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const schema = values.schema ?? 'taskforge_perf';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`--schema must be a plain identifier; got "${schema}"`);
    return {
      label: `PostgreSQL (schema ${schema})`,
      postgres: true,
      open: async () => {
        const admin = knex({ client: 'pg', connection: url });
        await admin.raw(`create schema if not exists ${schema}`);
        await admin.destroy();
        const db = knex({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 4 } });
        await migrateToLatest(db);
        return db;
      },
    };
  }
  const filename = path.resolve(url.replace(/^(file|sqlite):/i, ''));
  return {
    label: `SQLite (${path.relative(process.cwd(), filename)})`,
    postgres: false,
    open: async () => {
      mkdirSync(path.dirname(filename), { recursive: true }); // a fresh checkout has no data/ yet
      const db = createDatabase({ kind: 'sqlite', filename });
      await migrateToLatest(db);
      return db;
    },
  };
}
