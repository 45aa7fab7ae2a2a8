/**
 * The floor of moving a file over HTTP on this host: bare Fastify, no logging, no multipart, no
 * database. `PUT /floor/file` streams the raw body to a file while hashing it with SHA-256 (the
 * work the service cannot skip either); `GET /floor/file` streams that file back. The service's
 * uploads and downloads are best read against these two routes measured in the same run.
 * `PUT /floor/uploads/<slot>` does the same into a file per slot, for concurrent uploads.
 *
 *   node dist/scripts/bench/upload-floor-server.js   (PORT and FLOOR_DIR from env)
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Fastify, { type FastifyRequest } from 'fastify';

const port = Number(process.env.PORT ?? 3297);
const directory = process.env.FLOOR_DIR ?? '.';
const file = path.join(directory, 'floor.bin');

const app = Fastify({ logger: false });
// The body is the route's to read: a stream, not a buffer.
app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null));
app.get('/health', async () => ({ status: 'ok' }));
/** Streams the body to `target` while hashing it. */
async function receive(request: FastifyRequest, target: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    request.raw,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.byteLength;
        yield chunk;
      }
    },
    createWriteStream(target, { flush: true }),
  );
  return { size, sha256: hash.digest('hex') };
}

app.put('/floor/file', (request) => receive(request, file));
// Concurrent uploads, each into a file of its own: the slot is a small number, never a path.
app.put<{ Params: { slot: string } }>('/floor/uploads/:slot', async (request, reply) => {
  const slot = Number(request.params.slot);
  if (!Number.isInteger(slot) || slot < 0 || slot > 999) return reply.code(404).send();
  return receive(request, path.join(directory, `upload-${slot}.bin`));
});
app.get('/floor/file', (_request, reply) => reply.type('application/octet-stream').send(createReadStream(file)));

await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
