import type { Knex } from 'knex';
import type { NewPersonalAccessToken, PersonalAccessTokenMatch, PersonalAccessTokenRepository } from '../../../application/index.js';
import type { PersonalAccessToken, Role } from '../../../domain/index.js';
import { fixedStatement, runFixed } from './fixed-statements.js';
import { lookupChunks } from './lookup-chunks.js';
import { fromScopeColumn, toScopeColumn } from './scope-column.js';
import { isStorableId } from './sql-ids.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from './sql-values.js';

interface TokenRow {
  id: number;
  user_id: number;
  name: string;
  scopes: string;
  created_at: string | Date;
  expires_at: string | Date | null;
  last_used_at: string | Date | null;
}

const COLUMNS = ['id', 'user_id', 'name', 'scopes', 'created_at', 'expires_at', 'last_used_at'] as const;

const toEntity = (row: TokenRow): PersonalAccessToken => ({
  id: Number(row.id),
  userId: Number(row.user_id),
  name: row.name,
  scopes: fromScopeColumn(row.scopes),
  createdAt: fromDbTime(row.created_at),
  expiresAt: fromDbTimeOrNull(row.expires_at),
  lastUsedAt: fromDbTimeOrNull(row.last_used_at),
});

const toRow = (token: NewPersonalAccessToken) => ({
  user_id: token.userId,
  name: token.name,
  digest: token.digest,
  scopes: toScopeColumn(token.scopes),
  created_at: toDbTime(token.createdAt),
  expires_at: token.expiresAt && toDbTime(token.expiresAt),
});

/** Run by every request that brings a personal access token (see fixed-statements.ts). */
const TOKEN_BY_DIGEST = fixedStatement(
  'personal_access_token_by_digest',
  `select ${COLUMNS.map((column) => `p.${column}`).join(', ')}, u.role from personal_access_tokens p join users u on u.id = p.user_id where p.digest = ?`,
);

/** Writes go to `db`; the check of every request that brings a token to `reads` (openReadPool). */
export class KnexPersonalAccessTokenRepository implements PersonalAccessTokenRepository {
  constructor(
    private readonly db: Knex,
    private readonly reads: Knex = db,
  ) {}

  async create(token: NewPersonalAccessToken): Promise<PersonalAccessToken> {
    const [row] = await this.db('personal_access_tokens').insert(toRow(token)).returning<TokenRow[]>(COLUMNS);
    return toEntity(row!);
  }

  async listOfUser(userId: number): Promise<PersonalAccessToken[]> {
    if (!isStorableId(userId)) return [];
    const rows = await this.db('personal_access_tokens').where({ user_id: userId }).orderBy('id', 'desc').select<TokenRow[]>(COLUMNS);
    return rows.map(toEntity);
  }

  async delete(userId: number, id: number): Promise<boolean> {
    if (!isStorableId(userId) || !isStorableId(id)) return false;
    return (await this.db('personal_access_tokens').where({ id, user_id: userId }).delete()) > 0;
  }

  async findByDigest(digest: string): Promise<PersonalAccessTokenMatch | null> {
    // The unique index on digest, and the user's primary key: one lookup, and no row once the user is gone.
    const [row] = await runFixed<TokenRow & { role: Role }>(this.reads, TOKEN_BY_DIGEST, [digest]);
    return row ? { token: toEntity(row), role: row.role } : null;
  }

  async findById(id: number): Promise<PersonalAccessTokenMatch | null> {
    if (!isStorableId(id)) return null;
    const row = await this.reads('personal_access_tokens as p')
      .join('users as u', 'u.id', 'p.user_id')
      .where('p.id', id)
      .first<(TokenRow & { role: Role }) | undefined>([...COLUMNS.map((column) => `p.${column}`), 'u.role']);
    return row ? { token: toEntity(row), role: row.role } : null;
  }

  async liveOf(ids: readonly number[], now: Date): Promise<Set<number>> {
    const live = new Set<number>();
    for (const chunk of lookupChunks(ids.filter(isStorableId))) {
      const rows = await this.reads('personal_access_tokens')
        .whereIn('id', chunk)
        .andWhere((q) => void q.whereNull('expires_at').orWhere('expires_at', '>', toDbTime(now)))
        .select<{ id: number }[]>('id');
      for (const row of rows) live.add(Number(row.id));
    }
    return live;
  }

  async recordUse(id: number, minute: Date): Promise<void> {
    const at = toDbTime(minute);
    await this.db('personal_access_tokens')
      .where({ id })
      .andWhere((q) => void q.whereNull('last_used_at').orWhere('last_used_at', '<', at))
      .update({ last_used_at: at });
  }

  async purgeExpired(expiredBefore: Date): Promise<number> {
    return this.db('personal_access_tokens').where('expires_at', '<', toDbTime(expiredBefore)).delete();
  }
}
