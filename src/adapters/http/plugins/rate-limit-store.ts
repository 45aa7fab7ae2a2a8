import type { FastifyBaseLogger } from 'fastify';
import type { WindowCounter } from '../../../application/ports/window-counter.js';
import { FallbackWindowCounter, type SharedWindowCounter } from '../../redis/fallback-window-counter.js';
import { InMemoryWindowCounter } from '../../shared/in-memory-window-counter.js';

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * The store @fastify/rate-limit calls for each request: the shared counter when it answers, else
 * in-process counting, so losing Redis loosens the limits (per instance) but never stops service.
 */
export class WindowCounterStore {
  constructor(
    private readonly counter: WindowCounter,
    private readonly bucket: string,
  ) {}

  static create(shared: SharedWindowCounter | null, log: FastifyBaseLogger): WindowCounterStore {
    const counter = shared ? new FallbackWindowCounter(shared, { log, counts: 'rate limits' }) : new InMemoryWindowCounter();
    return new WindowCounterStore(counter, 'global');
  }

  /** Each limited route counts in its own bucket. */
  child(route: { routeInfo?: { method?: string | string[]; url?: string } }): WindowCounterStore {
    const method = [route.routeInfo?.method ?? ''].flat().join(',');
    return new WindowCounterStore(this.counter, `${method} ${route.routeInfo?.url ?? ''}`);
  }

  incr(key: string, done: IncrCallback, windowMs: number): void {
    this.counter.increment(`${this.bucket}|${key}`, windowMs).then(
      ({ count, ttlMs }) => done(null, { current: count, ttl: ttlMs }),
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  }
}
