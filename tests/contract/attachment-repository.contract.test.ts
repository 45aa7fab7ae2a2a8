import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentBlobKey, type Attachment } from '../../src/domain/index.js';
import { attachmentStoreKinds, openAttachmentStores, type AttachmentStores } from '../support/attachment-stores.js';

const kinds = await attachmentStoreKinds();

const T0 = new Date('2200-01-01T10:00:00.000Z');
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
const HOUR = 3_600_000;

/**
 * Garbage queries read every user's records. Each test that lists due records gets an era of its
 * own, long past and earlier than every era before it, so it sees none of the others' records
 * (those recorded by deletes are due "now", after every era).
 */
let eras = 0;
const nextEra = () => new Date(Date.UTC(2000 - ++eras * 5, 0, 1));
/** After every record a delete made so far: what "the purge runs now" sees. */
const soon = () => new Date(Date.now() + 60_000);

describe.each(kinds)('AttachmentRepository contract: %s', (kind) => {
  let stores: AttachmentStores;
  beforeAll(async () => {
    stores = await openAttachmentStores(kind);
  });
  afterAll(() => stores.close());

  function anAttachment(userId: number, taskId: number, overrides: Partial<Attachment> = {}): Attachment {
    const id = randomUUID();
    return {
      id,
      userId,
      taskId,
      filename: 'report ✓.pdf',
      contentType: 'application/pdf',
      size: 10,
      sha256: 'a'.repeat(64),
      storageKey: attachmentBlobKey(userId, id),
      createdAt: T0,
      ...overrides,
    };
  }

  async function created(userId: number, taskId: number, overrides: Partial<Attachment> = {}, quota = 1_000_000): Promise<Attachment> {
    const entity = anAttachment(userId, taskId, overrides);
    expect(await stores.attachments.create(entity, quota)).toBe('created');
    return entity;
  }

  async function owner(): Promise<{ userId: number; taskId: number }> {
    const userId = await stores.newUser();
    return { userId, taskId: await stores.newTask(userId) };
  }

  it('stores an attachment and finds it on its task for its owner only', async () => {
    const { userId, taskId } = await owner();
    const other = await owner();
    const otherTask = await stores.newTask(userId);
    const entity = await created(userId, taskId, { size: 9_007_199_254 }, Number.MAX_SAFE_INTEGER);
    expect(await stores.attachments.findById(userId, taskId, entity.id)).toEqual(entity);
    expect(await stores.attachments.findById(other.userId, taskId, entity.id)).toBeNull();
    expect(await stores.attachments.findById(userId, otherTask, entity.id)).toBeNull();
    expect(await stores.attachments.findById(userId, taskId, randomUUID())).toBeNull();
    expect(await stores.attachments.findById(0, taskId, entity.id)).toBeNull();
    expect(await stores.attachments.usage(userId)).toBe(9_007_199_254);
  });

  it('lists a task’s attachments oldest first (ties by id), and several tasks’ at once, no one else’s', async () => {
    const { userId, taskId } = await owner();
    const second = await stores.newTask(userId);
    const other = await owner();
    const late = await created(userId, taskId, { createdAt: at(T0, 2_000) });
    const early = await created(userId, taskId, { createdAt: at(T0, 1_000) });
    const [tieA, tieB] = [await created(userId, taskId, { createdAt: at(T0, 3_000) }), await created(userId, taskId, { createdAt: at(T0, 3_000) })].sort((a, b) =>
      a.id < b.id ? -1 : 1,
    );
    const onSecond = await created(userId, second);
    await created(other.userId, other.taskId);
    expect(await stores.attachments.listOfTask(userId, taskId)).toEqual([early, late, tieA, tieB]);
    expect(await stores.attachments.listOfTask(other.userId, taskId)).toEqual([]);
    const both = await stores.attachments.listOfTasks(userId, [second, taskId, other.taskId]);
    expect(both.filter((a) => a.taskId === taskId)).toEqual([early, late, tieA, tieB]);
    expect(both.filter((a) => a.taskId === second)).toEqual([onSecond]);
    expect(both).toHaveLength(5);
    expect(await stores.attachments.listOfTasks(userId, [])).toEqual([]);
  });

  it('refuses an attachment over the quota, writing nothing, and accepts one that fits exactly', async () => {
    const { userId, taskId } = await owner();
    await created(userId, taskId, { size: 60 }, 100);
    const over = anAttachment(userId, taskId, { size: 41 });
    expect(await stores.attachments.create(over, 100)).toBe('over-quota');
    expect(await stores.attachments.findById(userId, taskId, over.id)).toBeNull();
    expect(await stores.attachments.usage(userId)).toBe(60);
    await created(userId, taskId, { size: 40 }, 100);
    expect(await stores.attachments.usage(userId)).toBe(100);
  });

  it('refuses an attachment whose task is gone or another user’s, charging nothing', async () => {
    const { userId, taskId } = await owner();
    const other = await owner();
    expect(await stores.attachments.create(anAttachment(userId, other.taskId), 1_000)).toBe('task-gone');
    await stores.deleteTask(userId, taskId);
    const orphan = anAttachment(userId, taskId);
    expect(await stores.attachments.create(orphan, 1_000)).toBe('task-gone');
    expect(await stores.attachments.findById(userId, taskId, orphan.id)).toBeNull();
    expect(await stores.attachments.usage(userId)).toBe(0);
  });

  it('lets exactly the concurrent uploads of one user that fit the quota in, each in its unit of work', async () => {
    const { userId, taskId } = await owner();
    const entities = Array.from({ length: 8 }, () => anAttachment(userId, taskId, { size: 30 }));
    const outcomes = await Promise.all(entities.map((entity) => stores.transactions.run((scope) => scope.attachments.create(entity, 100))));
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'over-quota')).toHaveLength(5);
    expect(await stores.attachments.usage(userId)).toBe(90);
    expect(await stores.attachments.listOfTask(userId, taskId)).toHaveLength(3);
  });

  it('deletes one attachment: its bytes go back to the quota and its key becomes garbage due at once', async () => {
    const { userId, taskId } = await owner();
    const other = await owner();
    const kept = await created(userId, taskId, { size: 7 });
    const entity = await created(userId, taskId, { size: 5 });
    expect(await stores.attachments.delete(other.userId, taskId, entity.id)).toBeNull();
    expect(await stores.attachments.delete(userId, taskId, entity.id)).toEqual(entity);
    expect(await stores.attachments.delete(userId, taskId, entity.id)).toBeNull();
    expect(await stores.attachments.listOfTask(userId, taskId)).toEqual([kept]);
    expect(await stores.attachments.usage(userId)).toBe(7);
    expect(await stores.attachments.dueGarbage(soon(), 10_000)).toContain(entity.storageKey);
    expect(await stores.attachments.dueGarbage(soon(), 10_000)).not.toContain(kept.storageKey);
  });

  it('goes with its task: metadata at once, bytes back to the quota, keys due as garbage', async () => {
    const { userId, taskId } = await owner();
    const otherTask = await stores.newTask(userId);
    const gone = [await created(userId, taskId, { size: 3 }), await created(userId, taskId, { size: 4 })];
    const kept = await created(userId, otherTask, { size: 5 });
    await stores.deleteTask(userId, taskId);
    expect(await stores.attachments.listOfTask(userId, taskId)).toEqual([]);
    expect(await stores.attachments.findById(userId, taskId, gone[0]!.id)).toBeNull();
    expect(await stores.attachments.usage(userId)).toBe(5);
    const due = await stores.attachments.dueGarbage(soon(), 10_000);
    for (const entity of gone) expect(due).toContain(entity.storageKey);
    expect(due).not.toContain(kept.storageKey);
  });

  it('goes with its user: every attachment, the usage, and every key due as garbage', async () => {
    const { userId, taskId } = await owner();
    const gone = [await created(userId, taskId), await created(userId, await stores.newTask(userId))];
    await stores.deleteUser(userId);
    expect(await stores.attachments.listOfTask(userId, taskId)).toEqual([]);
    expect(await stores.attachments.usage(userId)).toBe(0);
    const due = await stores.attachments.dueGarbage(soon(), 10_000);
    for (const entity of gone) expect(due).toContain(entity.storageKey);
  });

  it('creates an attachment, claims its garbage record and appends its event in one unit of work, or does none of it', async () => {
    const { userId, taskId } = await owner();
    const entity = anAttachment(userId, taskId, { size: 11 });
    await stores.attachments.recordGarbage(entity.storageKey, at(T0, HOUR));
    const event = { type: 'attachment.created', userId, occurredAt: T0, payload: { taskId, attachment: entity } };
    const lastBefore = await stores.log.latest(userId);

    await expect(
      stores.transactions.run(async (scope) => {
        expect(await scope.attachments.create(entity, 1_000)).toBe('created');
        expect(await scope.attachments.claimGarbage(entity.storageKey, T0)).toBe(true);
        await scope.events.publish(event);
        throw new Error('crashed before the commit');
      }),
    ).rejects.toThrow('crashed before the commit');
    expect(await stores.attachments.findById(userId, taskId, entity.id)).toBeNull();
    expect(await stores.attachments.usage(userId)).toBe(0);
    expect(await stores.attachments.dueGarbage(at(T0, HOUR), 10_000)).toContain(entity.storageKey);
    expect(await stores.log.latest(userId)).toEqual(lastBefore);

    await stores.transactions.run(async (scope) => {
      await scope.attachments.create(entity, 1_000);
      await scope.attachments.claimGarbage(entity.storageKey, T0);
      await scope.events.publish(event);
    });
    expect(await stores.attachments.findById(userId, taskId, entity.id)).toEqual(entity);
    expect(await stores.attachments.usage(userId)).toBe(11);
    expect(await stores.attachments.dueGarbage(at(T0, 2 * HOUR), 10_000)).not.toContain(entity.storageKey);
    expect((await stores.log.latest(userId))?.payload).toEqual({ taskId, attachment: entity });
  });

  describe('garbage', () => {
    it('lists records due at a time, soonest first, at most the limit', async () => {
      const era = nextEra();
      const keys = ['garbage/a', 'garbage/b', 'garbage/c'].map((key) => `${key}-${randomUUID()}`);
      await stores.attachments.recordGarbage(keys[1]!, at(era, 2 * HOUR));
      await stores.attachments.recordGarbage(keys[0]!, at(era, HOUR));
      await stores.attachments.recordGarbage(keys[2]!, at(era, 3 * HOUR));
      expect(await stores.attachments.dueGarbage(at(era, 2 * HOUR), 10)).toEqual([keys[0], keys[1]]);
      expect(await stores.attachments.dueGarbage(at(era, 5 * HOUR), 2)).toEqual([keys[0], keys[1]]);
      await stores.attachments.forgetGarbage([keys[0]!, keys[1]!]);
      expect(await stores.attachments.dueGarbage(at(era, 5 * HOUR), 10)).toEqual([keys[2]]);
      await stores.attachments.forgetGarbage([keys[2]!, 'garbage/never-recorded']);
      expect(await stores.attachments.dueGarbage(at(era, 5 * HOUR), 10)).toEqual([]);
    });

    it('claims a record only before it is due, and only once', async () => {
      const era = nextEra();
      const key = `garbage/claimed-${randomUUID()}`;
      await stores.attachments.recordGarbage(key, at(era, HOUR));
      expect(await stores.attachments.claimGarbage(key, at(era, HOUR))).toBe(false);
      expect(await stores.attachments.claimGarbage(key, at(era, HOUR - 1))).toBe(true);
      expect(await stores.attachments.claimGarbage(key, era)).toBe(false);
      expect(await stores.attachments.dueGarbage(at(era, 2 * HOUR), 10)).toEqual([]);
      expect(await stores.attachments.claimGarbage(`garbage/unknown-${randomUUID()}`, era)).toBe(false);
    });

    it('records a key again with its new time', async () => {
      const era = nextEra();
      const key = `garbage/again-${randomUUID()}`;
      await stores.attachments.recordGarbage(key, at(era, 3 * HOUR));
      await stores.attachments.recordGarbage(key, at(era, HOUR));
      expect(await stores.attachments.dueGarbage(at(era, HOUR), 10)).toEqual([key]);
    });
  });
});
