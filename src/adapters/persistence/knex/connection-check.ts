import type { Knex } from 'knex';
import type { DatabaseTarget } from './database.js';

interface ErrorFields {
  name?: string;
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The error that says the most: Node reports a failed dual-stack connect as an AggregateError of the attempts. */
function innermost(error: unknown): ErrorFields {
  const fields = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as ErrorFields;
  if (typeof fields.code !== 'string' && Array.isArray(fields.errors) && fields.errors.length > 0) return innermost(fields.errors[0]);
  return fields;
}

function firstLine(message: unknown): string {
  return String(message ?? 'unknown error').split('\n')[0]!.trim();
}

/** Where a target points, without its password: what an operator compares with what they meant. */
function whereabouts(target: DatabaseTarget): { host: string; database: string; user: string } {
  if (target.kind === 'sqlite') return { host: target.filename, database: target.filename, user: '' };
  const url = new URL(target.url);
  return {
    host: `${url.hostname || 'localhost'}:${url.port || '5432'}`,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres',
    user: decodeURIComponent(url.username) || 'the default user',
  };
}

/**
 * One line naming why a connection failed, in an operator's terms: the host refused or did not
 * answer, the credentials were refused, the database does not exist. Never the password.
 */
export function describeConnectionFailure(error: unknown, target: DatabaseTarget): string {
  const { name, code, message } = innermost(error);
  const { host, database, user } = whereabouts(target);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host} (is PostgreSQL running there, on that port?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${host.replace(/:\d+$/, '')} not found`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host ${host} unreachable (${code})`;
    case '28P01':
      return `authentication failed for user "${user}" (wrong password)`;
    case '28000':
      return `authentication failed for user "${user}": ${firstLine(message)}`;
    case '3D000':
      return `database "${database}" does not exist on ${host}`;
    case '57P03':
      return `the database at ${host} is still starting up`;
    case '53300':
      return `the database at ${host} has no connection slots left`;
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_CANTOPEN')) return `cannot open the SQLite file ${host}`;
  if (name === 'KnexTimeoutError' || /timeout/i.test(String(message))) return `host ${host} unreachable (no answer in time)`;
  if (/^Connection terminated/i.test(String(message))) return `host ${host} unreachable (${firstLine(message)})`;
  return firstLine(message);
}

export interface WaitForDatabaseOptions {
  /** How long to keep trying; 0 tries once. */
  timeoutMs: number;
  /** Called once, after the first failed attempt, while retrying continues. */
  onFirstFailure?: (error: unknown) => void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;

/**
 * Resolves once the database answers a trivial query. A database that is still starting (a
 * container brought up together with this one) gets `timeoutMs` to come up; after that the last
 * error is thrown, for `describeConnectionFailure` to name.
 */
export async function waitForDatabase(db: Knex, { timeoutMs, onFirstFailure }: WaitForDatabaseOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = FIRST_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.raw('select 1');
      return;
    } catch (error) {
      const left = deadline - Date.now();
      if (left <= 0) throw error;
      if (attempt === 1) onFirstFailure?.(error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      pause = Math.min(pause * 2, MAX_RETRY_MS);
    }
  }
}
