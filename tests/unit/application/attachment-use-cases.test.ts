import { describe, expect, it } from 'vitest';
import {
  DeleteAttachment,
  PurgeBlobGarbage,
  UploadAttachment,
  type AttachmentUpload,
} from '../../../src/application/index.js';
import { InMemoryAttachmentRepository } from '../../../src/adapters/persistence/memory/in-memory-attachment-repository.js';
import { InMemoryChangeLog } from '../../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryExportRepository } from '../../../src/adapters/persistence/memory/in-memory-export-repository.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { InMemoryBlobStorage } from '../../../src/adapters/storage/in-memory-blob-storage.js';
import { RecordingJobQueue } from '../../support/export-harness.js';
import { FixedClock, SequentialIds } from '../../support/fakes.js';
import { aNewTask, aPrincipal } from '../../support/task-builders.js';

const HOUR = 3_600_000;

async function harness(settings = { maxBytes: 10, quotaBytes: 25, uploadTimeoutMs: HOUR }) {
  const clock = new FixedClock(new Date('2026-12-10T10:00:00.000Z'));
  const tasks = new InMemoryTaskRepository();
  const attachments = new InMemoryAttachmentRepository(tasks, () => clock.now());
  tasks.onDelete.push((userId, taskId) => attachments.deleteAllOfTask(userId, taskId));
  const log = new InMemoryChangeLog();
  const transactions = new InMemoryTransactionRunner(tasks, new InMemoryIdempotencyStore(), log, undefined, new InMemoryExportRepository(), attachments);
  const storage = new InMemoryBlobStorage();
  const jobs = new RecordingJobQueue();
  const actor = aPrincipal(1);
  const task = await tasks.create(aNewTask(actor.userId));
  return {
    clock,
    tasks,
    attachments,
    log,
    storage,
    jobs,
    actor,
    taskId: task.id,
    upload: new UploadAttachment(tasks, attachments, storage, transactions, new SequentialIds(), clock, settings),
    remove: new DeleteAttachment(tasks, attachments, transactions, jobs, clock, () => {}),
    purge: new PurgeBlobGarbage(attachments, storage, clock),
  };
}

const fileOf = (...chunks: Array<string | (() => void)>): AttachmentUpload => ({
  filename: 'a.txt',
  contentType: 'text/plain',
  bytes: (async function* () {
    for (const chunk of chunks) {
      if (typeof chunk === 'function') chunk();
      else yield Buffer.from(chunk);
    }
  })(),
});

type Harness = Awaited<ReturnType<typeof harness>>;

/** No attachment, no bytes, no garbage record, no event, no usage: what a refused upload must leave. */
async function expectNothingLeft(h: Harness) {
  expect(await h.attachments.listOfTask(h.actor.userId, h.taskId)).toEqual([]);
  expect(h.storage.keys()).toEqual([]);
  expect(await h.attachments.dueGarbage(new Date('2100-01-01'), 100)).toEqual([]);
  expect(await h.attachments.usage(h.actor.userId)).toBe(0);
  expect((await h.log.readAfter(h.actor.userId, 0, 100)).filter((event) => event.type.startsWith('attachment.'))).toEqual([]);
}

