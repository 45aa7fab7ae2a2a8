import type { Knex } from 'knex';
import type { AttachmentCreation, AttachmentRepository } from '../../../application/index.js';
import type { Attachment } from '../../../domain/index.js';
import { lookupChunks } from './lookup-chunks.js';
import { isForeignKeyViolation } from './sql-errors.js';
import { isStorableId } from './sql-ids.js';
import { fromDbTime, toDbTime } from './sql-values.js';

interface AttachmentRow {
  id: string;
  user_id: number | string;
  task_id: number | string;
  filename: string;
  content_type: string;
  size: number | string;
  sha256: string;
  storage_key: string;
  created_at: string | Date;
}

const COLUMNS = ['id', 'user_id', 'task_id', 'filename', 'content_type', 'size', 'sha256', 'storage_key', 'created_at'] as const satisfies readonly (keyof AttachmentRow)[];

const toRow = (entity: Attachment): AttachmentRow => ({
  id: entity.id,
  user_id: entity.userId,
  task_id: entity.taskId,
  filename: entity.filename,
  content_type: entity.contentType,
  size: entity.size,
  sha256: entity.sha256,
  storage_key: entity.storageKey,
  created_at: toDbTime(entity.createdAt),
});

const toEntity = (row: AttachmentRow): Attachment => ({
  id: row.id,
  userId: Number(row.user_id),
  taskId: Number(row.task_id),
  filename: row.filename,
  contentType: row.content_type,
  // PostgreSQL returns bigint as text.
  size: Number(row.size),
  sha256: row.sha256,
  storageKey: row.storage_key,
  createdAt: fromDbTime(row.created_at),
});

/**
 * Attachments on SQLite and PostgreSQL. `db` may be a transaction (TransactionScope.attachments):
 * every query then runs inside it. Usage and garbage on deletes are the schema's triggers
 * (migration 013), so a cascade from a task or a user is covered as well as `delete`.
 */
export class KnexAttachmentRepository implements AttachmentRepository {
  constructor(
    private readonly db: Knex | Knex.Transaction,
    private readonly reads: Knex | Knex.Transaction = db,
  ) {}

  async create(entity: Attachment, quotaBytes: number): Promise<AttachmentCreation> {
    // The conditional update is the guard; the insert only follows it, in the same transaction.
    const charge = async (trx: Knex.Transaction): Promise<AttachmentCreation> => {
      if (!isStorableId(entity.taskId)) return 'task-gone';
      const task = await trx('tasks').where({ id: entity.taskId, user_id: entity.userId }).first('id');
      if (!task) return 'task-gone';
      await trx('attachment_usage').insert({ user_id: entity.userId, bytes: 0 }).onConflict('user_id').ignore();
      const charged = await trx('attachment_usage')
        .where({ user_id: entity.userId })
        .andWhereRaw('bytes + ? <= ?', [entity.size, quotaBytes])
        .update({ bytes: trx.raw('bytes + ?', [entity.size]) });
      if (charged !== 1) return 'over-quota';
      try {
        await trx('attachments').insert(toRow(entity));
      } catch (error) {
        // The task was deleted after it was read, by a transaction that committed first.
        if (isForeignKeyViolation(error)) return 'task-gone';
        throw error;
      }
      return 'created';
    };
    // Inside a unit of work the charge belongs to it; alone, it gets its own transaction.
    if (this.db.isTransaction) return charge(this.db as Knex.Transaction);
    return this.db.transaction(charge);
  }

  async findById(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    if (!isStorableId(userId) || !isStorableId(taskId)) return null;
    const row = await this.reads('attachments').where({ id, user_id: userId, task_id: taskId }).first<AttachmentRow | undefined>(COLUMNS);
    return row ? toEntity(row) : null;
  }

  async listOfTask(userId: number, taskId: number): Promise<Attachment[]> {
    return this.listOfTasks(userId, [taskId]);
  }

  async listOfTasks(userId: number, taskIds: readonly number[]): Promise<Attachment[]> {
    const ids = [...new Set(taskIds)].filter(isStorableId);
    if (!isStorableId(userId) || ids.length === 0) return [];
    const found: Attachment[] = [];
    for (const chunk of lookupChunks(ids)) {
      const rows = await this.reads('attachments')
        .where({ user_id: userId })
        .whereIn('task_id', chunk)
        .orderBy('task_id')
        .orderBy('created_at')
        .orderBy('id')
        .select<AttachmentRow[]>(COLUMNS);
      found.push(...rows.map(toEntity));
    }
    return found;
  }

  async delete(userId: number, taskId: number, id: string): Promise<Attachment | null> {
    if (!isStorableId(userId) || !isStorableId(taskId)) return null;
    // Read, then deleted by id: of two concurrent deletes, only the one whose statement removed the row reports it.
    const row = await this.db('attachments').where({ id, user_id: userId, task_id: taskId }).first<AttachmentRow | undefined>(COLUMNS);
    if (!row) return null;
    const deleted = await this.db('attachments').where({ id, user_id: userId, task_id: taskId }).delete();
    return deleted === 1 ? toEntity(row) : null;
  }

  async usage(userId: number): Promise<number> {
    if (!isStorableId(userId)) return 0;
    const row = await this.reads('attachment_usage').where({ user_id: userId }).first<{ bytes: number | string } | undefined>('bytes');
    return row ? Number(row.bytes) : 0;
  }

  async recordGarbage(key: string, deleteAfter: Date): Promise<void> {
    await this.db('blob_garbage')
      .insert({ storage_key: key, delete_after: toDbTime(deleteAfter) })
      .onConflict('storage_key')
      .merge(['delete_after']);
  }

  async claimGarbage(key: string, now: Date): Promise<boolean> {
    const claimed = await this.db('blob_garbage').where({ storage_key: key }).andWhere('delete_after', '>', toDbTime(now)).delete();
    return claimed === 1;
  }

  async dueGarbage(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db('blob_garbage').where('delete_after', '<=', toDbTime(now)).orderBy('delete_after').orderBy('storage_key').limit(limit).select<{ storage_key: string }[]>('storage_key');
    return rows.map((row) => row.storage_key);
  }

  async forgetGarbage(keys: readonly string[]): Promise<void> {
    for (const chunk of lookupChunks([...keys])) await this.db('blob_garbage').whereIn('storage_key', chunk).delete();
  }
}
