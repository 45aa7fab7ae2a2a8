import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts the drain before a shutdown: `/ready` fails and every response closes its connection. */
    beginDrain(): void;
    /** True from `beginDrain()` (or the start of `close()`) on. */
    readonly draining: boolean;
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
  app.decorate('beginDrain', () => {
    draining = true;
  });
  app.decorate('draining', {
    getter: () => draining,
  });
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
}
