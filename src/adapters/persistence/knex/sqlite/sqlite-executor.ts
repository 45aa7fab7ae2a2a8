import { createRequire } from 'node:module';
import type { StatementRunner } from '../statement-runner.js';
import { parseTimestamps, type EncodedTuples } from './sqlite-protocol.js';

/** better-sqlite3, as far as it is used here (the package ships no types). */
interface Statement {
  readonly reader: boolean;
  pluck(toggle: boolean): Statement;
  columns(): Array<{ name: string; type: string | null }>;
  all(params: unknown[]): unknown[];
  run(params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  raw(toggle: boolean): Statement;
}

interface Connection {
  prepare(sql: string): Statement;
  pragma(source: string): unknown;
  close(): void;
  readonly inTransaction: boolean;
}

const Database = createRequire(import.meta.url)('better-sqlite3') as new (filename: string) => Connection;

/**
 * SQLite runs in WAL mode with synchronous=NORMAL: a committed write survives the process being
 * killed; on power loss the last transactions before the crash may roll back (never corrupt).
 * busy_timeout: a write waiting for another process's lock (the CLI, a migration) waits this
 * long before failing with SQLITE_BUSY (a 503). The service itself never waits: it has one
 * connection that writes.
 */
const FILE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL'];
const BUSY_TIMEOUT = 'busy_timeout = 5000';
const PRAGMAS = ['foreign_keys = ON', BUSY_TIMEOUT];

/**
 * Copying the WAL back into the database (a checkpoint) syncs both files to disk: milliseconds
 * during which the connection doing it answers nothing. By default the writer does it itself,
 * inside the COMMIT that takes the WAL past 1,000 pages (~4 MiB) — every write queued behind
 * that commit waits for the disk. Where a reader checkpoints instead (see SqliteAccess), the
 * writer keeps this much larger bound only as a safety net, should the reader fall behind.
 */
const WRITER_CHECKPOINT_FALLBACK = 'wal_autocheckpoint = 16000';

/**
 * 'write': the one connection that writes. 'read': a connection beside it that only reads
 * (query_only: SQLite refuses any change with SQLITE_READONLY) — WAL lets it read while the
 * writer writes — and that may also checkpoint, which a read-only open could not.
 * `checkpointer`: another connection takes the checkpoints, so this writer need not.
 */
export type SqliteAccess = { mode: 'write'; checkpointer?: boolean } | { mode: 'read' };

/** What knex's query path needs back: rows for a reader, the change count and new rowid for a write. */
export type QueryOutcome = { reader: true; rows: unknown[] } | { reader: false; changes: number; lastInsertRowid: number | bigint };

/**
 * better-sqlite3 binds only numbers, strings, bigints, buffers and null: it rejects undefined,
 * booleans and Dates. They are bound as knex's better-sqlite3 client binds them (null, 1/0,
 * epoch milliseconds), so a statement means the same through either path.
 */
function bindable(params: unknown[]): unknown[] {
  let converted: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    let next: unknown;
    if (value === undefined) next = null;
    else if (typeof value === 'boolean') next = value ? 1 : 0;
    else if (value instanceof Date) next = value.valueOf();
    else continue;
    converted ??= params.slice();
    converted[i] = next;
  }
  return converted ?? params;
}

/** A statement that returns rows as arrays, and which of its columns hold timestamps. */
interface TupleStatement {
  statement: Statement;
  timestamps: number[];
  /** The same SELECT with SQLite writing each row as a JSON array; null for what cannot be wrapped. */
  asJson: Statement | null;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** knex declares timestamp columns `datetime` on SQLite; the service stores them as RFC 3339 text. */
const timestampColumns = (statement: Statement): number[] =>
  statement.columns().flatMap(({ type }, index) => (type?.toLowerCase() === 'datetime' ? [index] : []));

/**
 * One better-sqlite3 connection and its prepared statements, synchronous. Each SQL text is
 * prepared once: parsing it again on every call cost as much as running it.
 */
export class SqliteExecutor {
  private readonly db: Connection;

  private readonly statements = new Map<string, Statement>();

  /** Statements that return rows as arrays, kept apart: raw mode is a setting of the statement. */
  private readonly tupleStatements = new Map<string, TupleStatement>();

  private runner: StatementRunner | null = null;

