import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { JobPayload } from '../../application/index.js';

/** A job as a worker claimed it: the lease token names this claim, so only its holder can settle it. */
export interface ClaimedJob {
  id: string;
  queue: string;
  /** The payload as stored (JSON). */
  payload: string;
  /** Runs so far, this one included. */
  attempts: number;
  leaseToken: string;
}

export type FailOutcome = 'retried' | 'failed' | 'lost';

/** How long, and how many, failed jobs a queue keeps (JobQueueSettings). */
export interface FailedJobRetention {
  failedRetentionMs: number;
  failedMaxKept: number;
}

/** How much of an error message is kept with a job: enough to tell what happened, never a whole dump. */
const MAX_ERROR_LENGTH = 1_000;

/**
 * A tick of a schedule becomes a job unless the schedule's previous job still waits or runs:
 * ticks never pile up behind a slow run or a stopped service.
 */
const INSERT_TICK = `
  insert into jobs (id, queue, key, schedule_key, payload, state, attempts, run_at, created_at)
  select ?, ?, null, ?, ?, 'waiting', 0, ?, ?
  where not exists (select 1 from jobs where queue = ? and schedule_key = ? and state <> 'failed')`;

/**
 * The SQL of the embedded job queue, over the tables of migration 012. Each method is one
 * statement or one small transaction; those that change rows a worker holds name its lease token,
 * so a worker that lost its lease (it stalled, another took the job) changes nothing.
 * Written for SQLite, where one statement runs alone against the file: a claim's select and
 * update cannot interleave with another process's.
 */
export class EmbeddedJobStore {
  constructor(
    private readonly db: Knex,
    private readonly retention: FailedJobRetention,
  ) {}

  /** A job, unless one with its key is still kept (the key then dedupes). */
  async add(queue: string, payload: JobPayload, key: string | null, runAt: number): Promise<void> {
    await this.db('jobs')
      .insert({ id: randomUUID(), queue, key, payload: JSON.stringify(payload), state: 'waiting', attempts: 0, run_at: runAt, created_at: Date.now() })
      .onConflict(['queue', 'key'])
      .ignore();
  }

  /**
   * A new schedule ticks `everyMs` from now; declaring one again takes the new payload and
   * interval but keeps a nearer tick, so a service that restarts (and declares its schedules
   * again) more often than their interval still fires them.
   */
  async declareSchedule(queue: string, key: string, payload: JobPayload, everyMs: number, now: number): Promise<void> {
    await this.db('job_schedules')
      .insert({ queue, key, payload: JSON.stringify(payload), every_ms: everyMs, next_at: now + everyMs })
      .onConflict(['queue', 'key'])
      .merge({ payload: JSON.stringify(payload), every_ms: everyMs, next_at: this.db.raw('case when job_schedules.next_at < excluded.next_at then job_schedules.next_at else excluded.next_at end') });
  }

