import type { Knex } from 'knex';
import type { NewUser, Page, PageQuery, UserChanges, UserRepository } from '../../../application/index.js';
import { emailTaken, identityKey, usernameTaken, type Role, type User } from '../../../domain/index.js';
import { uniqueViolationColumn } from './sql-errors.js';
import { escapeLike, fromDbTime, toDbTime } from './sql-values.js';
import { isStorableId } from './sql-ids.js';

interface UserRow {
  id: number;
  username: string;
  username_key: string;
  email: string;
  email_key: string;
  name: string | null;
  role: Role;
  password_hash: string;
  created_at: string | Date;
  updated_at: string | Date;
}

const toEntity = (row: UserRow): User => ({
  id: Number(row.id),
  username: row.username,
  email: row.email,
  name: row.name,
  role: row.role,
  passwordHash: row.password_hash,
  createdAt: fromDbTime(row.created_at),
  updatedAt: fromDbTime(row.updated_at),
});

function toRow(changes: Partial<NewUser> & { updatedAt?: Date }): Partial<UserRow> {
  const row: Partial<UserRow> = {};
  if (changes.username !== undefined) Object.assign(row, { username: changes.username, username_key: identityKey(changes.username) });
  if (changes.email !== undefined) Object.assign(row, { email: changes.email, email_key: identityKey(changes.email) });
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.role !== undefined) row.role = changes.role;
  if (changes.passwordHash !== undefined) row.password_hash = changes.passwordHash;
  if (changes.createdAt !== undefined) row.created_at = toDbTime(changes.createdAt);
  if (changes.updatedAt !== undefined) row.updated_at = toDbTime(changes.updatedAt);
  return row;
}

function translateUniqueViolation(error: unknown): never {
  const column = uniqueViolationColumn(error);
  if (column?.includes('email')) throw emailTaken();
  if (column?.includes('username')) throw usernameTaken();
  throw error;
}

/** Writes go to `db`, reads to `reads` (openReadPool). */
export class KnexUserRepository implements UserRepository {
  constructor(
    private readonly db: Knex,
    private readonly reads: Knex = db,
  ) {}

  async create(user: NewUser): Promise<User> {
    try {
      const [row] = await this.db<UserRow>('users')
        .insert({ ...toRow(user), updated_at: toDbTime(user.createdAt) })
        .returning('*');
      return toEntity(row as UserRow);
    } catch (error) {
      return translateUniqueViolation(error);
    }
  }

  async findById(id: number): Promise<User | null> {
    if (!isStorableId(id)) return null;
    const row = await this.reads<UserRow>('users').where({ id }).first();
    return row ? toEntity(row) : null;
  }

  async findByLogin(login: string): Promise<User | null> {
    const key = identityKey(login);
    const row = await this.reads<UserRow>('users').where({ username_key: key }).orWhere({ email_key: key }).first();
    return row ? toEntity(row) : null;
  }

  async update(id: number, changes: UserChanges): Promise<User | null> {
    if (!isStorableId(id)) return null;
    try {
      const [row] = await this.db<UserRow>('users').where({ id }).update(toRow(changes)).returning('*');
      return row ? toEntity(row as UserRow) : null;
    } catch (error) {
      return translateUniqueViolation(error);
    }
  }

  async delete(id: number): Promise<boolean> {
    if (!isStorableId(id)) return false;
    return (await this.db('users').where({ id }).delete()) > 0;
  }

  async list(query: PageQuery): Promise<Page<User>> {
    const filtered = this.reads<UserRow>('users').modify((builder) => {
      if (!query.q) return;
      const pattern = `%${escapeLike(query.q.toLowerCase())}%`;
      void builder.where((w) =>
        w
          .whereRaw(`username_key like ? escape '\\'`, [pattern])
          .orWhereRaw(`email_key like ? escape '\\'`, [pattern])
          .orWhereRaw(`lower(coalesce(name, '')) like ? escape '\\'`, [pattern]),
      );
    });
    const [rows, countRow] = await Promise.all([
      filtered.clone().orderBy('id', 'asc').limit(query.limit).offset(query.offset),
      filtered.clone().count<{ count: string | number }[]>({ count: '*' }).first(),
    ]);
    return { items: rows.map(toEntity), total: Number(countRow?.count ?? 0) };
  }

  async adminExists(): Promise<boolean> {
    return (await this.reads('users').where({ role: 'admin' }).first('id')) !== undefined;
  }
}