  constructor(filename: string, access: SqliteAccess = { mode: 'write' }) {
    this.db = new Database(filename);
    if (access.mode === 'read') {
      for (const pragma of ['query_only = 1', BUSY_TIMEOUT]) this.db.pragma(pragma);
      return;
    }
    const file = filename === ':memory:' ? [] : [...FILE_PRAGMAS, ...(access.checkpointer ? [WRITER_CHECKPOINT_FALLBACK] : [])];
    for (const pragma of [...file, ...PRAGMAS]) this.db.pragma(pragma);
  }

  /**
   * Copies what it can of the WAL into the database without waiting for anyone (PASSIVE): the
   * writer goes on writing meanwhile, and the WAL starts over once all of it has been copied.
   */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  query(sql: string, params: unknown[]): QueryOutcome {
    const statement = this.statement(sql);
    if (statement.reader) return { reader: true, rows: statement.all(bindable(params)) };
    const { changes, lastInsertRowid } = statement.run(bindable(params));
    return { reader: false, changes, lastInsertRowid };
  }

  all(sql: string, params: unknown[]): unknown[] {
    return this.statement(sql).all(bindable(params));
  }

  /**
   * Rows as arrays, with timestamp columns as Dates, as PostgreSQL's driver gives them. Parsing
   * them here, on the SQLite thread, takes that work off the event loop (~60 timestamps a page).
   */
  tuples(sql: string, params: unknown[]): unknown[][] {
    const { statement, timestamps } = this.tupleStatement(sql);
    return parseTimestamps(statement.all(bindable(params)) as unknown[][], timestamps);
  }

  /**
   * The same rows, for another thread. A SELECT's rows cross as one JSON text that SQLite writes
   * itself (see jsonRows), timestamps as text: reading a structured clone of a page cost the event
   * loop twice what JSON.parse does, and building the rows' values here cost the thread twice what
   * SQLite's json_array does. Rows JSON cannot hold (BLOBs) and RETURNING rows are cloned.
   */
  encodedTuples(sql: string, params: unknown[]): EncodedTuples {
    const entry = this.tupleStatement(sql);
    if (entry.asJson) {
      try {
        return [entry.timestamps, `[${(entry.asJson.all(bindable(params)) as string[]).join(',')}]`];
      } catch (error) {
        if (!/BLOB/.test((error as Error).message)) throw error;
        entry.asJson = null; // this statement's rows are cloned from now on
      }
    }
    return [null, this.tuples(sql, params)];
  }

  private tupleStatement(sql: string): TupleStatement {
    let entry = this.tupleStatements.get(sql);
    if (!entry) {
      const statement = this.db.prepare(sql).raw(true);
      this.tupleStatements.set(sql, (entry = { statement, timestamps: timestampColumns(statement), asJson: this.jsonRows(sql, statement) }));
    }
    return entry;
  }

  /**
   * The SELECT with SQLite writing each row as a JSON array; SQLite keeps the inner query's ORDER
   * BY for the rows it wraps. Writes (RETURNING) cannot be wrapped.
   */
  private jsonRows(sql: string, statement: Statement): Statement | null {
    if (!statement.reader || !/^\s*select\b/i.test(sql)) return null;
    const columns = statement.columns().map(({ name }) => quoteIdentifier(name));
    if (new Set(columns).size !== columns.length) return null; // a repeated name could not be told apart
    try {
      return this.db.prepare(`select json_array(${columns.join(', ')}) from (${sql})`).pluck(true);
    } catch {
      return null;
    }
  }

  run(sql: string, params: unknown[]): number {
    return this.statement(sql).run(bindable(params)).changes;
  }

  /** As the write units see it: every call has finished by the time its promise exists. */
  asStatementRunner(): StatementRunner {
    this.runner ??= {
      all: async <T>(sql: string, params: unknown[]) => this.all(sql, params) as T[],
      first: async <T>(sql: string, params: unknown[]) => this.all(sql, params)[0] as T | undefined,
      tuples: async <T extends unknown[]>(sql: string, params: unknown[]) => this.tuples(sql, params) as T[],
      run: async (sql: string, params: unknown[]) => this.run(sql, params),
    };
    return this.runner;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  close(): void {
    this.db.close();
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }
}