  /** The job with this key unless it runs, the schedule with this key, and its tick that has not started. */
  async cancel(queue: string, key: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('jobs').where({ queue, key }).whereNot('state', 'active').delete();
      await trx('jobs').where({ queue, schedule_key: key, state: 'waiting' }).delete();
      await trx('job_schedules').where({ queue, key }).delete();
    });
  }

  async countReady(queue: string, now: number): Promise<number> {
    const row = await this.db('jobs').where({ queue, state: 'waiting' }).andWhere('run_at', '<=', now).count({ count: '*' }).first();
    return Number(row?.count ?? 0);
  }

  /**
   * Turns the due ticks of these queues' schedules into jobs. The update that moves a schedule
   * to its next tick decides: of two processes polling one file, the second finds it not due.
   * A read first, so an idle poll never takes the file's write lock.
   */
  async fireDueSchedules(queues: readonly string[], now: number): Promise<void> {
    const due = await this.db('job_schedules').whereIn('queue', queues).andWhere('next_at', '<=', now).first('key');
    if (!due) return;
    await this.db.transaction(async (trx) => {
      const fired: Array<{ queue: string; key: string; payload: string }> = await trx('job_schedules')
        .whereIn('queue', queues)
        .andWhere('next_at', '<=', now)
        .update({ next_at: trx.raw('? + every_ms', [now]) })
        .returning(['queue', 'key', 'payload']);
      for (const { queue, key, payload } of fired) await trx.raw(INSERT_TICK, [randomUUID(), queue, key, payload, now, now, queue, key]);
    });
  }

  /** Whether a claim would find a job: a read, so an idle poll never takes the file's write lock. */
  async anyClaimable(queues: readonly string[], now: number): Promise<boolean> {
    const [row] = (await this.db.select(this.db.raw('? as id', [this.nextClaimable(queues, now)]))) as Array<{ id: string | null }>;
    return row?.id != null;
  }

  /**
   * The next due job of these queues, claimed for `leaseMs`: a running one whose lease ran out
   * (its worker died; this run counts as an attempt), else the oldest waiting one. One statement.
   */
  async claim(queues: readonly string[], now: number, leaseMs: number): Promise<ClaimedJob | null> {
    const leaseToken = randomUUID();
    const [row] = (await this.db('jobs')
      .update({ state: 'active', attempts: this.db.raw('attempts + 1'), lease_token: leaseToken, lease_until: now + leaseMs })
      .where('id', this.nextClaimable(queues, now))
      .returning(['id', 'queue', 'payload', 'attempts'])) as Array<{ id: string; queue: string; payload: string; attempts: number | string }>;
    return row ? { id: row.id, queue: row.queue, payload: row.payload, attempts: Number(row.attempts), leaseToken } : null;
  }

  /** Extends these claims; the tokens of the ones still held (a missing one was taken by another worker). */
  async renew(leaseTokens: readonly string[], leaseUntil: number): Promise<Set<string>> {
    const rows: Array<{ lease_token: string }> = await this.db('jobs')
      .whereIn('lease_token', leaseTokens)
      .update({ lease_until: leaseUntil })
      .returning(['lease_token']);
    return new Set(rows.map((row) => row.lease_token));
  }

  /** A job done is deleted: its key is free again. */
  async complete(leaseToken: string): Promise<void> {
    await this.db('jobs').where({ lease_token: leaseToken }).delete();
  }

  /**
   * Back to waiting until `retryAt`, or kept as failed when `final`; 'lost' when the claim is no
   * longer held. Failing for good also forgets the queue's failures past their retention.
   */
  async fail(job: Pick<ClaimedJob, 'id' | 'queue' | 'leaseToken'>, message: string, { attempt, final, retryAt }: { attempt: number; final: boolean; retryAt: number }): Promise<FailOutcome> {
    const released = { attempts: attempt, lease_token: null, lease_until: null, last_error: message.slice(0, MAX_ERROR_LENGTH) };
    if (!final) {
      const changed = await this.db('jobs').where({ lease_token: job.leaseToken }).update({ ...released, state: 'waiting', run_at: retryAt });
      return changed === 0 ? 'lost' : 'retried';
    }
    return this.db.transaction(async (trx) => {
      const now = Date.now();
      const changed = await trx('jobs').where({ lease_token: job.leaseToken }).update({ ...released, state: 'failed', failed_at: now });
      if (changed === 0) return 'lost';
      await this.forgetFailedBefore(trx, job, now);
      return 'failed';
    });
  }

  /**
   * The failed jobs of the latest one's queue that are past the retention, or beyond the newest
   * `failedMaxKept` (the latest counted first): the step BullMQ takes when a job fails for good
   * (removeOnFail). One statement, on the (queue, state, failed_at) index.
   */
  private async forgetFailedBefore(trx: Knex.Transaction, latest: Pick<ClaimedJob, 'id' | 'queue'>, now: number): Promise<void> {
    const { failedRetentionMs, failedMaxKept } = this.retention;
    const failed = () => trx('jobs').where({ queue: latest.queue, state: 'failed' });
    const beyondMaxKept = failed().whereNot('id', latest.id).orderBy('failed_at', 'desc').offset(failedMaxKept - 1).select('id');
    await failed()
      .andWhere((forgotten) => forgotten.where('failed_at', '<=', now - failedRetentionMs).orWhereIn('id', beyondMaxKept))
      .delete();
  }

  /** Jobs a stopping worker gives up: they wait again at once, their interrupted run not counted. */
  async handBack(leaseTokens: readonly string[]): Promise<void> {
    if (leaseTokens.length === 0) return;
    await this.db('jobs')
      .whereIn('lease_token', leaseTokens)
      .update({ state: 'waiting', attempts: this.db.raw('attempts - 1'), lease_token: null, lease_until: null });
  }

  /**
   * The id of the job a claim takes, or null: each half reads the first row of its own index
   * (migration 016), however many jobs wait.
   */
  private nextClaimable(queues: readonly string[], now: number): Knex.Raw {
    const stalled = this.db('jobs').where('state', 'active').andWhere('lease_until', '<=', now).whereIn('queue', queues).orderBy('lease_until').limit(1).select('id');
    const oldestWaiting = this.db('jobs').where('state', 'waiting').andWhere('run_at', '<=', now).whereIn('queue', queues).orderBy('run_at').limit(1).select('id');
    return this.db.raw('coalesce((?), (?))', [stalled, oldestWaiting]);
  }
}
