import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * After the listener closes, an idle keep-alive connection is kept this long before it is closed.
 * A client cannot know the server is going away until it sees the connection close, so a request
 * it sends meanwhile must still be answered; closing at once would reset requests already on
 * their way. Past this, the connection is closed, as an idle one would be at its keep-alive timeout.
 */
export const IDLE_CONNECTION_GRACE_MS = 1_000;

export interface DrainSettings {
  /** How long new connections are still accepted (a load balancer's deregistration delay). */
  delayMs: number;
  /** Once no longer accepting, how long open requests may take before their connections are cut. */
  timeoutMs: number;
  idleGraceMs?: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Shuts the HTTP side down without dropping a request: `/ready` fails at once and every response
 * closes its connection; new connections are accepted for `delayMs`, then refused; the open ones
 * end after their next response (idle ones after a grace); then the app closes its pools.
 * Resolves false when requests were still open at the deadline and their connections were cut.
 */
export async function drainAndClose(http: FastifyInstance, settings: DrainSettings, logger: Logger): Promise<boolean> {
  http.beginDrain();
  if (settings.delayMs > 0) {
    logger.info({ delayMs: settings.delayMs }, 'draining: /ready answers 503; still accepting connections during the delay');
    await pause(settings.delayMs);
  }
  const server = http.server;
  // http.Server#close would also destroy idle keep-alive connections at once, racing requests
  // already on their way on them; net.Server#close only stops accepting, and calls back once
  // every connection has ended.
  const connectionsEnded = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  logger.info('no longer accepting connections; finishing requests on open ones');
  const grace = setTimeout(() => server.closeIdleConnections(), settings.idleGraceMs ?? IDLE_CONNECTION_GRACE_MS);
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<true>((resolve) => {
    deadline = setTimeout(() => resolve(true), settings.timeoutMs);
  });
  const late = await Promise.race([connectionsEnded.then(() => false), timedOut]);
  clearTimeout(grace);
  clearTimeout(deadline);
  if (late) {
    logger.error('shutdown deadline passed; closing connections with requests still open');
    server.closeAllConnections();
  }
  await http.close();
  return !late;
}
