import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newExport, type Export } from '../../src/domain/index.js';
import type { ExportOutcome } from '../../src/application/index.js';
import { exportStoreKinds, openExportStores, type ExportStores } from '../support/export-stores.js';

const kinds = await exportStoreKinds();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Most tests live far ahead, after every housekeeping era below, so housekeeping never sees their rows. */
const T0 = new Date('2200-01-01T10:00:00.000Z');
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

/**
 * Housekeeping reads every user's exports. Each of its tests gets an era of its own, earlier than
 * every era before it, so its queries (all "before" or "at or before" a time in its era) see
 * none of the rows the other tests left.
 */
let eras = 0;
const nextEra = () => new Date(Date.UTC(2150 - ++eras * 5, 0, 1));

const succeeded = (completedAt: Date, size = 42): ExportOutcome => ({ status: 'succeeded', completedAt, expiresAt: at(completedAt, DAY), size });
const failed = (completedAt: Date, error = 'disk full'): ExportOutcome => ({ status: 'failed', completedAt, error });

describe.each(kinds)('ExportRepository contract: %s', (kind) => {
  let stores: ExportStores;
  beforeAll(async () => {
    stores = await openExportStores(kind);
  });
  afterAll(() => stores.close());

  async function anExport(userId: number, createdAt = T0, overrides: Partial<Export> = {}): Promise<Export> {
    const entity = { ...newExport(randomUUID(), userId, 'csv', createdAt), ...overrides };
    await stores.exports.create(entity);
    return entity;
  }

  it('stores an export and finds it by its id for its owner only', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const created = await anExport(owner, T0, { format: 'json' });
    expect(await stores.exports.findById(owner, created.id)).toEqual(created);
    expect(await stores.exports.findById(other, created.id)).toBeNull();
    expect(await stores.exports.findById(owner, randomUUID())).toBeNull();
    expect(await stores.exports.findById(owner, 'not-a-uuid')).toBeNull();
    expect(await stores.exports.findById(0, created.id)).toBeNull();
  });

  it('lists a user’s exports newest first, at most the limit, and no one else’s', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const first = await anExport(owner, at(T0, 1_000));
    const third = await anExport(owner, at(T0, 3_000));
    const second = await anExport(owner, at(T0, 2_000));
    await anExport(other, at(T0, 4_000));
    expect((await stores.exports.listOfUser(owner, 10)).map((e) => e.id)).toEqual([third.id, second.id, first.id]);
    expect((await stores.exports.listOfUser(owner, 2)).map((e) => e.id)).toEqual([third.id, second.id]);
    expect(await stores.exports.listOfUser(await stores.newUser(), 10)).toEqual([]);
  });

  it('starts a pending export, again after a crash, but never a finished one or another user’s', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const entity = await anExport(owner);
    expect(await stores.exports.markRunning(other, entity.id)).toBeNull();
    expect(await stores.exports.markRunning(owner, entity.id)).toEqual({ ...entity, status: 'running' });
    expect(await stores.exports.markRunning(owner, entity.id)).toEqual({ ...entity, status: 'running' });
    await stores.exports.finish(owner, entity.id, succeeded(at(T0, 5_000)));
    expect(await stores.exports.markRunning(owner, entity.id)).toBeNull();
    expect((await stores.exports.findById(owner, entity.id))?.status).toBe('succeeded');
    expect(await stores.exports.markRunning(owner, randomUUID())).toBeNull();
  });

  it('finishes a pending export once: success records the file, and a later failure changes nothing', async () => {
    const owner = await stores.newUser();
    const entity = await anExport(owner);
    const done = await stores.exports.finish(owner, entity.id, succeeded(at(T0, 5_000), 9_007_199_254));
    const expected: Export = { ...entity, status: 'succeeded', completedAt: at(T0, 5_000), expiresAt: at(T0, 5_000 + DAY), size: 9_007_199_254, error: null };
    expect(done).toEqual(expected);
    expect(await stores.exports.finish(owner, entity.id, failed(at(T0, 6_000)))).toBeNull();
    expect(await stores.exports.findById(owner, entity.id)).toEqual(expected);
  });

  it('fails a pending export with its reason, which no later success overrides', async () => {
    const owner = await stores.newUser();
    const other = await stores.newUser();
    const entity = await anExport(owner);
    await stores.exports.markRunning(owner, entity.id);
    expect(await stores.exports.finish(other, entity.id, failed(at(T0, 1)))).toBeNull();
    const expected: Export = { ...entity, status: 'failed', completedAt: at(T0, 5_000), expiresAt: null, size: null, error: 'no space left – ✗' };
    expect(await stores.exports.finish(owner, entity.id, failed(at(T0, 5_000), 'no space left – ✗'))).toEqual(expected);
    expect(await stores.exports.finish(owner, entity.id, succeeded(at(T0, 6_000)))).toBeNull();
    expect(await stores.exports.findById(owner, entity.id)).toEqual(expected);
  });

  it('finishes an export and appends its event in one unit of work, or does neither', async () => {
    const owner = await stores.newUser();
    const entity = await anExport(owner);
    const event = (payload: unknown) => ({ type: 'export.completed', userId: owner, occurredAt: at(T0, 5_000), payload });

    await expect(
      stores.transactions.run(async (scope) => {
        const done = await scope.exports.finish(owner, entity.id, succeeded(at(T0, 5_000)));
        await scope.events.publish(event({ export: done }));
        throw new Error('crashed before the commit');
      }),
    ).rejects.toThrow('crashed before the commit');
    expect(await stores.exports.findById(owner, entity.id)).toEqual(entity);
    expect(await stores.log.latest(owner)).toBeNull();

    const done = await stores.transactions.run(async (scope) => {
      const finished = await scope.exports.finish(owner, entity.id, succeeded(at(T0, 5_000)));
      await scope.events.publish(event({ export: finished }));
      return finished;
    });
    expect(await stores.exports.findById(owner, entity.id)).toEqual(done);
    expect((await stores.log.latest(owner))?.payload).toEqual({ export: done });
  });

  it('goes with its user', async () => {
    const owner = await stores.newUser();
    const entity = await anExport(owner);
    await stores.deleteUser(owner);
    expect(await stores.exports.findById(owner, entity.id)).toBeNull();
    expect(await stores.exports.markRunning(owner, entity.id)).toBeNull();
  });

  describe('housekeeping', () => {
    it('finds the succeeded exports whose file expired and is still there, soonest expiry first, until each is marked removed', async () => {
      const era = nextEra();
      const owner = await stores.newUser();
      const other = await stores.newUser();
      const late = await anExport(owner, era);
      const early = await anExport(other, era);
      const notYet = await anExport(owner, era);
      await anExport(owner, era); // still queued: it has no file
      const broken = await anExport(owner, era);
      await stores.exports.finish(owner, late.id, succeeded(at(era, 2 * HOUR)));
      await stores.exports.finish(other, early.id, succeeded(at(era, HOUR)));
      await stores.exports.finish(owner, notYet.id, succeeded(at(era, 3 * HOUR)));
      await stores.exports.finish(owner, broken.id, failed(at(era, HOUR)));

      const now = at(era, DAY + 2 * HOUR);
      expect((await stores.exports.expiredWithFiles(now, 10)).map((e) => e.id)).toEqual([early.id, late.id]);
      expect((await stores.exports.expiredWithFiles(now, 1)).map((e) => e.id)).toEqual([early.id]);
      await stores.exports.markFileRemoved(early.id, now);
      expect((await stores.exports.expiredWithFiles(now, 10)).map((e) => e.id)).toEqual([late.id]);
      expect(await stores.exports.findById(other, early.id)).toMatchObject({ status: 'succeeded', size: 42 });
    });

    it('forgets an expired export only once its file is removed, and a failed one by when it failed', async () => {
      const era = nextEra();
      const owner = await stores.newUser();
      const removed = await anExport(owner, era);
      const fileStillThere = await anExport(owner, era);
      const recent = await anExport(owner, era);
      const failedLongAgo = await anExport(owner, era);
      const failedRecently = await anExport(owner, era);
      const queued = await anExport(owner, era);
      await stores.exports.finish(owner, removed.id, succeeded(at(era, HOUR)));
      await stores.exports.finish(owner, fileStillThere.id, succeeded(at(era, HOUR)));
      await stores.exports.finish(owner, recent.id, succeeded(at(era, 3 * DAY)));
      await stores.exports.finish(owner, failedLongAgo.id, failed(at(era, HOUR)));
      await stores.exports.finish(owner, failedRecently.id, failed(at(era, 3 * DAY)));
      await stores.exports.markFileRemoved(removed.id, at(era, DAY + HOUR));
      await stores.exports.markFileRemoved(recent.id, at(era, 4 * DAY));

      expect(await stores.exports.deleteFinishedBefore(at(era, 2 * DAY))).toBe(2);
      const left = (await stores.exports.listOfUser(owner, 10)).map((e) => e.id).sort();
      expect(left).toEqual([fileStillThere.id, recent.id, failedRecently.id, queued.id].sort());
      expect(await stores.exports.deleteFinishedBefore(at(era, 2 * DAY))).toBe(0);
    });

    it('finds the exports still queued that were created before a time, oldest first', async () => {
      const era = nextEra();
      const owner = await stores.newUser();
      const other = await stores.newUser();
      const second = await anExport(owner, at(era, 2_000));
      const first = await anExport(other, at(era, 1_000));
      const started = await anExport(owner, at(era, 1_500));
      await anExport(owner, at(era, 10_000));
      await stores.exports.markRunning(owner, started.id);
      expect((await stores.exports.queuedBefore(at(era, 5_000), 10)).map((e) => e.id)).toEqual([first.id, second.id]);
      expect((await stores.exports.queuedBefore(at(era, 5_000), 1)).map((e) => e.id)).toEqual([first.id]);
    });
  });
});
