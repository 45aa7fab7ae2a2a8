import websocket, { type WebsocketPluginOptions } from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { CLOSE_GRACE_MS } from './stream-settings.js';

/** The contract's limit on a client frame's payload: a larger one closes the connection with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 4 * 1024;

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
}
