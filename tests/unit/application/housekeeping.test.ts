import { describe, expect, it } from 'vitest';
import { Housekeeping, JobRefusedError, type JobContext, type PurgeChore, type PurgeCounts } from '../../../src/application/index.js';

function aContext(signal = new AbortController().signal): JobContext {
  return { jobId: 'job-1', queue: 'housekeeping', attempt: 1, maxAttempts: 5, signal };
}

/** A chore that records its runs and answers `counts`, or fails with `error`. */
function aChore(name: string, runs: string[], outcome: PurgeCounts | Error = { [name]: 1 }): PurgeChore {
  return {
    name,
    run: async () => {
      runs.push(name);
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

describe('Housekeeping', () => {
  it.each([null, 'purge', [], {}, { chore: 'vacuum' }, { chore: 42 }])('refuses the malformed payload %j without running anything', async (payload) => {
    const runs: string[] = [];
    const housekeeping = new Housekeeping({ purges: [aChore('sessions', runs)], dueReminders: async () => runs.push('reminders') });
    const refused = housekeeping.run(payload, aContext());
    await expect(refused).rejects.toBeInstanceOf(JobRefusedError);
    await expect(refused).rejects.toThrow("a housekeeping job needs { chore: 'purge' | 'due-reminders' | 'blob-garbage' }");
    expect(runs).toEqual([]);
  });

  it('runs the blob-garbage chore alone, and reports what it removed', async () => {
    const runs: string[] = [];
    const purged: Array<[string, unknown]> = [];
    const housekeeping = new Housekeeping({
      purges: [aChore('sessions', runs)],
      dueReminders: null,
      blobGarbage: aChore('blob_garbage', runs),
      onPurged: (chore, counts) => purged.push([chore, counts]),
    });
    await housekeeping.run({ chore: 'blob-garbage' }, aContext());
    expect(runs).toEqual(['blob_garbage']);
    expect(purged.map(([chore]) => chore)).toEqual(['blob_garbage']);
  });

  it('purges with every chore in turn and reports what each forgot', async () => {
    const runs: string[] = [];
    const reported: Array<[string, PurgeCounts]> = [];
    const housekeeping = new Housekeeping({
      purges: [aChore('sessions', runs, { sessions: 3 }), aChore('events', runs, { events: 120, tickets: 4 })],
      dueReminders: null,
      onPurged: (chore, counts) => reported.push([chore, counts]),
    });
    await housekeeping.run({ chore: 'purge' }, aContext());
    expect(runs).toEqual(['sessions', 'events']);
    expect(reported).toEqual([
      ['sessions', { sessions: 3 }],
      ['events', { events: 120, tickets: 4 }],
    ]);
  });

  it('runs the other chores when one fails, then fails the run naming the failed ones', async () => {
    const runs: string[] = [];
    const housekeeping = new Housekeeping({
      purges: [aChore('sessions', runs, new Error('database away')), aChore('tokens', runs), aChore('events', runs, new Error('disk full'))],
      dueReminders: null,
    });
    const failed = housekeeping.run({ chore: 'purge' }, aContext());
    await expect(failed).rejects.toThrow('purge chores failed: sessions (database away), events (disk full)');
    expect(runs).toEqual(['sessions', 'tokens', 'events']);
  });

  it('stops between chores once the worker aborts the job, leaving the rest to the next run', async () => {
    const runs: string[] = [];
    const abort = new AbortController();
    const stopping: PurgeChore = { name: 'first', run: async () => (runs.push('first'), abort.abort(), {}) };
    const housekeeping = new Housekeeping({ purges: [stopping, aChore('second', runs)], dueReminders: null });
    await expect(housekeeping.run({ chore: 'purge' }, aContext(abort.signal))).rejects.toThrow();
    expect(runs).toEqual(['first']);
  });

  it('runs the due-reminders step for due-reminders, and no purge', async () => {
    const runs: string[] = [];
    const housekeeping = new Housekeeping({ purges: [aChore('sessions', runs)], dueReminders: async () => runs.push('reminders') });
    await housekeeping.run({ chore: 'due-reminders' }, aContext());
    expect(runs).toEqual(['reminders']);
  });

  it('does nothing for due-reminders when no step is registered', async () => {
    const runs: string[] = [];
    await new Housekeeping({ purges: [aChore('sessions', runs)], dueReminders: null }).run({ chore: 'due-reminders' }, aContext());
    expect(runs).toEqual([]);
  });
});
