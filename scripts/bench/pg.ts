/**
 * PostgreSQL for the bench: checking the server is there, a scratch database per run, and a write
 * profile of what the database spends its time on while a scenario runs.
 *
 * Everything here talks to PostgreSQL with `pg` directly; the service itself is only ever reached
 * over HTTP, so the bench does not depend on how the product builds its connections.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { parentPidOf } from './harness.js';

const { Client } = pg;
type PgClient = InstanceType<typeof Client>;

/** The URL with its password hidden, for printing. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(unparseable URL)';
  }
}

async function connect(url: string, application = 'taskforge-bench'): Promise<PgClient> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000, application_name: application });
  await client.connect();
  return client;
}

/** The server's version when `url` accepts a connection, else the reason it did not. */
export async function probe(url: string): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  let client: PgClient | undefined;
  try {
    client = await connect(url);
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return { ok: true, version: rows[0]!.server_version };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * The pid of the PostgreSQL server's postmaster when the server runs on this host, so that the
 * bench can read the CPU time of its processes; null when it runs elsewhere (or /proc says
 * otherwise). A backend's parent is the postmaster, and both are named `postgres`.
 */
export async function localPostmasterPid(url: string): Promise<number | null> {
  let client: PgClient | undefined;
  try {
    client = await connect(url);
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const backend = rows[0]!.pid;
    const named = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    const parent = parentPidOf(backend);
    return named(backend) && named(parent) ? parent : null;
  } catch {
    return null;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export interface ScratchDatabase {
  name: string;
  /** The admin URL with the scratch database in its path. */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database next to the one `adminUrl` names. A database rather than a schema: the
 * service then needs no search_path in its URL, and whatever the run creates in it (tables, an
 * extension) goes when it is dropped.
 */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad scratch database name ${name}`);
  const admin = await connect(adminUrl);
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    drop: async () => {
      const client = await connect(adminUrl);
      try {
        // FORCE: a connection the service left behind must not keep the database alive.
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

// --- write profile ---------------------------------------------------------------------------

export interface StatementRow {
  query: string;
  calls: number | null;
  totalMs: number;
  meanMs: number | null;
  /** Fallback only: the waits seen while this statement was running, by wait event. */
  waits?: Record<string, number>;
}

export interface LockWait {
  /** locktype / mode / relation (when there is one). */
  lock: string;
  samples: number;
  /** The statement that was waiting, shortened. */
  query: string;
}

export interface WriteProfile {
  scenario: string;
  source: 'pg_stat_statements' | 'pg_stat_activity sampling';
  /** Why pg_stat_statements was not used, when it was not. */
  note?: string;
  seconds: number;
  /** From pg_stat_database: commits, rows written, and the time backends spent running statements (PG 14+). */
  database: { commits: number; rowsWritten: number; activeMs: number | null };
  /** From pg_stat_wal: WAL records, bytes, fsyncs in the window (PG 14+). */
  wal: { records: number; bytes: number; syncs: number } | null;
  statements: StatementRow[];
  /** Every wait event seen in the service's active backends, in samples. */
  waitEvents: Record<string, number>;
  lockWaits: LockWait[];
  samples: number;
  sampleIntervalMs: number;
}

interface DatabaseCounters {
  commits: number;
  rowsWritten: number;
  activeMs: number | null;
  wal: { records: number; bytes: number; syncs: number } | null;
}

const shorten = (sql: string, max = 160) => sql.replace(/\s+/g, ' ').trim().slice(0, max);

/** Literals and parameters out, so that samples of one statement with different values add up. */
const normalize = (sql: string) =>
  shorten(
    sql
      .replace(/'(?:[^']|'')*'/g, '?')
      .replace(/\$\d+/g, '?')
      .replace(/\b\d+(?:\.\d+)?\b/g, '?')
      .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?, …)'),
    200,
  );

/**
 * Measures one window (start() … stop()) of the scratch database's work. With pg_stat_statements
 * usable, its per-statement calls and times; without it (it needs shared_preload_libraries, which
 * takes a server restart) a statement's time is estimated from the samples of active backends
 * taken every `intervalMs` (samples × interval), and its calls are unknown. The samples also give
 * the wait events and ungranted locks in either case.
 */
export class PgWriteProfiler {
  private client: PgClient | undefined;
  private mode: WriteProfile['source'] = 'pg_stat_activity sampling';
  private note: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private startedAt = 0;
  private before: DatabaseCounters | undefined;
  private samples = 0;
  private statementSamples = new Map<string, { samples: number; waits: Record<string, number> }>();
  private waitEvents: Record<string, number> = {};
  private lockWaits = new Map<string, LockWait>();

  private constructor(
    private readonly url: string,
    private readonly database: string,
    private readonly intervalMs: number,
  ) {}

  /** Connects to the scratch database and settles which source this profile will use. */
  static async open(url: string, database: string, intervalMs = 100): Promise<PgWriteProfiler> {
    const profiler = new PgWriteProfiler(url, database, intervalMs);
    profiler.client = await connect(url, 'taskforge-bench-profiler');
    await profiler.chooseSource();
    return profiler;
  }

  get source(): WriteProfile['source'] {
    return this.mode;
  }

  get reason(): string | undefined {
    return this.note;
  }

  private async chooseSource(): Promise<void> {
    const client = this.client!;
    try {
      // Created in the scratch database, so it leaves with it.
      await client.query('create extension if not exists pg_stat_statements');
    } catch (error) {
      this.note = `pg_stat_statements is not installable here (${message(error)})`;
      return;
    }
    try {
      await client.query('select 1 from pg_stat_statements limit 1');
      this.mode = 'pg_stat_statements';
    } catch (error) {
      const preload = await client.query<{ setting: string }>("select setting from pg_settings where name = 'shared_preload_libraries'").catch(() => ({ rows: [] as { setting: string }[] }));
      this.note =
        `pg_stat_statements is installed but not loaded (${message(error)}); it needs ` +
        `shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and a server restart ` +
        `(currently '${preload.rows[0]?.setting ?? '?'}'), which the bench does not do`;
    }
  }

  async start(): Promise<void> {
    const client = this.client!;
    this.statementSamples.clear();
    this.waitEvents = {};
    this.lockWaits.clear();
    this.samples = 0;
    if (this.mode === 'pg_stat_statements') await client.query('select pg_stat_statements_reset()');
    // Cumulative statistics are cached per transaction; outside one, every read is fresh.
    await client.query('select pg_stat_clear_snapshot()');
    this.before = await this.counters();
    this.startedAt = Date.now();
    this.timer = setInterval(() => {
      // One sample at a time: a slow sample delays the next rather than running beside it.
      this.sampling = this.sampling.then(() => this.sample()).catch(() => undefined);
    }, this.intervalMs);
  }

  async stop(scenario: string): Promise<WriteProfile> {
    clearInterval(this.timer);
    await this.sampling;
    const seconds = (Date.now() - this.startedAt) / 1000;
    const after = await this.counters();
    const before = this.before!;
    const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((a - b) * 10) / 10);
    const profile: WriteProfile = {
      scenario,
      source: this.mode,
      ...(this.note ? { note: this.note } : {}),
      seconds: Math.round(seconds * 10) / 10,
      database: { commits: after.commits - before.commits, rowsWritten: after.rowsWritten - before.rowsWritten, activeMs: diff(after.activeMs, before.activeMs) },
      wal: after.wal && before.wal ? { records: after.wal.records - before.wal.records, bytes: after.wal.bytes - before.wal.bytes, syncs: after.wal.syncs - before.wal.syncs } : null,
      statements: [],
      waitEvents: this.waitEvents,
      lockWaits: [...this.lockWaits.values()].sort((a, b) => b.samples - a.samples),
      samples: this.samples,
      sampleIntervalMs: this.intervalMs,
    };
    if (this.mode === 'pg_stat_statements') {
      const { rows } = await this.client!.query<{ query: string; calls: string; total: number; mean: number }>(
        `select s.query, s.calls, s.total_exec_time as total, s.mean_exec_time as mean
           from pg_stat_statements s join pg_database d on d.oid = s.dbid
          where d.datname = $1 and s.query not ilike '%pg_stat_%'
          order by s.total_exec_time desc limit 25`,
        [this.database],
      );
      profile.statements = rows.map((r) => ({ query: shorten(r.query), calls: Number(r.calls), totalMs: round(r.total), meanMs: round(r.mean, 3) }));
    } else {
      profile.statements = [...this.statementSamples.entries()]
        .map(([query, s]) => ({ query, calls: null, meanMs: null, totalMs: s.samples * this.intervalMs, waits: s.waits }))
        .sort((a, b) => b.totalMs - a.totalMs)
        .slice(0, 25);
    }
    return profile;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    await this.client?.end().catch(() => undefined);
  }

  private async counters(): Promise<DatabaseCounters> {
    const client = this.client!;
    await client.query('select pg_stat_clear_snapshot()');
    const db = await client.query<Record<string, string | null>>('select * from pg_stat_database where datname = $1', [this.database]);
    const row = db.rows[0] ?? {};
    const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
    let wal: DatabaseCounters['wal'] = null;
    try {
      const w = await client.query<{ wal_records: string; wal_bytes: string; wal_sync: string }>('select wal_records, wal_bytes, wal_sync from pg_stat_wal');
      const r = w.rows[0];
      if (r) wal = { records: Number(r.wal_records), bytes: Number(r.wal_bytes), syncs: Number(r.wal_sync) };
    } catch {
      // pg_stat_wal arrived in PostgreSQL 14.
    }
    return {
      commits: num(row.xact_commit) ?? 0,
      rowsWritten: (num(row.tup_inserted) ?? 0) + (num(row.tup_updated) ?? 0) + (num(row.tup_deleted) ?? 0),
      // active_time arrived in PostgreSQL 14.
      activeMs: num(row.active_time),
      wal,
    };
  }

  /** One look at the scratch database's active backends (the service's) and their lock waits. */
  private async sample(): Promise<void> {
    const client = this.client!;
    const { rows } = await client.query<{ pid: number; query: string; wait_event_type: string | null; wait_event: string | null }>(
      `select pid, query, wait_event_type, wait_event from pg_stat_activity
        where datname = $1 and state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      [this.database],
    );
    this.samples++;
    for (const row of rows) {
      const key = normalize(row.query);
      const entry = this.statementSamples.get(key) ?? { samples: 0, waits: {} };
      entry.samples++;
      const wait = row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'CPU (no wait)';
      entry.waits[wait] = (entry.waits[wait] ?? 0) + 1;
      this.statementSamples.set(key, entry);
      this.waitEvents[wait] = (this.waitEvents[wait] ?? 0) + 1;
    }
    if (!rows.some((r) => r.wait_event_type === 'Lock')) return;
    const locks = await client.query<{ locktype: string; mode: string; relation: string | null; query: string }>(
      `select l.locktype, l.mode, l.relation::regclass::text as relation, a.query
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where not l.granted and a.datname = $1`,
      [this.database],
    );
    for (const lock of locks.rows) {
      const what = [lock.locktype, lock.mode, lock.relation].filter(Boolean).join(' / ');
      const key = `${what}\n${normalize(lock.query)}`;
      const entry = this.lockWaits.get(key) ?? { lock: what, samples: 0, query: normalize(lock.query) };
      entry.samples++;
      this.lockWaits.set(key, entry);
    }
  }
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

/** A profile as text: the database's totals, then statements by time, then waits. */
export function formatProfile(profile: WriteProfile): string {
  const lines: string[] = [];
  const { commits, rowsWritten, activeMs } = profile.database;
  const perCommit = (n: number) => (commits ? (n / commits).toFixed(1) : '–');
  lines.push(`PostgreSQL write profile — ${profile.scenario} (${profile.seconds}s, statements from ${profile.source})`);
  if (profile.note) lines.push(`  note: ${profile.note}`);
  lines.push(
    `  database: ${commits} commits (${Math.round(commits / Math.max(profile.seconds, 0.001))}/s), ${rowsWritten} rows written (${perCommit(rowsWritten)} per commit)` +
      (activeMs !== null ? `, statements active ${Math.round(activeMs)} ms in all (${perCommit(activeMs)} ms per commit)` : ''),
  );
  if (profile.wal) lines.push(`  WAL: ${profile.wal.records} records (${perCommit(profile.wal.records)} per commit), ${(profile.wal.bytes / 2 ** 20).toFixed(1)} MiB, ${profile.wal.syncs} syncs`);
  const estimated = profile.source !== 'pg_stat_statements';
  lines.push(
    estimated
      ? `  statements (estimated from ${profile.samples} samples of active backends every ${profile.sampleIntervalMs} ms: total ≈ samples × interval; calls and means unknown):`
      : '  statements (pg_stat_statements, by total time):',
  );
  const rows = [['total ms', 'calls', 'mean ms', 'statement'], ...profile.statements.map((s) => [String(Math.round(s.totalMs)), s.calls === null ? '–' : String(s.calls), s.meanMs === null ? '–' : s.meanMs.toFixed(3), s.query])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(`    ${r.slice(0, 3).map((c, i) => c.padStart(widths[i]!)).join('  ')}  ${r[3]}`);
  if (profile.statements.length === 0) lines.push('    (none seen)');
  if (estimated) {
    for (const s of profile.statements.slice(0, 8)) {
      const waits = Object.entries(s.waits ?? {}).sort((a, b) => b[1] - a[1]).map(([w, n]) => `${w} ${n}`).join(', ');
      lines.push(`    waits of "${s.query.slice(0, 70)}": ${waits}`);
    }
  }
  const all = Object.entries(profile.waitEvents).sort((a, b) => b[1] - a[1]);
  lines.push(`  wait events of active backends (${profile.samples} samples): ${all.length ? all.map(([w, n]) => `${w} ${n}`).join(', ') : 'none'}`);
  if (profile.lockWaits.length === 0) lines.push('  lock waits: none seen');
  else for (const w of profile.lockWaits) lines.push(`  lock wait: ${w.lock} — ${w.samples} samples — ${w.query}`);
  return lines.join('\n');
}
