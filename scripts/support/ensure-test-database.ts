/**
 * Creates the database TEST_DATABASE_URL names when the server does not have it yet (a fresh
 * PostgreSQL container has only its POSTGRES_DB), then runs the command given, e.g.
 *   node --import tsx scripts/support/ensure-test-database.ts npx vitest run
 * The name must contain "test", as for every destructive test.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';

async function ensureTestDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name.includes('test')) throw new Error(`TEST_DATABASE_URL names database "${name}": its name must contain "test"`);
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.href });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(name)}`);
      console.error(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

const url = process.env.TEST_DATABASE_URL;
if (url) await ensureTestDatabase(url);
const [command, ...args] = process.argv.slice(2);
if (command) {
  const child = spawn(command, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
