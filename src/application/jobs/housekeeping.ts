import { JobRefusedError, type JobContext, type JobHandler } from '../ports/index.js';

export const HOUSEKEEPING_CHORES = ['purge', 'due-reminders', 'blob-garbage'] as const;
export type HousekeepingChore = (typeof HOUSEKEEPING_CHORES)[number];

export type HousekeepingPayload = { chore: HousekeepingChore };

/** What one purge forgot, by kind of record: `{ sessions: 3 }`, `{ events: 120, tickets: 4 }`. */
export type PurgeCounts = Readonly<Record<string, number>>;

/** Forgets one kind of data once it is past keeping. Safe to run again at any time, and alongside itself. */
export interface PurgeChore {
  /** Names the chore in logs and in the error of a failed run. */
  readonly name: string;
  run(): Promise<PurgeCounts>;
}

export interface HousekeepingChores {
  /** What `purge` runs, one after the other. */
  purges: readonly PurgeChore[];
  /** What `due-reminders` runs: the catch-up for reminders whose own job was lost; null, it does nothing. */
  dueReminders: (() => Promise<unknown>) | null;
  /**
   * What `blob-garbage` runs: the purge of deleted attachments' bytes alone, enqueued after a
   * delete so bytes go soon rather than at the next `purge` (which runs it too). Omitted: nothing.
   */
  blobGarbage?: PurgeChore | null;
  /** Told what each purge forgot, so the composition root can log it. */
  onPurged?: (chore: string, counts: PurgeCounts) => void;
}

function choreOf(payload: unknown): HousekeepingChore {
  const chore = typeof payload === 'object' && payload !== null ? (payload as { chore?: unknown }).chore : undefined;
  if (!HOUSEKEEPING_CHORES.includes(chore as HousekeepingChore)) {
    throw new JobRefusedError(`a housekeeping job needs { chore: ${HOUSEKEEPING_CHORES.map((name) => `'${name}'`).join(' | ')} }`);
  }
  return chore as HousekeepingChore;
}

/**
 * The scheduled upkeep of the service's data. A purge runs every chore even when one fails, so
 * one broken store does not let the others grow; the run then fails naming the failed chores, and
 * the queue retries it (every chore is idempotent) and reports it.
 */
export class Housekeeping implements JobHandler {
  constructor(private readonly chores: HousekeepingChores) {}

  async run(payload: unknown, context: JobContext): Promise<void> {
    const chore = choreOf(payload);
    if (chore === 'due-reminders') await this.chores.dueReminders?.();
    else if (chore === 'blob-garbage') await this.runBlobGarbage();
    else await this.purge(context.signal);
  }

  private async runBlobGarbage(): Promise<void> {
    const chore = this.chores.blobGarbage;
    if (!chore) return;
    this.chores.onPurged?.(chore.name, await chore.run());
  }

  private async purge(signal: AbortSignal): Promise<void> {
    const failures: Array<{ name: string; error: unknown }> = [];
    for (const chore of this.chores.purges) {
      // A stopping worker hands the job back: the chores left run when it runs again.
      signal.throwIfAborted();
      try {
        const counts = await chore.run();
        this.chores.onPurged?.(chore.name, counts);
      } catch (error) {
        failures.push({ name: chore.name, error });
      }
    }
    if (failures.length > 0) {
      const described = failures.map(({ name, error }) => `${name} (${error instanceof Error ? error.message : String(error)})`);
      throw new AggregateError(
        failures.map(({ error }) => error),
        `purge chores failed: ${described.join(', ')}`,
      );
    }
  }
}
