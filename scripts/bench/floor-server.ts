/**
 * The floor of PostgreSQL round trips on this host: bare Fastify, no logging, and a `pg` Pool of
 * 10 connections (the service's pool size). `GET /floor/0` answers without touching the database;
 * `GET /floor/k` (k = 1, 2, 3) first runs k sequential round trips of one named prepared
 * statement. The service's requests can be no faster than a route doing as many round trips with
 * nothing else around them, so its ratios are best read against this server's /floor/k over
 * /floor/0 (see docs/performance.md, "What a database round trip costs").
 *
 *   node dist/scripts/bench/floor-server.js   (PORT and DATABASE_URL from env)
 */
import Fastify from 'fastify';
import pg from 'pg';

/** The most sequential round trips a route makes: as many as the bench's costliest scenario, update. */
const MAX_ROUND_TRIPS = 3;

const port = Number(process.env.PORT ?? 3298);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, application_name: 'taskforge-bench-floor' });

/**
 * Named, as the service's fixed statements are: each connection parses and plans it once, and
 * every later call is only bind and execute, so what a call costs is the round trip itself.
 */
const roundTrip = async (n: number): Promise<number> => (await pool.query<{ n: number }>({ name: 'floor', text: 'select $1::int as n', values: [n] })).rows[0]!.n;

// A wrong URL fails here, in the log the bench shows, rather than as 500s in the measurement.
await roundTrip(0);

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok' }));
for (let count = 0; count <= MAX_ROUND_TRIPS; count++) {
  app.get(`/floor/${count}`, async () => {
    let n = 0;
    // One after the other, as a request's statements that depend on each other must run.
    for (let i = 1; i <= count; i++) n = await roundTrip(i);
    // The database's own answer: a route that skipped its round trips could not give it.
    return { n };
  });
}

await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
