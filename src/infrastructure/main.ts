import { createApplication } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { drainAndClose } from './graceful-shutdown.js';
import { StartupError } from './startup-error.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const { http, logger } = await createApplication(config);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: draining connections');
    try {
      const clean = await drainAndClose(http, { delayMs: config.shutdownDelayMs, timeoutMs: config.shutdownTimeoutMs }, logger);
      if (!clean) process.exit(1);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed while releasing resources');
      process.exit(1);
    }
    logger.info('shut down cleanly');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await http.listen({ port: config.port, host: config.host });
  logger.info(`docs at http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/docs`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(`taskforge: ${error.message}`);
  } else {
    console.error('taskforge: failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
