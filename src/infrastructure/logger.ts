import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

/** Never written to a log, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  // @fastify/multipart logs the options it gives busboy, the request's headers among them, at trace.
  'busboyOptions.headers.authorization',
  'busboyOptions.headers.cookie',
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
/** Lines are written once this much has gathered (~15 access lines), or at the latest after FLUSH_INTERVAL_MS. */
const STDOUT_WRITE_SIZE = 4096;
const FLUSH_INTERVAL_MS = 200;

/**
 * Stdout, written asynchronously and in blocks: one write(2) per request would cost the event
 * loop a thread-pool round trip per line. Lines wait at most FLUSH_INTERVAL_MS.
 */
function bufferedStdout(): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: STDOUT_WRITE_SIZE, maxLength: STDOUT_BUFFER_LIMIT });
  setInterval(() => stdout.flush(), FLUSH_INTERVAL_MS).unref();
  return stdout;
}

/**
 * Writes to stdout unless given a destination (the CLI keeps stdout for its output; tests capture).
 * What is still buffered is flushed when the process exits; a SIGKILL can lose the last lines
 * (up to FLUSH_INTERVAL_MS of them), never a response.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, destination?: DestinationStream): Logger {
  const pretty = !destination && config.nodeEnv === 'development' && process.stdout.isTTY;
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    },
    destination ?? (pretty ? undefined : bufferedStdout()),
  );
}
