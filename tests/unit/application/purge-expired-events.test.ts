import { describe, expect, it } from 'vitest';
import { SEVEN_DAYS_MS, syncHarness } from '../../support/sync-harness.js';
import { aPrincipal, aTaskInput } from '../../support/task-builders.js';

describe('PurgeExpiredEvents', () => {
  const ada = aPrincipal(1);

  it('forgets events older than the retention and expired tickets, and keeps the rest', async () => {
    const h = syncHarness();
    const ticket = (digest: string, expiresAt: Date) => h.tickets.save({ digest, userId: 1, sessionId: 's', personalTokenId: null, expiresAt });
    const { task } = await h.createTask.execute(ada, aTaskInput());
    h.clock.advanceMs(1);
    await h.patchTask.execute(ada, task.id, { title: 'changed a moment later' });
    await ticket('expired', h.clock.now());
    await ticket('live', new Date(h.clock.now().getTime() + SEVEN_DAYS_MS + 30_000));

    h.clock.advanceMs(SEVEN_DAYS_MS);
    expect(await h.purge.execute()).toEqual({ events: 1, tickets: 1 });
    expect((await h.log.readAfter(1, 0, 10)).map((event) => event.type)).toEqual(['task.updated']);
    expect(await h.log.head(1)).toBe(2);
    expect(await h.tickets.redeem('live', h.clock.now())).toMatchObject({ userId: 1 });
    expect(await h.purge.execute()).toEqual({ events: 0, tickets: 0 });
  });
});
