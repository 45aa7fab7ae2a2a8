/**
 * A process killed (SIGKILL) in the middle of an upload: after a restart, nothing of it is left —
 * no attachment row, no bytes in storage (not even a partial file or an unfinished multipart
 * upload), no garbage record, no event, and the user's quota whole. Real processes, on SQLite
 * with files on disk, and on PostgreSQL with an S3-protocol server.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../scripts/bench/pg.js';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.js';
import { createDatabase, migrateToLatest } from '../../src/adapters/persistence/knex/database.js';
import { fromDbTime } from '../../src/adapters/persistence/knex/sql-values.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';
import { TEST_ENV } from '../support/test-app.js';

const DEADLINE_SECONDS = 1;
const MiB = 2 ** 20;

interface Deployment {
  env: Record<string, string>;
  dataDir: string;
  db: Knex;
  /** What the storage holds: file paths under its root, or the bucket's objects and unfinished uploads. */
  storedBytes(): Promise<string[]>;
  close(): Promise<void>;
}

/** Every file under a folder, relative to it; none when it does not exist. */
function filesUnder(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
  } catch {
    return [];
  }
}

async function sqliteOnDisk(): Promise<Deployment> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-upload-kill-'));
  const filename = path.join(dataDir, 'taskforge.sqlite');
  const db = createDatabase({ kind: 'sqlite', filename });
  await migrateToLatest(db);
  const root = path.join(dataDir, 'attachments');
  return {
    env: { DATABASE_URL: `file:${filename}`, STORAGE_URL: `file:${root}` },
    dataDir,
    db,
    storedBytes: async () => filesUnder(root),
    close: async () => {
      await db.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function postgresOnS3(): Promise<Deployment> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-upload-kill-'));
  const scratch: ScratchDatabase = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'taskforge_upload_kill');
  const db = createDatabase({ kind: 'postgres', url: scratch.url }, { poolMax: 2 });
  await migrateToLatest(db);
  const s3: S3TestServer = await startS3Server();
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  return {
    env: {
      DATABASE_URL: scratch.url,
      STORAGE_URL: `s3://${s3.bucket}/upload-kill`,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    dataDir,
    db,
    storedBytes: async () => {
      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'upload-kill/' }));
      return [...(listed.Contents ?? []).map((object) => object.Key!), ...s3.unfinishedUploads().map((upload) => `unfinished: ${upload.key}`)];
    },
    close: async () => {
      await db.destroy();
      await scratch.drop();
      await s3.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const deployments: Array<[string, () => Promise<Deployment>]> = [
  ['SQLite, files on disk', sqliteOnDisk],
  ...(process.env.TEST_DATABASE_URL ? [['PostgreSQL, S3', postgresOnS3] as [string, () => Promise<Deployment>]] : []),
];

async function call<T>(server: ServerProcess, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(server.baseUrl + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * Sends the head of a multipart upload and `bytes` of its file, then waits with the request open,
 * as a slow client would; resolves once the bytes are written to the socket.
 */
function beginUpload(server: ServerProcess, token: string, taskId: number, bytes: number): Promise<http.ClientRequest> {
  const boundary = 'upload-kill-boundary';
  const request = http.request(`${server.baseUrl}/tasks/${taskId}/attachments`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      // Within ATTACHMENT_MAX_BYTES: the upload is refused for nothing but the crash.
      'content-length': String(24 * MiB),
    },
  });
  // The server dies mid-request: the socket error is what this test expects.
  request.on('error', () => {});
  request.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return new Promise((resolve) => request.write(Buffer.alloc(bytes, 7), () => resolve(request)));
}

describe.each(deployments)('SIGKILL during an upload (%s)', (_name, open) => {
  let deployment: Deployment | undefined;
  const servers: ServerProcess[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
      await server.exited;
    }
    await deployment?.close();
    deployment = undefined;
  });

  it('leaves nothing behind once the service has restarted', async () => {
    deployment = await open();
    // A short lease: a job the killed process held (its start-up purge, say) is run again soon.
    const env = { ...TEST_ENV, LOG_LEVEL: 'warn', DATA_DIR: deployment.dataDir, ATTACHMENT_UPLOAD_TIMEOUT: `${DEADLINE_SECONDS}s`, JOB_LEASE: '2s', ...deployment.env };
    const first = await startServer({ env });
    servers.push(first);

    const credentials = { username: 'uploader', password: 'Upload-kill-password-1' };
    expect((await call(first, 'POST', '/register', { ...credentials, email: 'uploader@example.com' })).status).toBe(201);
    const { body: pair } = await call<{ access_token: string }>(first, 'POST', '/login', credentials);
    const { body: task } = await call<{ id: number }>(first, 'POST', '/tasks', { title: 'Holds a cut-off file' }, pair.access_token);

    // More than one S3 part (5 MiB), so that the bucket holds an unfinished multipart upload.
    await beginUpload(first, pair.access_token, task.id, 12 * MiB);
    // The crash must hit bytes already in storage, with their garbage record written.
    await expect.poll(async () => (await deployment!.storedBytes()).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const [record] = await deployment.db('blob_garbage').select('delete_after');
    expect(record).toBeDefined();
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await deployment.storedBytes()).not.toEqual([]);

    // The record falls due at the upload's deadline; a restart before it must leave the bytes be.
    const due = fromDbTime(record!.delete_after as string | Date).getTime();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 50));
    const second = await startServer({ env });
    servers.push(second);

    // vi.waitFor rather than expect.poll: its failure shows what is left.
    await vi.waitFor(async () => expect(await deployment!.storedBytes()).toEqual([]), { timeout: 40_000, interval: 100 });
    // The bytes go first, their record after: never bytes that no record names.
    await expect.poll(() => deployment!.db('blob_garbage').select('storage_key'), { timeout: 5_000 }).toEqual([]);
    expect(await deployment.db('attachments').select('id')).toEqual([]);
    expect(await deployment.db('events').where('type', 'like', 'attachment.%').select('id')).toEqual([]);
    const listed = await call<{ items: unknown[] }>(second, 'GET', `/tasks/${task.id}/attachments`, undefined, pair.access_token);
    expect(listed).toEqual({ status: 200, body: { items: [] } });
    const usage = await deployment.db('attachment_usage').select('bytes');
    expect(usage.every((row: { bytes: number | string }) => Number(row.bytes) === 0)).toBe(true);
  }, 90_000);
});
