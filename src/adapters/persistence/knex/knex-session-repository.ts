import type { Knex } from 'knex';
import type { Principal, RefreshOutcome, Session, SessionRepository, StoredRefreshToken } from '../../../application/index.js';
import type { Role } from '../../../domain/index.js';
import { PreparedStatements } from './prepared-statements.js';
import { fromDbTime, toDbTime } from './sql-values.js';
import { isStorableId } from './sql-ids.js';

interface RefreshTokenState {
  session_id: string;
  user_id: number;
  created_at: string | Date;
  revoked_at: string | Date | null;
  expires_at: string | Date;
  used_at: string | Date | null;
}

export class KnexSessionRepository implements SessionRepository {
  private readonly statements: PreparedStatements;

  constructor(private readonly db: Knex) {
    this.statements = new PreparedStatements(db);
  }

  async create(session: Session, refreshToken: StoredRefreshToken): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('sessions').insert({ id: session.id, user_id: session.userId, created_at: toDbTime(session.createdAt) });
      await this.insertRefreshToken(trx, session.id, refreshToken);
    });
  }

  async findPrincipal(sessionId: string, userId: number): Promise<Principal | null> {
    if (!isStorableId(userId)) return null;
    // Every authenticated request runs this: a prepared statement, not a query builder.
    const row = await this.statements.first<{ role: Role }>(
      'select u.role from sessions s join users u on u.id = s.user_id where s.id = ? and s.user_id = ? and s.revoked_at is null',
      [sessionId, userId],
    );
    return row ? { userId, role: row.role, sessionId } : null;
  }

  rotateRefreshToken(digest: string, next: StoredRefreshToken, now: Date): Promise<RefreshOutcome> {
    return this.db.transaction(async (trx): Promise<RefreshOutcome> => {
      const state = await trx('refresh_tokens as r')
        .join('sessions as s', 's.id', 'r.session_id')
        .where('r.digest', digest)
        .first<RefreshTokenState | undefined>('r.session_id', 's.user_id', 's.created_at', 's.revoked_at', 'r.expires_at', 'r.used_at');
      if (!state || state.revoked_at !== null) return { kind: 'invalid' };
      if (state.used_at !== null) return { kind: 'reused', sessionId: state.session_id };
      if (fromDbTime(state.expires_at) <= now) return { kind: 'invalid' };

      // The conditional update is the arbiter between parallel refreshes with the same token.
      const claimed = await trx('refresh_tokens').where({ digest }).whereNull('used_at').update({ used_at: toDbTime(now) });
      if (claimed === 0) return { kind: 'reused', sessionId: state.session_id };
      await this.insertRefreshToken(trx, state.session_id, next);
      return {
        kind: 'rotated',
        session: { id: state.session_id, userId: Number(state.user_id), createdAt: fromDbTime(state.created_at) },
      };
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

  private async insertRefreshToken(trx: Knex.Transaction, sessionId: string, token: StoredRefreshToken): Promise<void> {
    await trx('refresh_tokens').insert({ digest: token.digest, session_id: sessionId, expires_at: toDbTime(token.expiresAt) });
  }
}
