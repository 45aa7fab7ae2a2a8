import type { WindowCounter } from '../../application/ports/window-counter.js';

interface Window {
  count: number;
  resetAt: number;
}

export interface InMemoryWindowCounterOptions {
  /** Windows kept at most: every client address or user opens one, so the map must not grow without bound. */
  maxKeys?: number;
  /** The clock windows open and lapse by (tests move it instead of waiting). */
  now?: () => number;
}

/**
 * Fixed windows counted in this process: the counter when there is one instance, and the fallback
 * of a shared counter while it is unreachable.
 */
export class InMemoryWindowCounter implements WindowCounter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor({ maxKeys = 50_000, now = Date.now }: InMemoryWindowCounterOptions = {}) {
    this.maxKeys = maxKeys;
    this.now = now;
  }

  /** `increment`, answered at once: a fallback in the middle of a request has nothing to wait for. */
  incrementSync(key: string, windowMs: number): { count: number; ttlMs: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size >= this.maxKeys) this.sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      // A window opened again moves to the end: the map's order stays the order windows opened in.
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, ttlMs: window.resetAt - now };
  }

  increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    return Promise.resolve(this.incrementSync(key, windowMs));
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Still full of live windows: forget the oldest rather than grow without bound.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
