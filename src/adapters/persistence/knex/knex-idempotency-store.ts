import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { idempotencyClaimLost, type ClaimOutcome, type IdempotencyClaim, type IdempotencyStore } from '../../../application/index.js';
import type { Task } from '../../../domain/index.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from './sql-values.js';

interface KeyRow {
  user_id: number;
  key: string;
  fingerprint: string;
  task: string | null;
  created_at: string | Date;
}

/** A snapshot as JSON holds it; those stored before reminders existed have no remindAt. */
type StoredTask = Omit<Task, 'dueDate' | 'remindAt' | 'completedAt' | 'createdAt' | 'updatedAt'> & {
  dueDate: string | null;
  remindAt?: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

const toSnapshot = (created: readonly Task[]): string => JSON.stringify(created);

/** A list of tasks; keys completed before generation existed hold a single task. */
function fromSnapshot(text: string): Task[] {
  const stored = JSON.parse(text) as StoredTask | StoredTask[];
  return (Array.isArray(stored) ? stored : [stored]).map(fromStoredTask);
}

function fromStoredTask(stored: StoredTask): Task {
  return {
    ...stored,
    dueDate: fromDbTimeOrNull(stored.dueDate),
    remindAt: fromDbTimeOrNull(stored.remindAt ?? null),
    completedAt: fromDbTimeOrNull(stored.completedAt),
    createdAt: fromDbTime(stored.createdAt),
    updatedAt: fromDbTime(stored.updatedAt),
  };
}

export class KnexIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Knex) {}

  async claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    const { userId, key } = claim;
    // Forget this user's expired keys, and this key if its first request was abandoned mid-way.
    await this.db('idempotency_keys')
      .where({ user_id: userId })
      .andWhere((w) =>
        void w
          .where('created_at', '<', toDbTime(claim.expiredBefore))
          .orWhere((a) => void a.where({ key }).whereNull('task').andWhere('created_at', '<', toDbTime(claim.abandonedBefore))),
      )
      .delete();
    // The primary key arbitrates between concurrent claims: exactly one insert takes effect.
    // Its token tells this claim apart from any later one that takes the key over.
    const token = randomUUID();
    const inserted = await this.db('idempotency_keys')
      .insert({ user_id: userId, key, fingerprint: claim.fingerprint, task: null, created_at: toDbTime(claim.now), claim_token: token })
      .onConflict(['user_id', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length > 0) return { kind: 'claimed', token };

    const row = await this.db<KeyRow>('idempotency_keys').where({ user_id: userId, key }).first();
    if (!row) return this.claim(claim);
    if (row.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
    return row.task === null ? { kind: 'in_flight' } : { kind: 'replay', tasks: fromSnapshot(row.task) };
  }

  async complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void> {
    const updated = await this.db('idempotency_keys').where({ user_id: userId, key, claim_token: token }).update({ task: toSnapshot(created) });
    if (updated === 0) throw idempotencyClaimLost();
  }

  async release(userId: number, key: string, token: string): Promise<void> {
    await this.db('idempotency_keys').where({ user_id: userId, key, claim_token: token }).whereNull('task').delete();
  }

  async purgeExpired(expiredBefore: Date): Promise<number> {
    return this.db('idempotency_keys').where('created_at', '<', toDbTime(expiredBefore)).delete();
  }
}
