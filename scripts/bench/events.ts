/**
 * npm run bench:events [-- options]
 *
 * Live events under load, measured from outside: the compiled service (dist/) is started as one
 * or two processes, users register and log in through the API, each user opens several
 * WebSockets on `GET /events` (spread over the instances), and tasks are then created at a fixed
 * rate, each by a random user through a random instance. For every write the bench notes when
 * its 201 arrived and when each of that user's sockets received its `task.created` frame:
 * delivery latency is the difference (0 when the frame came first). Also measured: the
 * service's resident memory per idle connection, and frames that never arrived (must be none).
 *
 * Setups: `sqlite` (one instance on an SQLite file), `postgres` (one instance on PostgreSQL) and
 * `postgres-redis` (two instances on one PostgreSQL and Redis: a write on one instance reaches
 * sockets on the other through the fan-out).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freePort, mapLimit, migrateWithCli, percentile, redisAnswers, requestJson, round1, rssMiB, sleep, startServer, wholeNumber, type ServerProcess } from './harness.js';
import { createScratchDatabase, probe, redact, type ScratchDatabase } from './pg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_MAIN = path.join(ROOT, 'dist/src/infrastructure/main.js');
const DIST_CLI = path.join(ROOT, 'dist/src/infrastructure/cli.js');
const JWT_SECRET = 'bench-events-secret-that-is-long-enough-0123456789';
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const SETUPS = ['sqlite', 'postgres', 'postgres-redis'] as const;
type Setup = (typeof SETUPS)[number];

/** p99 delivery latency each setup is held to, and memory per idle connection. */
const LATENCY_TARGET_MS: Record<Setup, number> = { sqlite: 50, postgres: 50, 'postgres-redis': 300 };
const RSS_PER_CONNECTION_TARGET_KIB = 30;

const HELP = `npm run bench:events -- [options]
  --setups <a,b>      of ${SETUPS.join(', ')} (default: all whose services answer)
  --connections <n>   WebSockets in all (default 2000)
  --users <n>         users they belong to (default 200)
  --rate <n>          task writes per second (default 200)
  --duration <s>      seconds of writes (default 20)
  --pg <url>          PostgreSQL (or BENCH_PG_URL; default ${DEFAULT_PG_URL})
  --redis <url>       Redis (or BENCH_REDIS_URL; default ${DEFAULT_REDIS_URL})
  --smoke             200 connections, 20 users, 50 writes/s for 3 s: checks the bench, measures nothing
  --check             exit 1 when a target is missed`;

