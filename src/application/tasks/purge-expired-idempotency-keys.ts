import type { Clock, IdempotencyStore } from '../ports/index.js';
import { IDEMPOTENCY_KEY_TTL_MS } from './idempotency.js';

/**
 * Forgets Idempotency-Keys past their lifetime. A claim already ignores them; this keeps keys
 * that are never sent again from piling up.
 */
export class PurgeExpiredIdempotencyKeys {
  constructor(
    private readonly keys: IdempotencyStore,
    private readonly clock: Clock,
  ) {}

  execute(): Promise<number> {
    return this.keys.purgeExpired(new Date(this.clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS));
  }
}
