import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/infrastructure/config.js';
import { openServiceDatabase } from '../../../src/infrastructure/service-database.js';

const SECRET = 'service-database-secret-that-is-long-enough-0123';

describe('the service database on SQLite', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(path.join(os.tmpdir(), 'taskforge-service-db-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('creates DATA_DIR for its default file, even in production where nothing else has', async () => {
    const dataDir = path.join(parent, 'not', 'there', 'yet');
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, DATA_DIR: dataDir });
    const db = await openServiceDatabase(config, undefined, pino({ level: 'silent' }));
    try {
      expect(existsSync(path.join(dataDir, 'taskforge.sqlite'))).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('does not create the folder of a file DATABASE_URL names: a mistyped path fails', async () => {
    const missing = path.join(parent, 'typo');
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      DATA_DIR: parent,
      DATABASE_URL: `file:${path.join(missing, 'taskforge.sqlite')}`,
      DATABASE_CONNECT_TIMEOUT_MS: '0',
    });
    await expect(openServiceDatabase(config, undefined, pino({ level: 'silent' }))).rejects.toThrow(/cannot (connect|open)/);
    expect(existsSync(missing)).toBe(false);
  });
});
