import type { Logger } from 'pino';
import type { PurgedEvents } from '../application/index.js';

export const EVENT_PURGE_INTERVAL_MS = 60 * 60 * 1000;

export interface EventPurgeTimer {
  /** No further runs; resolves once a run in progress has ended, so the database can be closed after it. */
  stop(): Promise<void>;
}

/**
 * Runs the change log's purge (PurgeExpiredEvents) at start-up and then every `intervalMs`, until
 * the job queue takes the work over. A failed run is logged and the next one tries again: a purge
 * that waits an hour costs some disk, never a request. The timer does not keep the process alive.
 */
export function startEventPurgeTimer(purge: () => Promise<PurgedEvents>, logger: Logger, intervalMs = EVENT_PURGE_INTERVAL_MS): EventPurgeTimer {
  let running: Promise<void> | null = null;
  const run = () => {
    if (running) return;
    // Through a promise from the start, so even a purge that throws at once is logged, never thrown out of a timer.
    running = Promise.resolve()
      .then(purge)
      .then((purged) => {
        if (purged.events > 0 || purged.tickets > 0) logger.info(purged, 'purged expired events and event tickets');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'purging expired events failed; trying again at the next interval'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(run, intervalMs).unref();
  run();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
