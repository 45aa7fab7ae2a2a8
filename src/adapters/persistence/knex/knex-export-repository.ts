import type { Knex } from 'knex';
import type { ExportOutcome, ExportRepository } from '../../../application/index.js';
import type { Export, ExportFormat, ExportStatus } from '../../../domain/index.js';
import { isStorableId } from './sql-ids.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from './sql-values.js';

interface ExportRow {
  id: string;
  user_id: number | string;
  format: ExportFormat;
  status: ExportStatus;
  created_at: string | Date;
  completed_at: string | Date | null;
  expires_at: string | Date | null;
  size: number | string | null;
  error: string | null;
}

const COLUMNS = ['id', 'user_id', 'format', 'status', 'created_at', 'completed_at', 'expires_at', 'size', 'error'] as const satisfies readonly (keyof ExportRow)[];
const PENDING: ExportStatus[] = ['queued', 'running'];

const toRow = (entity: Export): ExportRow => ({
  id: entity.id,
  user_id: entity.userId,
  format: entity.format,
  status: entity.status,
  created_at: toDbTime(entity.createdAt),
  completed_at: entity.completedAt && toDbTime(entity.completedAt),
  expires_at: entity.expiresAt && toDbTime(entity.expiresAt),
  size: entity.size,
  error: entity.error,
});

const toEntity = (row: ExportRow): Export => ({
  id: row.id,
  userId: Number(row.user_id),
  format: row.format,
  status: row.status,
  createdAt: fromDbTime(row.created_at),
  completedAt: fromDbTimeOrNull(row.completed_at),
  expiresAt: fromDbTimeOrNull(row.expires_at),
  // PostgreSQL returns bigint as text.
  size: row.size === null ? null : Number(row.size),
  error: row.error,
});

const outcomeColumns = (outcome: ExportOutcome): Partial<ExportRow> =>
  outcome.status === 'succeeded'
    ? { status: 'succeeded', completed_at: toDbTime(outcome.completedAt), expires_at: toDbTime(outcome.expiresAt), size: outcome.size, error: null }
    : { status: 'failed', completed_at: toDbTime(outcome.completedAt), expires_at: null, size: null, error: outcome.error };

/** Exports on SQLite and PostgreSQL. `db` may be a transaction (TransactionScope.exports): every query then runs inside it. */
export class KnexExportRepository implements ExportRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly reads: Knex | Knex.Transaction = db,
  ) {}

  async create(entity: Export): Promise<void> {
    await this.db('exports').insert(toRow(entity));
  }

  async findById(userId: number, id: string): Promise<Export | null> {
    if (!isStorableId(userId)) return null;
    const row = await this.reads('exports').where({ id, user_id: userId }).first<ExportRow | undefined>(COLUMNS);
    return row ? toEntity(row) : null;
  }

  async listOfUser(userId: number, limit: number): Promise<Export[]> {
    if (!isStorableId(userId)) return [];
    const rows = await this.reads('exports').where({ user_id: userId }).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).select<ExportRow[]>(COLUMNS);
    return rows.map(toEntity);
  }

  async markRunning(userId: number, id: string): Promise<Export | null> {
    return this.updatePending(userId, id, { status: 'running' });
  }

  async finish(userId: number, id: string, outcome: ExportOutcome): Promise<Export | null> {
    return this.updatePending(userId, id, outcomeColumns(outcome));
  }

  async expiredWithFiles(now: Date, limit: number): Promise<Export[]> {
    const rows = await this.db('exports')
      .where({ status: 'succeeded' })
      .andWhere('expires_at', '<=', toDbTime(now))
      .whereNull('file_removed_at')
      .orderBy('expires_at')
      .limit(limit)
      .select<ExportRow[]>(COLUMNS);
    return rows.map(toEntity);
  }

  async markFileRemoved(id: string, at: Date): Promise<void> {
    await this.db('exports').where({ id }).whereNull('file_removed_at').update({ file_removed_at: toDbTime(at) });
  }

  async deleteFinishedBefore(cutoff: Date): Promise<number> {
    const before = toDbTime(cutoff);
    return this.db('exports')
      .where((expired) => void expired.where({ status: 'succeeded' }).andWhere('expires_at', '<', before).whereNotNull('file_removed_at'))
      .orWhere((failed) => void failed.where({ status: 'failed' }).andWhere('completed_at', '<', before))
      .delete();
  }

  async queuedBefore(cutoff: Date, limit: number): Promise<Export[]> {
    const rows = await this.db('exports')
      .where({ status: 'queued' })
      .andWhere('created_at', '<', toDbTime(cutoff))
      .orderBy('created_at')
      .limit(limit)
      .select<ExportRow[]>(COLUMNS);
    return rows.map(toEntity);
  }

  /** One conditional statement: only a pending export changes, so a finished one stays as it finished. */
  private async updatePending(userId: number, id: string, columns: Partial<ExportRow>): Promise<Export | null> {
    if (!isStorableId(userId)) return null;
    const [row] = await this.db('exports').where({ id, user_id: userId }).whereIn('status', PENDING).update(columns).returning<ExportRow[]>(COLUMNS);
    return row ? toEntity(row) : null;
  }
}