describe('UploadAttachment', () => {
  it('stores the bytes, the attachment and its event, and claims the key’s garbage record', async () => {
    const h = await harness();
    const created = await h.upload.execute(h.actor, h.taskId, async () => fileOf('hello ', 'you'));
    expect(created).toMatchObject({ userId: 1, taskId: h.taskId, filename: 'a.txt', contentType: 'text/plain', size: 9 });
    expect(h.storage.keys()).toEqual([`attachments/1/${created.id}`]);
    expect(await h.attachments.dueGarbage(new Date('2100-01-01'), 100)).toEqual([]);
    expect((await h.log.latest(1))?.type).toBe('attachment.created');
  });

  it('refuses a file over the limit while it streams, leaving nothing', async () => {
    const h = await harness();
    await expect(h.upload.execute(h.actor, h.taskId, async () => fileOf('123456', '78901'))).rejects.toMatchObject({ code: 'ATTACHMENT_TOO_LARGE' });
    await expectNothingLeft(h);
  });

  it('leaves nothing when the transfer fails midway', async () => {
    const h = await harness();
    const cut = fileOf('12345', () => {
      throw new Error('connection reset');
    });
    await expect(h.upload.execute(h.actor, h.taskId, async () => cut)).rejects.toThrow('connection reset');
    await expectNothingLeft(h);
  });

  it('deletes the stored bytes when the quota is exceeded after they were stored', async () => {
    const h = await harness();
    await h.upload.execute(h.actor, h.taskId, async () => fileOf('1234567890'));
    await h.upload.execute(h.actor, h.taskId, async () => fileOf('1234567890'));
    const before = h.storage.keys();
    await expect(h.upload.execute(h.actor, h.taskId, async () => fileOf('123456'))).rejects.toMatchObject({ code: 'ATTACHMENT_QUOTA_EXCEEDED' });
    expect(h.storage.keys()).toEqual(before);
    expect(await h.attachments.usage(1)).toBe(20);
    expect(await h.attachments.dueGarbage(new Date('2100-01-01'), 100)).toEqual([]);
  });

  it('refuses an upload that outlives its deadline, even once stored, leaving nothing', async () => {
    const h = await harness();
    await expect(h.upload.execute(h.actor, h.taskId, async () => fileOf('12', () => h.clock.advanceMs(HOUR), '34'))).rejects.toMatchObject({
      code: 'ATTACHMENT_UPLOAD_TIMED_OUT',
    });
    await expectNothingLeft(h);
  });

  it('answers 404 when the task goes while its file uploads, leaving nothing', async () => {
    const h = await harness();
    const deleteTask = () => void h.tasks.delete(h.actor.userId, h.taskId);
    await expect(h.upload.execute(h.actor, h.taskId, async () => fileOf('12', deleteTask, '34'))).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await expectNothingLeft(h);
  });

  it('refuses an empty file and another user’s task without storing anything', async () => {
    const h = await harness();
    await expect(h.upload.execute(h.actor, h.taskId, async () => fileOf())).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    let received = false;
    const receive = async () => ((received = true), fileOf('x'));
    await expect(h.upload.execute(aPrincipal(2), h.taskId, receive)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    expect(received).toBe(false);
    await expectNothingLeft(h);
  });
});

describe('DeleteAttachment and PurgeBlobGarbage', () => {
  it('deletes the attachment with its event, enqueues the purge once, and the purge removes the bytes then the record', async () => {
    const h = await harness();
    const created = await h.upload.execute(h.actor, h.taskId, async () => fileOf('12345'));
    await h.remove.execute(h.actor, h.taskId, created.id);
    expect(await h.attachments.findById(1, h.taskId, created.id)).toBeNull();
    expect(await h.attachments.usage(1)).toBe(0);
    expect((await h.log.latest(1))?.payload).toEqual({ taskId: h.taskId, id: created.id });
    expect(h.jobs.enqueued).toEqual([{ queue: 'housekeeping', payload: { chore: 'blob-garbage' }, options: { key: 'blob-garbage-soon' } }]);
    await expect(h.remove.execute(h.actor, h.taskId, created.id)).rejects.toMatchObject({ code: 'ATTACHMENT_NOT_FOUND' });

    expect(h.storage.keys()).toEqual([created.storageKey]);
    expect(await h.purge.execute()).toBe(1);
    expect(h.storage.keys()).toEqual([]);
    expect(await h.attachments.dueGarbage(new Date('2100-01-01'), 100)).toEqual([]);
  });

  it('purges what an upload killed midway left only once its deadline has passed', async () => {
    const h = await harness();
    await h.attachments.recordGarbage('attachments/1/killed', new Date(h.clock.now().getTime() + HOUR));
    await h.storage.put('attachments/1/killed', (async function* () {
      yield Buffer.from('partial');
    })());
    expect(await h.purge.execute()).toBe(0);
    expect(h.storage.keys()).toEqual(['attachments/1/killed']);
    h.clock.advanceMs(HOUR);
    expect(await h.purge.execute()).toBe(1);
    expect(h.storage.keys()).toEqual([]);
  });
});
