import type { Knex } from 'knex';
import type { Principal, RefreshOutcome, Session, SessionRepository, StoredRefreshToken } from '../../../application/index.js';
import { effectiveScopes, type Role } from '../../../domain/index.js';
import { fixedStatement, runFixed } from './fixed-statements.js';
import { lookupChunks } from './lookup-chunks.js';
import { fromScopeColumn, toScopeColumn } from './scope-column.js';
import { fromDbTime, toDbTime } from './sql-values.js';
import { isStorableId } from './sql-ids.js';

interface RefreshTokenState {
  session_id: string;
  user_id: number;
  created_at: string | Date;
  revoked_at: string | Date | null;
  expires_at: string | Date;
  scopes: string;
}

/** Run by every authenticated request: a fixed statement (see fixed-statements.ts). */
const PRINCIPAL_OF_LIVE_SESSION = fixedStatement(
  'principal_of_live_session',
  'select u.role, s.scopes from sessions s join users u on u.id = s.user_id where s.id = ? and s.user_id = ? and s.revoked_at is null',
);

/** Thrown inside the rotation to roll its claim back. */
class RefusedRefresh extends Error {}

/** Writes go to `db`; the session check of every request to `reads` (openReadPool). */
export class KnexSessionRepository implements SessionRepository {
  constructor(
    private readonly db: Knex,
    private readonly reads: Knex = db,
  ) {}

  async create(session: Session, refreshToken: StoredRefreshToken): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('sessions').insert({ id: session.id, user_id: session.userId, created_at: toDbTime(session.createdAt), scopes: toScopeColumn(session.scopes) });
      await this.insertRefreshToken(trx, session.id, refreshToken);
    });
  }

  async findPrincipal(sessionId: string, userId: number): Promise<Principal | null> {
    if (!isStorableId(userId)) return null;
    // Every authenticated request runs this, so a revocation or a role change anywhere applies at once.
    const [row] = await runFixed<{ role: Role; scopes: string }>(this.reads, PRINCIPAL_OF_LIVE_SESSION, [sessionId, userId]);
    return row ? { userId, role: row.role, sessionId, scopes: effectiveScopes(fromScopeColumn(row.scopes), row.role) } : null;
  }

  async liveOf(sessionIds: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    // A session goes with its user (cascade): a row that is not revoked is a live session of an existing user.
    for (const chunk of lookupChunks(sessionIds)) {
      const rows = await this.reads('sessions').whereIn('id', chunk).whereNull('revoked_at').select<{ id: string }[]>('id');
      for (const row of rows) live.add(row.id);
    }
    return live;
  }

  rotateRefreshToken(digest: string, next: StoredRefreshToken, now: Date): Promise<RefreshOutcome> {
    return this.db
      .transaction(async (trx): Promise<RefreshOutcome> => {
        // The conditional update comes first: it arbitrates between parallel refreshes with the
        // same token, and on SQLite it takes the write lock before any read, so a second process
        // never leaves this transaction holding a stale snapshot it cannot write from.
        const claimed = await trx('refresh_tokens').where({ digest }).whereNull('used_at').update({ used_at: toDbTime(now) });
        const state = await trx('refresh_tokens as r')
          .join('sessions as s', 's.id', 'r.session_id')
          .where('r.digest', digest)
          .first<RefreshTokenState | undefined>('r.session_id', 's.user_id', 's.created_at', 's.revoked_at', 'r.expires_at', 's.scopes');
        if (!state) return { kind: 'invalid' };
        if (claimed === 0) return state.revoked_at === null ? { kind: 'reused', sessionId: state.session_id } : { kind: 'invalid' };
        // A dead session's or an expired token is refused, and stays unused: the claim rolls back.
        if (state.revoked_at !== null || fromDbTime(state.expires_at) <= now) throw new RefusedRefresh();
        await this.insertRefreshToken(trx, state.session_id, next);
        return {
          kind: 'rotated',
          session: { id: state.session_id, userId: Number(state.user_id), createdAt: fromDbTime(state.created_at), scopes: fromScopeColumn(state.scopes) },
        };
      })
      .catch((error: unknown) => {
        if (error instanceof RefusedRefresh) return { kind: 'invalid' };
        throw error;
      });
  }

  async revoke(sessionId: string, now: Date): Promise<void> {
    await this.db('sessions').where({ id: sessionId }).whereNull('revoked_at').update({ revoked_at: toDbTime(now) });
  }

  async revokeAllOfUser(userId: number, now: Date, exceptSessionId?: string): Promise<void> {
    await this.db('sessions')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .modify((q) => {
        if (exceptSessionId !== undefined) void q.whereNot({ id: exceptSessionId });
      })
      .update({ revoked_at: toDbTime(now) });
  }

  async purgeEnded(expiredBefore: Date): Promise<number> {
    // The refresh tokens go by cascade.
    return this.db('sessions')
      .whereNotNull('revoked_at')
      .orWhereNotExists((q) =>
        void q
          .select(this.db.raw('1'))
          .from('refresh_tokens as r')
          .where('r.session_id', this.db.ref('sessions.id'))
          .andWhere('r.expires_at', '>=', toDbTime(expiredBefore)),
      )
      .delete();
  }

  private async insertRefreshToken(trx: Knex.Transaction, sessionId: string, token: StoredRefreshToken): Promise<void> {
    await trx('refresh_tokens').insert({ digest: token.digest, session_id: sessionId, expires_at: toDbTime(token.expiresAt) });
  }
}
