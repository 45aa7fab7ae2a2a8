import { randomUUID } from 'node:crypto';
import { idempotencyClaimLost, type ClaimOutcome, type IdempotencyClaim, type IdempotencyStore } from '../../../application/index.js';
import type { Task } from '../../../domain/index.js';

interface KeyRecord {
  fingerprint: string;
  /** What the request created; null while it is in flight. */
  tasks: Task[] | null;
  createdAt: Date;
  /** Which claim holds the key: only it may complete or release it. */
  token: string;
}

const copy = (tasks: readonly Task[]): Task[] => structuredClone([...tasks]);

export class InMemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, KeyRecord>();

  async claim(claim: IdempotencyClaim): Promise<ClaimOutcome> {
    const id = this.id(claim.userId, claim.key);
    const existing = this.records.get(id);
    const forgotten =
      existing && (existing.createdAt < claim.expiredBefore || (existing.tasks === null && existing.createdAt < claim.abandonedBefore));
    if (!existing || forgotten) {
      const token = randomUUID();
      this.records.set(id, { fingerprint: claim.fingerprint, tasks: null, createdAt: claim.now, token });
      return { kind: 'claimed', token };
    }
    if (existing.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
    return existing.tasks ? { kind: 'replay', tasks: copy(existing.tasks) } : { kind: 'in_flight' };
  }

  async complete(userId: number, key: string, token: string, created: readonly Task[]): Promise<void> {
    const record = this.records.get(this.id(userId, key));
    if (record?.token !== token) throw idempotencyClaimLost();
    record.tasks = copy(created);
  }

  async release(userId: number, key: string, token: string): Promise<void> {
    const id = this.id(userId, key);
    const record = this.records.get(id);
    if (record?.tasks === null && record.token === token) this.records.delete(id);
  }

  async purgeExpired(expiredBefore: Date): Promise<number> {
    let purged = 0;
    for (const [id, record] of this.records) if (record.createdAt < expiredBefore) purged += Number(this.records.delete(id));
    return purged;
  }

  /** Stands in for ON DELETE CASCADE from users. */
  deleteAllOf(userId: number): void {
    for (const id of this.records.keys()) if (id.startsWith(`${userId}:`)) this.records.delete(id);
  }

  /** For InMemoryTransactionRunner's rollback: a function that puts the key's record back as it is now. */
  undoPoint(userId: number, key: string): () => void {
    const id = this.id(userId, key);
    const saved = this.records.get(id);
    const state = saved && { ...saved }; // complete() changes a record in place
    return () => {
      if (state) this.records.set(id, { ...state });
      else this.records.delete(id);
    };
  }

  private id(userId: number, key: string): string {
    return `${userId}:${key}`;
  }
}
