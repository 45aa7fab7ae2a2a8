/**
 * For knex's own command line (`npm run knex -- migrate:status`, `migrate:list`, `migrate:make` …).
 * Day to day, `npm run migrate` does the same through the service's CLI; both read DATABASE_URL
 * (or the default SQLite file under DATA_DIR) and the migrations listed in migrations/index.ts,
 * and open the database exactly as the service does.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrationSource } from './migrations/index.js';
import { knexConfig } from './src/adapters/persistence/knex/database.js';
import { databaseTarget } from './src/infrastructure/config.js';

const target = databaseTarget(process.env, process.cwd());
if (target.kind === 'sqlite' && target.filename !== ':memory:') mkdirSync(path.dirname(target.filename), { recursive: true });

const config: Knex.Config = { ...knexConfig(target), migrations: { migrationSource } };

export default config;
