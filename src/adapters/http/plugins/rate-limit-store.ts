import type { FastifyBaseLogger } from 'fastify';

/** A fixed-window counter shared by every instance of the service (Redis in production). */
export interface SharedWindowCounter {
  /** False while the shared store is unreachable; the limiter then counts in-process. */
  readonly available: boolean;
  increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

interface Window {
  count: number;
  resetAt: number;
}

const MAX_LOCAL_KEYS = 50_000;

/** In-process fixed windows: the default, and the fallback while the shared counter is down. */
class LocalWindows {
  private readonly windows = new Map<string, Window>();

  increment(key: string, windowMs: number, now = Date.now()): { count: number; ttlMs: number } {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size >= MAX_LOCAL_KEYS) this.sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, ttlMs: window.resetAt - now };
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Still full of live windows: forget the oldest rather than grow without bound.
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_LOCAL_KEYS) break;
      this.windows.delete(key);
    }
  }
}

interface StoreState {
  shared: SharedWindowCounter | null;
  local: LocalWindows;
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
    return new FallbackRateLimitStore({ shared, local: new LocalWindows(), log, degraded: false }, 'global');
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
    const { count, ttlMs } = this.state.local.increment(bucketKey, windowMs);
    done(null, { current: count, ttl: ttlMs });
  }
}
