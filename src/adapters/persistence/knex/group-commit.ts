import { inTransaction, type StatementRunner } from './statement-runner.js';
import type { WriteUnit } from './write-unit.js';

export type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

type Write = (statements: StatementRunner) => Promise<unknown>;

/**
 * Commits writes together: BEGIN IMMEDIATE, the writes, COMMIT. When one of them fails, the whole
 * transaction rolls back and each write runs again in a transaction of its own, so that only the
 * failing one fails. (A savepoint per write did the same at ~10 µs a write, failure or not;
 * writes fail rarely — a task whose owner was deleted meanwhile.) Never throws: every write gets
 * its outcome.
 */
export async function commitTogether(statements: StatementRunner, writes: readonly Write[]): Promise<WriteOutcome[]> {
  if (writes.length > 1) {
    try {
      const values = await inTransaction(statements, 'begin immediate', async () => {
        const results: unknown[] = [];
        for (const write of writes) results.push(await write(statements));
        return results;
      });
      return values.map((value) => ({ ok: true, value }));
    } catch {
      // Rolled back: nothing of the group was written. Find out which write fails, one by one.
    }
  }
  const outcomes: WriteOutcome[] = [];
  for (const write of writes) {
    try {
      outcomes.push({ ok: true, value: await inTransaction(statements, 'begin immediate', () => write(statements)) });
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}

/** A write waiting for its group: the unit and what it is given. */
export interface PendingWrite {
  unit: WriteUnit<never, unknown>;
  args: unknown;
}

interface Queued extends PendingWrite {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Enough to amortise the commit; few enough that the last write of a batch does not wait long. */
const MAX_BATCH = 64;
/**
 * Groups under way at once. Where the connection is on a thread of its own, groups that reach it
 * while it is busy commit as one (see the SQLite worker), so sending early costs no extra commit;
 * the bound only keeps a stalled connection from collecting an unbounded number of messages.
 */
const MAX_IN_FLIGHT = 8;

/**
 * Group commit for SQLite. Committing writes every page the transaction changed to the WAL, one
 * frame at a time: for a task, its five sort indexes and its tags that is ~60 µs, more than the
 * statements themselves. Writes that commit together write the pages they share (the same index
 * leaves, mostly) once (commitTogether). A write starts a group at the end of this turn's I/O
 * callbacks, with the writes of the other requests that the same poll of the sockets brought: a
 * lone write waits for no other request, and requests that arrive together commit together
 * rather than one by one. While the connection is busy, the groups sent meanwhile wait for it
 * and then commit together.
 *
 * None is answered before its COMMIT has returned. What a committed write promises is unchanged.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `commit` runs commitTogether over the batch, wherever the connection is. */
  constructor(private readonly commit: (batch: readonly PendingWrite[]) => Promise<WriteOutcome[]>) {}

  transaction<A, R>(unit: WriteUnit<A, R>, args: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ unit: unit as WriteUnit<never, unknown>, args, resolve: resolve as (value: unknown) => void, reject });
      if (this.inFlight < MAX_IN_FLIGHT && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.inFlight += 1;
    let outcomes: WriteOutcome[] | undefined;
    let failure: unknown;
    try {
      outcomes = await this.commit(batch);
    } catch (error) {
      failure = error;
    }
    this.inFlight -= 1;
    if (this.queue.length > 0 && !this.scheduled) void this.flush();
    batch.forEach((pending, i) => {
      const outcome = outcomes?.[i];
      if (!outcome) pending.reject(failure);
      else if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }
}
