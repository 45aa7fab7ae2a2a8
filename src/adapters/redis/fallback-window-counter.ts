import type { WindowCounter } from '../../application/ports/window-counter.js';
import { InMemoryWindowCounter } from '../shared/in-memory-window-counter.js';

/** A counter shared by every instance that can be out of reach (RedisWindowCounter). */
export interface SharedWindowCounter extends WindowCounter {
  /** False while the shared store is unreachable: asking it now would only fail. */
  readonly available: boolean;
}

/** Just what is logged; a pino or Fastify logger fits. */
export interface FallbackLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface FallbackWindowCounterOptions {
  log: FallbackLog;
  /** What is counted, as the log lines name it: "rate limits", "AI quotas". */
  counts: string;
  /** Counts while the shared counter is out of reach (tests give one a clock they move). */
  local?: InMemoryWindowCounter;
}

/**
 * The shared counter while it answers, else this process's own count: losing Redis loosens a
 * limit (each instance then allows it on its own) but never refuses or delays a request. One
 * warning when it degrades, one line when counts are shared again, not one per request.
 */
export class FallbackWindowCounter implements WindowCounter {
  private readonly local: InMemoryWindowCounter;
  private degraded = false;

  constructor(
    private readonly shared: SharedWindowCounter,
    private readonly options: FallbackWindowCounterOptions,
  ) {
    this.local = options.local ?? new InMemoryWindowCounter();
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    if (!this.shared.available) return this.countLocally(key, windowMs, undefined);
    let counted: { count: number; ttlMs: number };
    try {
      counted = await this.shared.increment(key, windowMs);
    } catch (error) {
      return this.countLocally(key, windowMs, error);
    }
    if (this.degraded) {
      this.degraded = false;
      this.options.log.info({}, `${this.options.counts} are shared again through Redis`);
    }
    return counted;
  }

  private countLocally(key: string, windowMs: number, failure: unknown): { count: number; ttlMs: number } {
    if (!this.degraded) {
      this.degraded = true;
      const err = failure instanceof Error ? failure : undefined;
      this.options.log.warn({ err }, `Redis is unavailable: ${this.options.counts} are counted per instance until it returns`);
    }
    return this.local.incrementSync(key, windowMs);
  }
}
