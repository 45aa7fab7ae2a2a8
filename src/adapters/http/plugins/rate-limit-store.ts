import type { FastifyBaseLogger } from 'fastify';
import { InMemoryWindowCounter } from '../../shared/in-memory-window-counter.js';

/** A fixed-window counter shared by every instance of the service (Redis in production). */
export interface SharedWindowCounter {
  /** False while the shared store is unreachable; the limiter then counts in-process. */
  readonly available: boolean;
  increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

interface StoreState {
  shared: SharedWindowCounter | null;
  local: InMemoryWindowCounter;
  log: FastifyBaseLogger;
  degraded: boolean;
}

/**
 * The store @fastify/rate-limit calls for each request: the shared counter when it answers, else
 * in-process counting, so losing Redis loosens the limits (per instance) but never stops service.
 */
export class FallbackRateLimitStore {
  constructor(
    private readonly state: StoreState,
    private readonly bucket: string,
  ) {}

  static create(shared: SharedWindowCounter | null, log: FastifyBaseLogger): FallbackRateLimitStore {
    return new FallbackRateLimitStore({ shared, local: new InMemoryWindowCounter(), log, degraded: false }, 'global');
  }

  /** Each limited route counts in its own bucket. */
  child(route: { routeInfo?: { method?: string | string[]; url?: string } }): FallbackRateLimitStore {
    const method = [route.routeInfo?.method ?? ''].flat().join(',');
    return new FallbackRateLimitStore(this.state, `${method} ${route.routeInfo?.url ?? ''}`);
  }

  incr(key: string, done: IncrCallback, windowMs: number): void {
    const bucketKey = `${this.bucket}|${key}`;
    const { shared } = this.state;
    if (!shared?.available) {
      this.countLocally(bucketKey, windowMs, done, shared ? 'unavailable' : null);
      return;
    }
    shared.increment(bucketKey, windowMs).then(
      ({ count, ttlMs }) => {
        if (this.state.degraded) {
          this.state.degraded = false;
          this.state.log.info('rate limits are shared again through Redis');
        }
        done(null, { current: count, ttl: ttlMs });
      },
      (error: unknown) => this.countLocally(bucketKey, windowMs, done, error),
    );
  }

  private countLocally(bucketKey: string, windowMs: number, done: IncrCallback, failure: unknown): void {
    if (failure !== null && !this.state.degraded) {
      this.state.degraded = true;
      const err = failure instanceof Error ? failure : undefined;
      this.state.log.warn({ err }, 'Redis is unavailable: rate limits are counted per instance until it returns');
    }
    const { count, ttlMs } = this.state.local.incrementSync(bucketKey, windowMs);
    done(null, { current: count, ttl: ttlMs });
  }
}
