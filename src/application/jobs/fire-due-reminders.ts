import type { Clock, TaskRepository } from '../ports/index.js';
import type { FireReminder } from './fire-reminder.js';

export const DUE_REMINDERS_BATCH = 100;

/**
 * The catch-up for reminders whose job was lost (a failed enqueue after the write committed, a
 * queue emptied by hand, every process down past the time): fires every pending reminder due by
 * now, through the same claim as the jobs, so a reminder the sweep and its job both reach fires
 * once. Runs on the housekeeping schedule.
 */
export class FireDueReminders {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly reminders: FireReminder,
    private readonly clock: Clock,
    private readonly batchSize = DUE_REMINDERS_BATCH,
  ) {}

  /** Resolves to how many reminders this sweep consumed. */
  async execute(): Promise<number> {
    const now = this.clock.now();
    let consumed = 0;
    for (;;) {
      const due = await this.tasks.findDueReminders(now, this.batchSize);
      let consumedNow = 0;
      for (const reminder of due) if (await this.reminders.fire(reminder)) consumedNow += 1;
      consumed += consumedNow;
      // Going on only after a batch consumed something ends the sweep even when what it reads
      // cannot be claimed (fired meanwhile by its job, changed under it): that waits for the next.
      if (due.length < this.batchSize || consumedNow === 0) return consumed;
    }
  }
}
