import { loadConfig } from './config.js';
import { exitWithStartupFailure, shutdownDeadlineMs, stopOnSignals } from './process-lifecycle.js';
import { createWorkerApplication } from './worker-app.js';

/** The worker process (`npm run worker`): runs jobs until SIGTERM or SIGINT, then hands back what it cannot finish. */
async function main(): Promise<void> {
  const config = loadConfig();
  const { http, logger } = await createWorkerApplication(config);

  stopOnSignals(logger, async (signal) => {
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: taking no new jobs; running ones may finish');
    await http.close();
    return true;
  }, shutdownDeadlineMs(config));

  await http.listen({ port: config.jobs.workerPort, host: config.host });
}

main().catch((error: unknown) => exitWithStartupFailure('taskforge worker', error));
