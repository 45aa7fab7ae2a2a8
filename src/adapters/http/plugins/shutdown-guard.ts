import type { FastifyInstance } from 'fastify';

/**
 * Once shutdown starts, every response closes its connection: a keep-alive client would otherwise
 * hold the closing server open until it hung up. Requests still arriving on such a connection are
 * served normally (the database closes only after the server), not refused with Fastify's
 * non-problem 503 — hence `return503OnClosing: false` on the app.
 */
export function registerShutdownGuard(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}
