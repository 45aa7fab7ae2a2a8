import websocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { httpProblem, sendProblem } from '../problem.js';
import { CLOSE_GRACE_MS } from './stream-settings.js';

/** The contract's limit on a client frame's payload: a larger one closes the connection with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 4 * 1024;

/**
 * An upgrade request to a route that serves no WebSocket: the plugin would complete the
 * handshake and then close the socket; a problem says what went wrong instead.
 */
function refuseUpgrade(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (!request.ws) return done();
  sendProblem(reply, httpProblem(400, 'This route does not serve WebSockets; GET /events does.'));
}

/**
 * WebSockets for the whole app, before any route is added (the plugin wraps every GET route so
 * that an upgrade request is dispatched through the usual hooks: authentication, rate limits and
 * every check answer before the upgrade). ws answers clients' pings and refuses oversized
 * frames with 1009 by itself.
 */
export async function registerWebSockets(app: FastifyInstance): Promise<void> {
  // closeTimeout is a documented ws option (the closing handshake's deadline) that @types/ws does not list yet.
  const options: NonNullable<WebsocketPluginOptions['options']> & { closeTimeout: number } = { maxPayload: MAX_CLIENT_FRAME_BYTES, closeTimeout: CLOSE_GRACE_MS, perMessageDeflate: false };
  await app.register(websocket, {
    options,
    // A client's protocol error (an oversized frame, bad UTF-8): ws is already closing the
    // connection with the right code; cutting it here would lose that close frame.
    errorHandler: (error, socket, request) => {
      request.log.info({ err: error }, 'websocket closed on a client error');
      if (socket.readyState === socket.OPEN) socket.terminate();
    },
  });
  app.addHook('onRoute', (route) => {
    if (route.wsHandler || ![route.method].flat().includes('GET')) return;
    route.onRequest = [refuseUpgrade, ...[route.onRequest ?? []].flat()];
  });
}
