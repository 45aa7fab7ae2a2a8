import type { Redis } from 'ioredis';
import type { SharedWindowCounter } from './fallback-window-counter.js';

/** Count and expiry in one round trip, so concurrent instances never lose an increment. */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type ScriptedRedis = Redis & { taskforgeWindowIncrement(key: string, windowMs: number): Promise<[number, number]> };

/** Fixed-window counters in Redis, shared by every instance pointing at the same server and prefix. */
export class RedisWindowCounter implements SharedWindowCounter {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('taskforgeWindowIncrement' in redis)) redis.defineCommand('taskforgeWindowIncrement', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  get available(): boolean {
    return this.redis.status === 'ready';
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = await this.redis.taskforgeWindowIncrement(`${this.prefix}${key}`, windowMs);
    return { count, ttlMs };
  }
}
