import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

/** Never written to a log, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.current_password',
  '*.refresh_token',
  '*.access_token',
  '*.client_secret',
  'password',
  'token',
];

/** Log lines held in memory while stdout is slower than the service; beyond this, lines are dropped. */
const STDOUT_BUFFER_LIMIT = 16 * 1024 * 1024;

/**
 * Writes to stdout unless given a destination (the CLI keeps stdout for its output; tests capture).
 * Stdout is written asynchronously: lines logged while a write is under way go out together in the
 * next one, instead of one blocking write(2) per request on the event loop. What is still buffered
 * is flushed when the process exits; a SIGKILL can lose the last lines, never a response.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, destination?: DestinationStream): Logger {
  const pretty = !destination && config.nodeEnv === 'development' && process.stdout.isTTY;
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    },
    destination ?? (pretty ? undefined : pino.destination({ dest: 1, sync: false, maxLength: STDOUT_BUFFER_LIMIT })),
  );
}
