import { createApplication } from './app.js';
import { loadConfig } from './config.js';
import { drainAndClose } from './graceful-shutdown.js';
import { exitWithStartupFailure, shutdownDeadlineMs, stopOnSignals } from './process-lifecycle.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const { http, logger } = await createApplication(config);

  stopOnSignals(logger, async (signal) => {
    logger.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: draining connections');
    return drainAndClose(http, { delayMs: config.shutdownDelayMs, timeoutMs: config.shutdownTimeoutMs }, logger);
  }, shutdownDeadlineMs(config));

  await http.listen({ port: config.port, host: config.host });
  logger.info(`docs at http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/docs`);
}

main().catch((error: unknown) => exitWithStartupFailure('taskforge', error));