const { values: args } = parseArgs({
  options: {
    setups: { type: 'string' },
    connections: { type: 'string' },
    users: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    pg: { type: 'string' },
    redis: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}


const CONNECTIONS = wholeNumber('connections', args.connections, args.smoke ? 200 : 2000);
const USERS = wholeNumber('users', args.users, args.smoke ? 20 : 200);
const RATE = wholeNumber('rate', args.rate, args.smoke ? 50 : 200);
const DURATION_S = wholeNumber('duration', args.duration, args.smoke ? 3 : 20);
const PG_URL = args.pg ?? process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
const REDIS_URL = args.redis ?? process.env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL;
if (CONNECTIONS < USERS) throw new Error('--connections must be at least --users: every user needs a socket');

interface BenchUser {
  id: number;
  token: string;
  sockets: Socket[];
}

/** One open WebSocket and when each task's frame reached it. */
interface Socket {
  ws: WebSocket;
  instance: number;
  arrivals: Map<number, number>;
}

interface SetupResult {
  setup: Setup;
  instances: number;
  connections: number;
  users: number;
  writesPerSecond: number;
  writes: number;
  deliveries: number;
  missing: number;
  latencyMs: { p50: number; p99: number; max: number };
  rssPerConnectionKiB: number;
  checks: Array<{ what: string; value: number; target: string; ok: boolean }>;
}

/** Registers and logs in one user through the API; the password never leaves the bench. */
async function signUp(server: ServerProcess, index: number): Promise<{ id: number; token: string }> {
  const username = `bench_events_${index}`;
  const password = `Bench-events-${index}-password`;
  const user = await requestJson<{ id: number }>(server.url, 'POST', '/register', { username, email: `${username}@example.com`, password });
  const pair = await requestJson<{ access_token: string }>(server.url, 'POST', '/login', { username, password });
  return { id: user.id, token: pair.access_token };
}

/** Opens a socket and resolves once its ready frame has arrived. */
function openSocket(server: ServerProcess, instance: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/events`, { headers: { authorization: `Bearer ${token}` } });
    const socket: Socket = { ws, instance, arrivals: new Map() };
    ws.once('unexpected-response', (_request, response) => reject(new Error(`GET /events answered ${response.statusCode}`)));
    ws.once('error', reject);
    ws.once('message', (first) => {
      const frame = JSON.parse(String(first)) as { type: string };
      if (frame.type !== 'ready') return reject(new Error(`first frame was ${frame.type}, not ready`));
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as { type: string; data: { task?: { id: number } } };
        if (event.type === 'task.created' && event.data.task) socket.arrivals.set(event.data.task.id, performance.now());
      });
      resolve(socket);
    });
  });
}

/** Creates tasks at RATE per second for DURATION_S, each by a random user through a random instance; returns when each 201 arrived. */
async function writeTasks(servers: ServerProcess[], users: BenchUser[]): Promise<Map<number, { user: BenchUser; ackedAt: number }>> {
  const acks = new Map<number, { user: BenchUser; ackedAt: number }>();
  const total = RATE * DURATION_S;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
    for (; sent < due; sent++) {
      const user = users[Math.floor(Math.random() * users.length)]!;
      const server = servers[Math.floor(Math.random() * servers.length)]!;
      inFlight.push(
        requestJson<{ id: number }>(server.url, 'POST', '/tasks', { title: `live event ${sent}` }, user.token).then((task) => {
          acks.set(task.id, { user, ackedAt: performance.now() });
        }),
      );
    }
    await sleep(2);
  }
  await Promise.all(inFlight);
  return acks;
}

/** Waits until every socket of each writer has its frame, or until `timeoutMs` has passed. */
async function awaitDeliveries(acks: Map<number, { user: BenchUser }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const complete = () => [...acks].every(([taskId, { user }]) => user.sockets.every((socket) => socket.arrivals.has(taskId)));
  while (!complete() && Date.now() < deadline) await sleep(50);
}

async function runSetup(setup: Setup, runDir: string, ports: Set<number>): Promise<SetupResult> {
  const instances = setup === 'postgres-redis' ? 2 : 1;
  let scratch: ScratchDatabase | undefined;
  const servers: ServerProcess[] = [];
  try {
    let databaseUrl = `file:${path.join(runDir, 'events.sqlite')}`;
    if (setup !== 'sqlite') {
      scratch = await createScratchDatabase(PG_URL, 'taskforge_bench_test');
      databaseUrl = scratch.url;
    }
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      DATA_DIR: runDir,
      JWT_SECRET,
      ACCESS_TOKEN_TTL: '2h',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_AUTH_MAX: '1000000',
      RATE_LIMIT_FAILED_AUTH_MAX: '1000000',
      EVENTS_MAX_STREAMS_PER_USER: String(Math.ceil(CONNECTIONS / USERS) + 1),
      ...(setup === 'postgres-redis' ? { REDIS_URL, REDIS_KEY_PREFIX: `taskforge-bench-${path.basename(runDir)}:` } : {}),
    };
    if (setup !== 'sqlite') await migrateWithCli(DIST_CLI, env, ROOT);
    for (let i = 0; i < instances; i++) {
      const port = await freePort(ports);
      servers.push(await startServer({ name: `service-${i}`, port, nodeArgs: [DIST_MAIN], env: { ...env, PORT: String(port) }, logFile: path.join(runDir, `${setup}-${port}.log`) }));
    }
    console.log(`\n== ${setup}: ${instances} instance(s)${scratch ? `, database ${scratch.name}` : ''}`);

    const accounts = await mapLimit(Array.from({ length: USERS }, (_, i) => i), 4, (i) => signUp(servers[i % instances]!, i));
    const users: BenchUser[] = accounts.map((account) => ({ ...account, sockets: [] }));
    await sleep(1_000);
    const rssBefore = servers.map((server) => rssMiB(server.child.pid!));

    const assignments = Array.from({ length: CONNECTIONS }, (_, i) => ({ user: users[i % USERS]!, instance: i % instances }));
    const sockets = await mapLimit(assignments, 50, async ({ user, instance }) => {
      const socket = await openSocket(servers[instance]!, instance, user.token);
      user.sockets.push(socket);
      return socket;
    });
    await sleep(2_000);
    const rssAfter = servers.map((server) => rssMiB(server.child.pid!));
    const perConnection = servers.map((_, i) => ((rssAfter[i]! - rssBefore[i]!) * 1024) / sockets.filter((s) => s.instance === i).length);
    console.log(`  ${sockets.length} sockets open; service RSS ${rssBefore.join(' / ')} → ${rssAfter.join(' / ')} MiB`);

    const writesStarted = performance.now();
    const acks = await writeTasks(servers, users);
    const writeSeconds = (performance.now() - writesStarted) / 1000;
    await awaitDeliveries(acks, 10_000);

    const latencies: number[] = [];
    let missing = 0;
    for (const [taskId, { user, ackedAt }] of acks) {
      for (const socket of user.sockets) {
        const arrivedAt = socket.arrivals.get(taskId);
        if (arrivedAt === undefined) missing++;
        else latencies.push(Math.max(0, arrivedAt - ackedAt));
      }
    }
    latencies.sort((a, b) => a - b);
    for (const socket of sockets) socket.ws.terminate();

    const latencyMs = { p50: round1(percentile(latencies, 50)), p99: round1(percentile(latencies, 99)), max: round1(latencies.at(-1) ?? Number.NaN) };
    const rssPerConnectionKiB = round1(Math.max(...perConnection));
    const checks = [
      { what: 'p99 delivery latency (ms)', value: latencyMs.p99, target: `≤ ${LATENCY_TARGET_MS[setup]}`, ok: latencyMs.p99 <= LATENCY_TARGET_MS[setup] },
      { what: 'frames missing', value: missing, target: '= 0', ok: missing === 0 },
      { what: 'RSS per idle connection (KiB)', value: rssPerConnectionKiB, target: `≤ ${RSS_PER_CONNECTION_TARGET_KIB}`, ok: rssPerConnectionKiB <= RSS_PER_CONNECTION_TARGET_KIB },
    ];
    return {
      setup,
      instances,
      connections: sockets.length,
      users: USERS,
      writesPerSecond: Math.round(acks.size / writeSeconds),
      writes: acks.size,
      deliveries: latencies.length,
      missing,
      latencyMs,
      rssPerConnectionKiB,
      checks,
    };
  } finally {
    for (const server of servers) await server.stop();
    await scratch?.drop();
  }
}

function report(results: SetupResult[]): string {
  const rows = [['setup', 'instances', 'sockets', 'users', 'writes/s', 'deliveries', 'missing', 'p50 ms', 'p99 ms (target)', 'max ms', 'RSS/socket KiB (target)']];
  for (const r of results) {
    const p99 = r.checks[0]!;
    const rss = r.checks[2]!;
    rows.push([
      r.setup,
      String(r.instances),
      String(r.connections),
      String(r.users),
      String(r.writesPerSecond),
      String(r.deliveries),
      String(r.missing),
      String(r.latencyMs.p50),
      `${r.latencyMs.p99} (${p99.target}) ${p99.ok ? '✓' : '✗'}`,
      String(r.latencyMs.max),
      `${r.rssPerConnectionKiB} (${rss.target}) ${rss.ok ? '✓' : '✗'}`,
    ]);
  }
  return [rows[0]!, rows[0]!.map(() => '---'), ...rows.slice(1)].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

async function main(): Promise<void> {
  const wanted = (args.setups?.split(',').map((s) => s.trim()) ?? [...SETUPS]) as Setup[];
  for (const setup of wanted) if (!SETUPS.includes(setup)) throw new Error(`unknown setup "${setup}"; known: ${SETUPS.join(', ')}`);
  const pg = wanted.some((s) => s !== 'sqlite') ? await probe(PG_URL) : null;
  const redisUp = wanted.includes('postgres-redis') ? await redisAnswers(REDIS_URL) : false;
  const missingService = (setup: Setup): string | null => {
    if (setup !== 'sqlite' && pg && !pg.ok) return `PostgreSQL at ${redact(PG_URL)} does not answer (${pg.reason})`;
    if (setup === 'postgres-redis' && !redisUp) return `Redis at ${REDIS_URL} does not answer`;
    return null;
  };
  const setups = wanted.filter((setup) => {
    const missing = missingService(setup);
    if (missing) console.log(`skipping ${setup}: ${missing}`);
    return missing === null;
  });

  console.log(
    `taskforge bench:events — ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}\n` +
      `  ${CONNECTIONS} WebSockets for ${USERS} users, ${RATE} task writes/s for ${DURATION_S}s${args.smoke ? ' (smoke: measures nothing)' : ''}`,
  );
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-bench-events-'));
  const ports = new Set<number>();
  const results: SetupResult[] = [];
  try {
    for (const setup of setups) {
      const result = await runSetup(setup, runDir, ports);
      results.push(result);
      console.log(`  p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms; missing ${result.missing}; ${result.rssPerConnectionKiB} KiB per idle socket`);
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }

  const table = report(results);
  console.log(`\n${table}`);
  const outDir = path.join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const settings = { connections: CONNECTIONS, users: USERS, rate: RATE, durationSeconds: DURATION_S, smoke: args.smoke, node: process.version, cpus: os.cpus().length };
  writeFileSync(path.join(outDir, `events-${stamp}.json`), JSON.stringify({ settings, results }, null, 2));
  writeFileSync(path.join(outDir, `events-${stamp}.md`), `${table}\n`);
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.setup}: ${c.what} ${c.value} (target ${c.target})`));
  for (const line of failed) console.log(`✗ ${line}`);
  if (args.check && !args.smoke && failed.length > 0) process.exit(1);
}

await main();
