import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts the drain before a shutdown: `/ready` fails and every response closes its connection. */
    beginDrain(): void;
    /** True from `beginDrain()` (or the start of `close()`) on. */
    readonly draining: boolean;
    /**
     * Runs `listener` once when the drain starts. For what would otherwise hold the drain open:
     * long-lived responses (event streams) never end by themselves.
     */
    onDrain(listener: () => void): void;
  }
}

/**
 * While draining, every response closes its connection, so keep-alive clients move to another
 * instance after their next answer instead of holding this one open. Requests still arriving on
 * such a connection are served normally (the database closes only after the server), not refused
 * with Fastify's non-problem 503 — hence `return503OnClosing: false` on the app.
 */
export function registerShutdownGuard(app: FastifyInstance): void {
  let draining = false;
  const listeners: Array<() => void> = [];
  const beginDrain = () => {
    if (draining) return;
    draining = true;
    for (const listener of listeners.splice(0)) listener();
  };
  app.decorate('beginDrain', beginDrain);
  app.decorate('draining', {
    getter: () => draining,
  });
  app.decorate('onDrain', (listener: () => void) => {
    if (draining) listener();
    else listeners.push(listener);
  });
  app.addHook('preClose', async () => beginDrain());
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
}
