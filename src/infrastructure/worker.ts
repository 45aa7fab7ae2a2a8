import { ConfigError, loadConfig } from './config.js';
import { StartupError } from './startup-error.js';
import { createWorkerApplication } from './worker-app.js';

/** The worker process (`npm run worker`): runs jobs until SIGTERM or SIGINT, then hands back what it cannot finish. */
async function main(): Promise<void> {
  const config = loadConfig();
  const { http, logger } = await createWorkerApplication(config);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: taking no new jobs; running ones may finish');
    try {
      await http.close();
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed while releasing resources');
      process.exit(1);
    }
    logger.info('shut down cleanly');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await http.listen({ port: config.jobs.workerPort, host: config.host });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(`taskforge worker: ${error.message}`);
  } else {
    console.error('taskforge worker: failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
