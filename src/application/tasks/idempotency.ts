import { DomainError, ValidationError, type Task } from '../../domain/index.js';
import type { IdempotencyKeys } from '../ports/index.js';

/** How long a key is remembered, and after how long an unfinished claim counts as abandoned. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_IN_FLIGHT_LEASE_MS = 60 * 1000;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function parseIdempotencyKey(raw: string): string {
  if (!IDEMPOTENCY_KEY.test(raw)) throw ValidationError.field('idempotency-key', 'must be 1 to 255 visible ASCII characters');
  return raw;
}

/** The same body, whatever order its keys came in. */
export function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${fingerprint(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export type KeyClaim =
  /** The request owns the key: it completes it with what it creates, or releases it on failure. */
  | { kind: 'claimed'; key: string; token: string }
  /** An earlier request with this key and body created these. */
  | { kind: 'replay'; tasks: Task[] };

/**
 * Claims an Idempotency-Key for a creating request (IETF Idempotency-Key draft). A key still in
 * flight, or used before with another body, is a client error; the body is compared by its
 * fingerprint, so callers pass what identifies the request (the route's own shape included).
 */
export async function claimIdempotencyKey(
  keys: IdempotencyKeys,
  userId: number,
  key: string,
  body: unknown,
  now: Date,
  /** How long the claim is held before a retry may take it over: longer than the request can take. */
  leaseMs = IDEMPOTENCY_IN_FLIGHT_LEASE_MS,
): Promise<KeyClaim> {
  const outcome = await keys.claim({
    userId,
    key,
    fingerprint: fingerprint(body),
    now,
    expiredBefore: new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS),
    abandonedBefore: new Date(now.getTime() - leaseMs),
  });
  switch (outcome.kind) {
    case 'claimed':
      return { kind: 'claimed', key, token: outcome.token };
    case 'replay':
      return outcome;
    case 'in_flight':
      throw new DomainError('IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed; retry later.');
    case 'mismatch':
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body.', [
        { field: 'idempotency-key', message: 'was already used with a different request body' },
      ]);
  }
}
