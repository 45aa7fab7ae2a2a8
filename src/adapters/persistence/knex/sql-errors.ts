/** The column a unique constraint failed on, for PostgreSQL and SQLite alike; null for other errors. */
export function uniqueViolationColumn(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint, message } = error as { code?: string; constraint?: string; message?: string };
  if (code === '23505' && constraint) return constraint; // PostgreSQL: users_email_key_unique
  // SQLite names the column only in the message (after the whole statement, when knex ran it).
  // node-sqlite3 reports SQLITE_CONSTRAINT, and the column in the message.
  const sqlite = code?.startsWith('SQLITE_CONSTRAINT') ? /UNIQUE constraint failed: (.+)$/.exec(message ?? '') : null;
  return sqlite?.[1] ?? null;
}

/** A foreign key's target was missing (a row referenced what another transaction had just deleted). */
export function isForeignKeyViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: string; message?: string };
  return code === '23503' || (code?.startsWith('SQLITE_CONSTRAINT') === true && /FOREIGN KEY constraint failed/.test(message ?? ''));
}
