/**
 * Fixed-window counters: the first increment of a key opens a window of `windowMs`, and the count
 * starts again from 1 once it has passed. Increments are atomic: of N concurrent increments of one
 * key in one window, each sees a different count.
 */
export interface WindowCounter {
  /** Counts one more use of `key`; returns the count in the current window and the time left in it. */
  increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

/** Shared by every instance when Redis is configured; otherwise counted in this process. */
export const WINDOW_COUNTER = Symbol('WindowCounter');
