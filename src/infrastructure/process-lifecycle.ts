import type { Logger } from 'pino';
import { ConfigError } from './config.js';
import { StartupError } from './startup-error.js';

/**
 * On the first SIGTERM or SIGINT, runs `stop` once and exits: 0 when it reports a clean stop,
 * 1 when it does not or throws. A second signal while stopping changes nothing. Whatever `stop`
 * waits for (a pool that never closes, a peer that never answers), the process is gone `deadlineMs`
 * after the signal, with exit status 1: an orchestrator's SIGKILL is never what ends it.
 */
export function stopOnSignals(logger: Logger, stop: (signal: string) => Promise<boolean>, deadlineMs: number): void {
  let stopping = false;
  const handle = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      logger.error({ signal, deadlineMs }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, deadlineMs).unref();
    try {
      if (!(await stop(signal))) process.exit(1);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed while releasing resources');
      process.exit(1);
    }
    logger.info('shut down cleanly');
    process.exit(0);
  };
  process.once('SIGTERM', () => void handle('SIGTERM'));
  process.once('SIGINT', () => void handle('SIGINT'));
}

/**
 * How long a whole shutdown may take: the drain delay, in-flight requests' and jobs' timeout, and
 * a margin for closing the database, the queues and the log.
 */
export const shutdownDeadlineMs = (config: { shutdownDelayMs: number; shutdownTimeoutMs: number }): number =>
  config.shutdownDelayMs + config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS;

const SHUTDOWN_MARGIN_MS = 15_000;

/** Why the process could not start, as one line on stderr (`<name>: …`), then exit 1. */
export function exitWithStartupFailure(name: string, error: unknown): never {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(`${name}: ${error.message}`);
  } else {
    console.error(`${name}: failed to start:`, error instanceof Error ? error.message : error);
  }
  process.exit(1);
}
