import { ValidationError } from '../../domain/index.js';
import type { SortPosition } from '../ports/index.js';

/** Where a sync stands, as the client carries it between requests (signed by the CursorCodec). */
export interface SyncPoint {
  /** The user it was issued to. */
  userId: number;
  /**
   * A position in the user's change log: every change up to it is in the client's copy. During a
   * full sync, the head recorded before the scan began: the changes after it follow the scan.
   */
  position: number;
  /** When it was issued: one older than the retention is refused, as the history after it may be gone. */
  issuedAt: Date;
  /** During a full sync: the last task sent, in the scan's order (created_at, id). */
  after?: SortPosition;
}

/** What a sync token holds, signed by the codec. */
interface SyncTokenPayload {
  v: 1;
  /** The codec signs list cursors too: this tells the two apart. */
  k: 'sync';
  u: number;
  p: number;
  t: number;
  /** [created_at as RFC 3339 UTC, id] of the last task sent by a full sync in progress. */
  a?: [string, number];
}

export function toSyncTokenPayload(point: SyncPoint): SyncTokenPayload {
  const payload: SyncTokenPayload = { v: 1, k: 'sync', u: point.userId, p: point.position, t: point.issuedAt.getTime() };
  if (point.after) payload.a = [String(point.after.value), point.after.id];
  return payload;
}

export const invalidSyncToken = (message: string) =>
  new ValidationError([{ field: 'since', message }], 'The sync token is invalid: use sync_token exactly as given, or start a full sync without since.');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function afterOf(value: unknown): SortPosition | undefined | null {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [createdAt, id] = value as unknown[];
  return typeof createdAt === 'string' && isCount(id) ? { value: createdAt, id } : null;
}

/** A decoded token's sync point; null when the payload is not a sync token's (a list cursor, say). */
export function fromSyncTokenPayload(payload: unknown): SyncPoint | null {
  if (!isObject(payload) || payload.v !== 1 || payload.k !== 'sync' || !isCount(payload.u) || !isCount(payload.p) || !isCount(payload.t)) return null;
  const after = afterOf(payload.a);
  if (after === null) return null;
  return { userId: payload.u, position: payload.p, issuedAt: new Date(payload.t), ...(after ? { after } : {}) };
}
