/**
 * The floor of moving a file over HTTP on this host: bare Fastify, no logging, no multipart, no
 * database. `PUT /floor/file` streams the raw body to a file while hashing it with SHA-256 (the
 * work the service cannot skip either); `GET /floor/file` streams that file back. The service's
 * uploads and downloads are best read against these two routes measured in the same run.
 *
 *   node dist/scripts/bench/upload-floor-server.js   (PORT and FLOOR_DIR from env)
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 3297);
const file = path.join(process.env.FLOOR_DIR ?? '.', 'floor.bin');

const app = Fastify({ logger: false });
// The body is the route's to read: a stream, not a buffer.
app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null));
app.get('/health', async () => ({ status: 'ok' }));
app.put('/floor/file', async (request) => {
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
    createWriteStream(file, { flush: true }),
  );
  return { size, sha256: hash.digest('hex') };
});
app.get('/floor/file', (_request, reply) => reply.type('application/octet-stream').send(createReadStream(file)));

await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
