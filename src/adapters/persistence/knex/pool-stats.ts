import type { Knex } from 'knex';

export interface PoolStats {
  used: number;
  free: number;
  pending: number;
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** A snapshot of knex's connection pool; null until the pool exists (or after it is destroyed). */
export function poolStats(db: Knex): PoolStats | null {
  const pool = (db.client as { pool?: TarnPool | null }).pool;
  if (!pool) return null;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}
