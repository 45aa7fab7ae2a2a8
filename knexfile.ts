/**
 * For knex's own command line (`npm run knex -- migrate:status`, `migrate:list`, `migrate:make` …).
 * Day to day, `npm run migrate` does the same through the service's CLI; both read DATABASE_URL
 * (or the default SQLite file under DATA_DIR) and the migrations listed in migrations/index.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrationSource } from './migrations/index.js';
import { databaseTarget } from './src/infrastructure/config.js';

type SqliteConnection = { pragma(source: string): unknown };

const target = databaseTarget(process.env, process.cwd());
const migrations: Knex.MigratorConfig = { migrationSource };

function sqliteConfig(filename: string): Knex.Config {
  if (filename !== ':memory:') mkdirSync(path.dirname(filename), { recursive: true });
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    migrations,
    // Cascades in the migrations rely on SQLite enforcing foreign keys, which it does only when asked.
    pool: {
      afterCreate: (conn: SqliteConnection, done: (error: Error | null, conn: SqliteConnection) => void) => {
        try {
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        } catch (error) {
          done(error as Error, conn);
        }
      },
    },
  };
}

const config: Knex.Config = target.kind === 'postgres' ? { client: 'pg', connection: target.url, migrations } : sqliteConfig(target.filename);

export default config;
