import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PendingWrite, WriteOutcome } from '../group-commit.js';
import type { QueryOutcome } from './sqlite-executor.js';
import { decodeTuples, fromTransferable, isLongWork, type EncodedTuples, type SqliteReply, type SqliteRequest, type SqliteThreadSettings } from './sqlite-protocol.js';
import type { SqliteSession } from './sqlite-session.js';

/**
 * The worker's code: an import of the compiled module next to this one; from the TypeScript
 * sources (tests, `npm run dev`), of the .ts module once tsx is registered in the new thread.
 *
 * Evaluated code rather than a file, so that the thread can inherit every option of the process
 * (--cpu-prof reaches it; V8's options such as --max-old-space-size hold for it anyway) and
 * still start under --input-type, which applies to evaluated code only: a worker given a file
 * under `node --input-type=module -e …` refuses to start, and one given an explicit list of
 * options refuses V8's.
 */
function workerSource(): string {
  if (path.extname(fileURLToPath(import.meta.url)) !== '.ts') return `import(${JSON.stringify(new URL('./sqlite-worker.js', import.meta.url).href)});`;
  // tsx's ESM API (the package's require condition would give its CommonJS build).
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const worker = new URL('./sqlite-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A lost thread reads as a lost connection: a 503 for the request, a new thread for the next. */
const threadStopped = () => Object.assign(new Error('the SQLite thread stopped'), { code: 'ECONNRESET' });

/**
 * The thread that owns a database's one SQLite connection. The pool's connections are lanes of
 * it: each sends statements without waiting for the others, and the thread runs them in order.
 */
export class SqliteThread {
  private readonly pending = new Map<number, Pending>();

  private nextId = 0;

  private nextLane = 0;

  private lanes = 0;

  private stopped: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (replies: SqliteReply[]) => {
      for (const reply of replies) this.settle(reply);
    });
    worker.on('error', (error) => this.stop(error));
    worker.on('exit', () => this.stop(threadStopped()));
  }

  static open(settings: SqliteThreadSettings): Promise<SqliteThread> {
    const worker = new Worker(workerSource(), { eval: true, workerData: settings });
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (reply: SqliteReply) => {
        worker.off('error', reject);
        if (reply[1]) {
          const thread = new SqliteThread(worker);
          // Only a statement under way keeps the process alive, as with an in-process connection.
          worker.unref();
          resolve(thread);
        } else {
          reject(fromTransferable(reply[2]));
          void worker.terminate();
        }
      });
    });
  }

  get alive(): boolean {
    return this.stopped === null;
  }

  /** A lane for the pool; the thread ends when the pool has let go of every lane. */
  lane(): SqliteSession {
    this.lanes += 1;
    return new ThreadLane(this, this.nextLane++);
  }

  private shared: SqliteSession | null = null;

  /** One lane more, outside the pool, for single statements outside any transaction. */
  autocommitLane(): SqliteSession {
    this.shared ??= new ThreadLane(this, this.nextLane++, false);
    return this.shared;
  }

  /** Statements sent in the same synchronous run: usually one request's, such as a page and its total. */
  private group: SqliteRequest[] = [];

  /** Single statements waiting for the end of this turn's I/O callbacks, to leave together. */
  private outbox: SqliteRequest[][] = [];

  call(lane: number, op: SqliteRequest[2], sql: string, params: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      if (this.group.push([id, lane, op, sql, params]) === 1) queueMicrotask(this.closeGroup);
    });
  }

  /**
   * Each message wakes the thread, and on a VM a wake-up costs the sender more than a short
   * statement costs the thread (~20 µs). So a short statement — a task by id — waits for the other
   * requests this turn's I/O brings (setImmediate runs right after them) and leaves with theirs:
   * one wake-up for all. Long work (isLongWork) leaves at once, taking what waited with it.
   */
  private readonly closeGroup = (): void => {
    const group = this.group;
    this.group = [];
    const first = this.outbox.push(group) === 1;
    if (isLongWork(group)) this.send();
    else if (first) setImmediate(this.send);
  };

  private readonly send = (): void => {
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.worker.postMessage(batch);
  };

  /** A lane leaves (the pool dropped it): its open transaction, if any, is rolled back. */
  async leave(lane: number): Promise<void> {
    if (this.stopped) return;
    await this.call(lane, 'leave', '', []);
    this.lanes -= 1;
    if (this.lanes === 0) {
      // The thread closes its connection (the last one checkpoints the WAL) and ends.
      const exited = new Promise((resolve) => this.worker.once('exit', resolve));
      this.worker.postMessage('close');
      await exited;
    }
  }

  private settle([id, ok, value]: SqliteReply): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    if (ok) pending.resolve(value);
    else pending.reject(fromTransferable(value));
  }

  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    for (const pending of this.pending.values()) pending.reject(reason);
    this.pending.clear();
    this.worker.unref();
  }
}

class ThreadLane implements SqliteSession {
  private left = false;

  constructor(
    private readonly thread: SqliteThread,
    private readonly id: number,
    private readonly pooled = true,
  ) {}

  get open(): boolean {
    return !this.left && this.thread.alive;
  }

  query(sql: string, params: unknown[]): Promise<QueryOutcome> {
    return this.thread.call(this.id, 'query', sql, params) as Promise<QueryOutcome>;
  }

  all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.thread.call(this.id, 'all', sql, params) as Promise<T[]>;
  }

  async first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async tuples<T extends unknown[]>(sql: string, params: unknown[]): Promise<T[]> {
    return decodeTuples((await this.thread.call(this.id, 'tuples', sql, params)) as EncodedTuples) as T[];
  }

  run(sql: string, params: unknown[]): Promise<number> {
    return this.thread.call(this.id, 'run', sql, params) as Promise<number>;
  }

  async commitTogether(batch: readonly PendingWrite[]): Promise<WriteOutcome[]> {
    const writes = batch.map(({ unit, args }) => [unit.name, args]);
    const outcomes = (await this.thread.call(this.id, 'commit', '', writes)) as WriteOutcome[];
    return outcomes.map((outcome) => (outcome.ok ? outcome : { ok: false, error: fromTransferable(outcome.error) }));
  }

  async close(): Promise<void> {
    if (this.left || !this.pooled) return;
    this.left = true;
    await this.thread.leave(this.id);
  }
}
