import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ATTACHMENT_REPOSITORY, CHANGE_LOG, JOB_QUEUE, PurgeBlobGarbage, type AttachmentRepository, type ChangeLog } from '../../src/application/index.js';
import { toEventDto } from '../../src/adapters/http/events/event-json.js';
import type { InMemoryJobQueue } from '../../src/adapters/jobs/in-memory-job-queue.js';
import { jobHandlers } from '../../src/infrastructure/jobs.js';
import { availableEngines } from '../support/databases.js';
import { buildE2eApp, expectProblem, logInAdmin, signUp, type Account } from '../support/http.js';
import { fileBody, multipartBody, type MultipartBody } from '../support/multipart.js';
import { json, type TestApp } from '../support/test-app.js';

const engines = await availableEngines();

const MAX_BYTES = 4096;
const QUOTA_BYTES = 10_000;
const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

describe.each(engines)('attachments on %s', (engine) => {
  let app: TestApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-attachments-'));
    app = await buildE2eApp(engine, { DATA_DIR: dataDir, ATTACHMENT_MAX_BYTES: String(MAX_BYTES), ATTACHMENT_QUOTA_BYTES: String(QUOTA_BYTES) });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const attachments = () => app.container.resolve<AttachmentRepository>(ATTACHMENT_REPOSITORY);

  /** Every file blob storage holds for attachments, finished or not, wherever under DATA_DIR its root is. */
  const storedFiles = (): string[] =>
    readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(dataDir, path.join(entry.parentPath, entry.name)))
      .filter((file) => file.split(path.sep).some((segment) => segment === 'attachments' || segment === '.incoming'))
      .sort();

  async function attachmentEvents(account: Account) {
    const events = await app.container.resolve<ChangeLog>(CHANGE_LOG).readAfter(account.id, 0, 1_000);
    return events.filter((event) => event.type.startsWith('attachment.')).map(toEventDto);
  }

  /** What an upload may change: its user's rows, usage and events, and the files in storage. */
  async function traces(account: Account, taskId: number) {
    return {
      rows: await attachments().listOfTask(account.id, taskId),
      usage: await attachments().usage(account.id),
      events: await attachmentEvents(account),
      files: storedFiles(),
    };
  }

  async function createTask(account: Account, title = 'With files'): Promise<number> {
    const response = await app.inject({ method: 'POST', url: '/tasks', headers: account.auth, payload: { title } });
    expect(response.statusCode, response.body).toBe(201);
    return json(response).id;
  }

  const upload = (account: Account, taskId: number | string, body: MultipartBody) =>
    app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: { ...account.auth, ...body.headers }, payload: body.payload });

  async function uploaded(account: Account, taskId: number, body: MultipartBody = fileBody('hello')) {
    const response = await upload(account, taskId, body);
    expect(response.statusCode, response.body).toBe(201);
    return json(response);
  }

  const content = (account: Account, taskId: number, id: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
    app.inject({ method, url: `/tasks/${taskId}/attachments/${id}/content`, headers: { ...account.auth, ...headers } });

  it('uploads a file, lists it, serves its exact bytes with the safety headers, and appends attachment.created', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const bytes = Buffer.from('line one\nligne deux ✓\n', 'utf8');
    const response = await upload(ada, taskId, fileBody(bytes, 'notes.txt', 'Text/Plain; Charset="UTF-8"; format=flowed'));
    expect(response.statusCode, response.body).toBe(201);
    const created = json(response);
    expect(Object.keys(created).sort()).toEqual(['content_type', 'created_at', 'filename', 'id', 'sha256', 'size', 'task_id']);
    expect(created).toMatchObject({ task_id: taskId, filename: 'notes.txt', content_type: 'text/plain; charset=utf-8', size: bytes.length, sha256: sha256(bytes) });
    expect(response.headers.location).toBe(`/tasks/${taskId}/attachments/${created.id}`);

    expect(json(await app.inject({ method: 'GET', url: response.headers.location!, headers: ada.auth }))).toEqual(created);
    expect(json(await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments`, headers: ada.auth }))).toEqual({ items: [created] });

    const download = await content(ada, taskId, created.id);
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload).toEqual(bytes);
    expect(download.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(bytes.length),
      etag: `"${sha256(bytes)}"`,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
      'content-disposition': 'attachment; filename="notes.txt"',
    });
    expect(download.headers['content-security-policy']).toMatch(/\bsandbox\b/);

    expect(await attachmentEvents(ada)).toEqual([
      { id: expect.any(String), type: 'attachment.created', occurred_at: created.created_at, data: { task_id: taskId, attachment: created } },
    ]);
    expect(await attachments().usage(ada.id)).toBe(bytes.length);
  });

  it('lists a task’s attachments oldest first', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const first = await uploaded(ada, taskId, fileBody('one', 'a.txt'));
    const second = await uploaded(ada, taskId, fileBody('two', 'b.txt'));
    expect(json(await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments/`, headers: ada.auth })).items).toEqual([first, second]);
  });

  it('serves one range with 206, an unsatisfiable one with 416, several as the whole file, HEAD without a body, and 304 for its ETag', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const bytes = Buffer.from('0123456789');
    const { id } = await uploaded(ada, taskId, fileBody(bytes, 'digits.bin', 'application/octet-stream'));

    const middle = await content(ada, taskId, id, { range: 'bytes=2-5' });
    expect(middle.statusCode).toBe(206);
    expect(middle.body).toBe('2345');
    expect(middle.headers).toMatchObject({ 'content-range': 'bytes 2-5/10', 'content-length': '4', etag: `"${sha256(bytes)}"` });
    expect((await content(ada, taskId, id, { range: 'bytes=7-' })).body).toBe('789');
    expect((await content(ada, taskId, id, { range: 'bytes=-3' })).body).toBe('789');
    const clamped = await content(ada, taskId, id, { range: 'bytes=8-100' });
    expect([clamped.statusCode, clamped.body, clamped.headers['content-range']]).toEqual([206, '89', 'bytes 8-9/10']);

    const outside = await content(ada, taskId, id, { range: 'bytes=10-20' });
    expect(outside.statusCode).toBe(416);
    expect(outside.headers['content-range']).toBe('bytes */10');
    expect(outside.body).toBe('');

    for (const range of ['bytes=0-1,4-5', 'items=0-1', 'bytes=5-2', 'nonsense']) {
      const whole = await content(ada, taskId, id, { range });
      expect([whole.statusCode, whole.body], range).toEqual([200, '0123456789']);
    }

    const head = await content(ada, taskId, id, {}, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers).toMatchObject({ 'content-length': '10', etag: `"${sha256(bytes)}"`, 'accept-ranges': 'bytes' });

    const notModified = await content(ada, taskId, id, { 'if-none-match': `W/"x", "${sha256(bytes)}"` });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect((await content(ada, taskId, id, { 'if-none-match': '"other"' })).statusCode).toBe(200);
  });

  it('offers raster images inline and everything else as an attachment, with an RFC 6266 filename', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const cases: Array<[string, string, string]> = [
      ['image/png', 'pic.png', 'inline; filename="pic.png"'],
      ['image/jpeg', 'pic.jpg', 'inline; filename="pic.jpg"'],
      ['image/gif', 'pic.gif', 'inline; filename="pic.gif"'],
      ['image/webp', 'pic.webp', 'inline; filename="pic.webp"'],
      ['image/svg+xml', 'pic.svg', 'attachment; filename="pic.svg"'],
      ['text/html', 'page.html', 'attachment; filename="page.html"'],
      ['text/plain', 'Ünïcödé résumé.txt', `attachment; filename="_n_c_d_ r_sum_.txt"; filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20r%C3%A9sum%C3%A9.txt`],
      ['text/plain', "it's 100%.txt", `attachment; filename="it's 100_.txt"; filename*=UTF-8''it%27s%20100%25.txt`],
    ];
    for (const [type, filename, disposition] of cases) {
      const { id } = await uploaded(ada, taskId, fileBody('x', filename, type));
      const served = await content(ada, taskId, id);
      expect(served.headers['content-disposition'], filename).toBe(disposition);
      expect(served.headers['content-type']).toBe(type);
      expect(served.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('stores filenames without paths or control characters, at most 255 characters, and "file" when nothing usable is left', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const cases: Array<[string, string]> = [
      ['../../x.txt', 'x.txt'],
      ['..\\..\\windows\\system.ini', 'system.ini'],
      ['/etc/passwd', 'passwd'],
      ['a\u0001b\u007fc\u0085.txt', 'abc.txt'],
      [`${'n'.repeat(1_000)}.txt`, 'n'.repeat(255)],
      ['..', 'file'],
      ['...', 'file'],
      ['dir/', 'file'],
      ['', 'file'],
    ];
    for (const [declared, stored] of cases) expect((await uploaded(ada, taskId, fileBody('x', declared))).filename, declared).toBe(stored);
  });

  it('stores content types lower-cased with charset only, and application/octet-stream when none is declared', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    expect((await uploaded(ada, taskId, fileBody('x', 'a.bin', null))).content_type).toBe('application/octet-stream');
    expect((await uploaded(ada, taskId, fileBody('x', 'a.json', 'Application/JSON; q=1'))).content_type).toBe('application/json');
    expect((await uploaded(ada, taskId, fileBody('x', 'a.bin', 'not a type'))).content_type).toBe('application/octet-stream');
  });

  describe('refused uploads leave no row, no bytes, no event and the quota as it was', () => {
    let ada: Account;
    let taskId: number;
    beforeAll(async () => {
      ada = await signUp(app);
      taskId = await createTask(ada);
      await uploaded(ada, taskId, fileBody('already here'));
    });

    async function expectRefused(status: number, send: () => ReturnType<typeof upload>): Promise<Record<string, unknown>> {
      const before = await traces(ada, taskId);
      const problem = expectProblem(await send(), status);
      expect(await traces(ada, taskId)).toEqual(before);
      return problem;
    }

    it('not multipart → 415', async () => {
      await expectRefused(415, () => app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: ada.auth, payload: { file: 'x' } }));
      await expectRefused(415, () =>
        app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: { ...ada.auth, 'content-type': 'text/plain' }, payload: 'x' }),
      );
      await expectRefused(415, () => app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: ada.auth }));
    });

    it('no file part, a part of another name, a second part, a field instead of a file, or an empty file → 422', async () => {
      const bodies: MultipartBody[] = [
        multipartBody([]),
        multipartBody([{ name: 'upload', filename: 'a.txt', content: 'x' }]),
        multipartBody([{ name: 'file', content: 'not a file part' }]),
        multipartBody([{ name: 'note', content: 'first' }, { name: 'file', filename: 'a.txt', content: 'x' }]),
        multipartBody([{ name: 'file', filename: 'a.txt', content: 'x' }, { name: 'note', content: 'after' }]),
        multipartBody([{ name: 'file', filename: 'a.txt', content: 'x' }, { name: 'file', filename: 'b.txt', content: 'y' }]),
        multipartBody([{ name: 'file', filename: 'a.txt', content: 'x' }, { name: 'a', content: '1' }, { name: 'b', content: '2' }]),
        fileBody(''),
      ];
      for (const body of bodies) {
        const problem = await expectRefused(422, () => upload(ada, taskId, body));
        expect(problem.errors).toEqual([{ field: 'file', message: expect.any(String) }]);
      }
    });

    it('a malformed or cut-off multipart body → 400', async () => {
      const whole = fileBody('some bytes of a file');
      const cases: MultipartBody[] = [
        { payload: Buffer.from('no boundary here'), headers: { 'content-type': 'multipart/form-data' } },
        { payload: whole.payload.subarray(0, whole.payload.length - 30), headers: whole.headers },
        { payload: Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'), headers: { 'content-type': 'multipart/form-data; boundary=b' } },
      ];
      for (const body of cases) {
        const response = await upload(ada, taskId, body);
        expect([400, 422]).toContain(response.statusCode);
        await expectRefused(response.statusCode, () => upload(ada, taskId, body));
      }
    });

    it('a file over ATTACHMENT_MAX_BYTES → 413, even though BODY_LIMIT does not apply', async () => {
      const problem = await expectRefused(413, () => upload(ada, taskId, fileBody(Buffer.alloc(MAX_BYTES + 1, 1))));
      expect(problem.type).toMatch(/attachment-too-large$/);
      const exactly = await uploaded(ada, taskId, fileBody(Buffer.alloc(MAX_BYTES, 2)));
      expect(exactly.size).toBe(MAX_BYTES);
      await app.inject({ method: 'DELETE', url: `/tasks/${taskId}/attachments/${exactly.id}`, headers: ada.auth });
    });

    it('over the quota → 413 quota-exceeded', async () => {
      const bob = await signUp(app);
      const bobsTask = await createTask(bob);
      for (let i = 0; i < 2; i++) await uploaded(bob, bobsTask, fileBody(Buffer.alloc(MAX_BYTES, 3)));
      const before = await traces(bob, bobsTask);
      const problem = expectProblem(await upload(bob, bobsTask, fileBody(Buffer.alloc(QUOTA_BYTES - 2 * MAX_BYTES + 1, 4))), 413);
      expect(problem.type).toMatch(/quota-exceeded$/);
      expect(await traces(bob, bobsTask)).toEqual(before);
      await uploaded(bob, bobsTask, fileBody(Buffer.alloc(QUOTA_BYTES - 2 * MAX_BYTES, 5)));
      expect(await attachments().usage(bob.id)).toBe(QUOTA_BYTES);
      expectProblem(await upload(bob, bobsTask, fileBody('1')), 413);
    });

    it('another user’s task, a task that does not exist, or a bad task id → 404 or 422', async () => {
      const eve = await signUp(app);
      await expectRefused(404, () => upload(eve, taskId, fileBody('mine now')));
      await expectRefused(404, () => upload(ada, 999_999_999, fileBody('x')));
      await expectRefused(422, () => upload(ada, 'abc', fileBody('x')));
    });
  });

  it('answers 404 for another user’s task or attachment, on every route, and changes nothing', async () => {
    const ada = await signUp(app);
    const eve = await signUp(app);
    const taskId = await createTask(ada);
    const evesTask = await createTask(eve);
    const { id } = await uploaded(ada, taskId);
    for (const [method, url, account] of [
      ['GET', `/tasks/${taskId}/attachments`, eve],
      ['GET', `/tasks/${taskId}/attachments/${id}`, eve],
      ['GET', `/tasks/${taskId}/attachments/${id}/content`, eve],
      ['DELETE', `/tasks/${taskId}/attachments/${id}`, eve],
      ['GET', `/tasks/${evesTask}/attachments/${id}`, eve],
      ['DELETE', `/tasks/${evesTask}/attachments/${id}`, eve],
      ['GET', `/tasks/${taskId}/attachments/00000000-0000-4000-8000-000000000000`, ada],
    ] as const) {
      expectProblem(await app.inject({ method, url, headers: account.auth }), 404);
    }
    expectProblem(await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments/not-a-uuid`, headers: ada.auth }), 422);
    expect((await content(ada, taskId, id)).statusCode).toBe(200);
  });

  it('lets exactly the concurrent uploads of one user that fit the quota in, and leaves nothing of the others', async () => {
    const carol = await signUp(app);
    const taskId = await createTask(carol);
    const size = 3_000;
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(carol, taskId, fileBody(Buffer.alloc(size, i), `f${i}.bin`))));
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([201, 201, 201, 413, 413, 413]);
    const kept = await attachments().listOfTask(carol.id, taskId);
    expect(kept).toHaveLength(3);
    expect(await attachments().usage(carol.id)).toBe(3 * size);
    const files = storedFiles().filter((file) => file.includes(`attachments${path.sep}${carol.id}${path.sep}`));
    expect(files).toHaveLength(3);
    expect((await attachmentEvents(carol)).map((event) => event?.type)).toEqual(['attachment.created', 'attachment.created', 'attachment.created']);
  });

  it('deletes an attachment: 204, then 404; attachment.deleted; the quota back; its bytes gone once the job after the delete runs', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const { id } = await uploaded(ada, taskId, fileBody('to be deleted'));
    const isItsFile = (file: string) => file.endsWith(id);
    expect(storedFiles().filter(isItsFile)).toHaveLength(1);
    const deleted = await app.inject({ method: 'DELETE', url: `/tasks/${taskId}/attachments/${id}`, headers: ada.auth });
    expect(deleted.statusCode).toBe(204);
    expectProblem(await app.inject({ method: 'DELETE', url: `/tasks/${taskId}/attachments/${id}`, headers: ada.auth }), 404);
    expectProblem(await content(ada, taskId, id), 404);
    expect(await attachments().usage(ada.id)).toBe(0);
    expect((await attachmentEvents(ada)).at(-1)).toEqual({ id: expect.any(String), type: 'attachment.deleted', occurred_at: expect.any(String), data: { task_id: taskId, id } });

    const queue = app.container.resolve<InMemoryJobQueue>(JOB_QUEUE);
    expect(await queue.waiting('housekeeping')).toBeGreaterThan(0);
    const worker = queue.worker();
    await worker.start(jobHandlers(app.container, app.logger));
    try {
      await vi.waitFor(() => expect(storedFiles().filter(isItsFile)).toEqual([]), { timeout: 10_000, interval: 20 });
    } finally {
      await worker.stop(5_000);
    }
  });

  it('deleting a task or a user removes their attachments at once and their bytes at the purge', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const keptTask = await createTask(ada);
    const onTask = await uploaded(ada, taskId, fileBody('on the task'));
    const kept = await uploaded(ada, keptTask, fileBody('kept'));
    expect((await app.inject({ method: 'DELETE', url: `/tasks/${taskId}`, headers: ada.auth })).statusCode).toBe(204);
    expectProblem(await content(ada, taskId, onTask.id), 404);
    expect(await attachments().usage(ada.id)).toBe(kept.size);
    await app.container.resolve(PurgeBlobGarbage).execute();
    expect(storedFiles().some((file) => file.endsWith(onTask.id))).toBe(false);
    expect(storedFiles().some((file) => file.endsWith(kept.id))).toBe(true);

    const admin = await logInAdmin(app);
    expect((await app.inject({ method: 'DELETE', url: `/users/${ada.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect(await attachments().listOfTask(ada.id, keptTask)).toEqual([]);
    await app.container.resolve(PurgeBlobGarbage).execute();
    expect(storedFiles().some((file) => file.endsWith(kept.id))).toBe(false);
  });

  it('needs tasks:write to upload and delete, tasks:read to read', async () => {
    const ada = await signUp(app);
    const taskId = await createTask(ada);
    const { id } = await uploaded(ada, taskId);
    const tokenFor = async (scope: string) => {
      const response = await app.inject({ method: 'POST', url: '/login', payload: { username: ada.username, password: ada.password, scope } });
      return { authorization: `Bearer ${json(response).access_token}` };
    };
    const readOnly = await tokenFor('tasks:read');
    const writeOnly = await tokenFor('tasks:write');
    const body = fileBody('x');
    expectProblem(await app.inject({ method: 'POST', url: `/tasks/${taskId}/attachments`, headers: { ...readOnly, ...body.headers }, payload: body.payload }), 403);
    expectProblem(await app.inject({ method: 'DELETE', url: `/tasks/${taskId}/attachments/${id}`, headers: readOnly }), 403);
    expectProblem(await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments/${id}/content`, headers: writeOnly }), 403);
    expectProblem(await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments`, headers: writeOnly }), 403);
    expect((await app.inject({ method: 'GET', url: `/tasks/${taskId}/attachments/${id}/content`, headers: readOnly })).statusCode).toBe(200);
  });
});
