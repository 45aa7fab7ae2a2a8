import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JOB_QUEUE, PurgeBlobGarbage, RunExport } from '../../src/application/index.js';
import type { InMemoryJobQueue } from '../../src/adapters/jobs/in-memory-job-queue.js';
import { createWorkerApplication } from '../../src/infrastructure/worker-app.js';
import { availableEngines, openTestDatabase } from '../support/databases.js';
import { buildE2eApp, expectProblem, signUp } from '../support/http.js';
import { fileBody } from '../support/multipart.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';
import { json, testConfig, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();
const MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024;

/** The service on an S3 bucket, as STORAGE_URL and the S3 settings name it; credentials from the environment, as the SDK's chain reads them. */
describe.each(engines)('the service on S3 storage, on %s', (engine) => {
  let server: S3TestServer;
  let app: TestApp;
  let storageEnv: Record<string, string>;
  beforeAll(async () => {
    server = await startS3Server();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    storageEnv = { STORAGE_URL: `s3://${server.bucket}/deployment-1`, S3_ENDPOINT: server.endpoint, S3_FORCE_PATH_STYLE: 'true' };
    app = await buildE2eApp(engine, { ...storageEnv, ATTACHMENT_MAX_BYTES: String(MAX_ATTACHMENT_BYTES) });
  });
  afterAll(async () => {
    await app.close();
    await server.close();
    vi.unstubAllEnvs();
  });

  const objectKeys = async () =>
    ((await server.client.send(new ListObjectsV2Command({ Bucket: server.bucket }))).Contents ?? []).map((object) => object.Key ?? '').sort();

  it('writes export files to the bucket under its prefix, and serves them from there', async () => {
    const ada = await signUp(app);
    await app.inject({ method: 'POST', url: '/tasks', headers: ada.auth, payload: { title: 'Stored in a bucket' } });
    const requested = json(await app.inject({ method: 'POST', url: '/exports', headers: ada.auth, payload: { format: 'csv' } }));

    const worker = app.container.resolve<InMemoryJobQueue>(JOB_QUEUE).worker();
    await worker.start({ exports: app.container.resolve(RunExport) });
    try {
      await vi.waitFor(async () => expect(json(await app.inject({ method: 'GET', url: `/exports/${requested.id}`, headers: ada.auth })).status).toBe('succeeded'));
    } finally {
      await worker.stop(5_000);
    }

    expect(await objectKeys()).toEqual([expect.stringMatching(new RegExp(`^deployment-1/exports/.*${requested.id}.*\\.csv$`))]);
    const download = await app.inject({ method: 'GET', url: `/exports/${requested.id}/download`, headers: ada.auth });
    expect(download.statusCode).toBe(200);
    expect(download.body).toContain('Stored in a bucket');
  });

  it('keeps attachments in the bucket: a multipart-sized upload is served whole and by range, one over the limit leaves nothing, a deleted one goes at the purge', async () => {
    const ada = await signUp(app);
    const taskId = json(await app.inject({ method: 'POST', url: '/tasks', headers: ada.auth, payload: { title: 'With a large file' } })).id;
    const upload = (bytes: Buffer) => {
      const body = fileBody(bytes, 'large.bin', 'application/octet-stream');
      return app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: { ...ada.auth, ...body.headers }, payload: body.payload });
    };
    const before = await objectKeys();
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 100, 'abcdefghij');
    const created = await upload(bytes);
    expect(created.statusCode, created.body).toBe(201);
    const { id } = json(created);
    const [stored] = (await objectKeys()).filter((key) => !before.includes(key));
    expect(stored).toMatch(new RegExp(`^deployment-1/attachments/${ada.id}/${id}$`));

    const content = `/tasks/${taskId}/attachments/${id}/content`;
    const whole = await app.inject({ method: 'GET', url: content, headers: ada.auth });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(bytes), 'the same bytes').toBe(true);
    const range = await app.inject({ method: 'GET', url: content, headers: { ...ada.auth, range: 'bytes=5242870-5242889' } });
    expect(range.statusCode).toBe(206);
    expect(range.rawPayload.equals(bytes.subarray(5_242_870, 5_242_890)), 'the same bytes').toBe(true);

    expectProblem(await upload(Buffer.alloc(MAX_ATTACHMENT_BYTES + 1)), 413);
    expect(await objectKeys()).toEqual([...before, stored].sort());
    expect(server.unfinishedUploads()).toEqual([]);

    expect((await app.inject({ method: 'DELETE', url: `/tasks/${taskId}/attachments/${id}`, headers: ada.auth })).statusCode).toBe(204);
    await app.container.resolve(PurgeBlobGarbage).execute();
    expect(await objectKeys()).toEqual(before);
  });

  it('reports the bucket in /ready, and stays ready while the bucket does not answer: tasks need no storage', async () => {
    expect(json(await app.inject({ method: 'GET', url: '/ready' }))).toMatchObject({ status: 'ok', checks: { database: 'ok', storage: 'ok' } });

    const missing = await buildE2eApp(engine, { ...storageEnv, STORAGE_URL: 's3://no-such-bucket' });
    try {
      const ready = await missing.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      expect(json(ready).checks).toMatchObject({ database: 'ok', storage: 'unavailable' });
    } finally {
      await missing.close();
    }
  });

  // The worker's storage wiring does not depend on the database: once is enough.
  it.runIf(engine === 'sqlite')('has the worker process report the same bucket in its /ready', async () => {
    const database = await openTestDatabase('sqlite');
    const worker = await createWorkerApplication(testConfig({ ...storageEnv, WORKER_PORT: '0' }), { db: database.db, logger: pino({ level: 'silent' }) });
    try {
      expect(json(await worker.http.inject({ method: 'GET', url: '/ready' }))).toMatchObject({ checks: { storage: 'ok' } });
    } finally {
      await worker.http.close();
      await database.destroy();
    }
  });
});
