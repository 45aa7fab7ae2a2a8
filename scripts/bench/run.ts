/**
 * npm run bench [-- options]
 *
 * Measures the compiled service (dist/) on SQLite and on PostgreSQL, each beside the in-memory
 * reference server (reference-server.ts) in the same run. For each database it starts a fresh
 * service and a fresh reference as child processes on free ports in 3200–3299, seeds both through
 * their HTTP APIs and runs each scenario with autocannon against both, in rounds that alternate
 * which server goes first. Prints requests/s, the service/reference ratio against its target,
 * p99 latency, errors, peak RSS and whether the service's RSS stayed flat, per scenario and
 * database, and writes the whole result to bench-results/ as JSON and Markdown.
 *
 * The service is a black box reached over HTTP with DATABASE_URL set: a fresh SQLite file, or a
 * fresh PostgreSQL database (taskforge_bench_test_*) migrated with the service's own CLI and
 * dropped afterwards. When PostgreSQL cannot be reached the run says so and measures SQLite only.
 *
 * With --floor, the PostgreSQL run also measures the floor server (floor-server.ts): a bare route
 * doing 0, 1, 2 or 3 sequential round trips to the same database, so that the service's ratios
 * can be read against what a round trip alone costs on the host.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import knex from 'knex';
import { freePort, mapLimit, PeakRssMeter, processCpuSeconds, processFamilyCpuSeconds, requestJson, rssMiB, sleep, startServer, type ServerProcess } from './harness.js';
import { createScratchDatabase, formatProfile, localPostmasterPid, PgWriteProfiler, probe, redact, type ScratchDatabase, type WriteProfile } from './pg.js';
import { summarizeProfile } from './profile-summary.js';
import { SCENARIOS, taskBody, type Scenario, type SeededUser } from './scenarios.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_MAIN = 'dist/src/infrastructure/main.js';
const DIST_CLI = 'dist/src/infrastructure/cli.js';
const DIST_REFERENCE = path.join(ROOT, 'dist/scripts/bench/reference-server.js');
const DIST_FLOOR = path.join(ROOT, 'dist/scripts/bench/floor-server.js');
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

type Engine = 'sqlite' | 'postgres';
const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

const HELP = `npm run bench -- [options]
  --db <a,b>               databases to measure, of sqlite, postgres (default both)
  --pg <url>               PostgreSQL server to use (or BENCH_PG_URL; default ${DEFAULT_PG_URL});
                           the run creates and drops a database of its own, taskforge_bench_test_*
  --duration <s>           seconds measured per scenario and server (default 5)
  --warmup <s>             unmeasured seconds before each measurement (default 2)
  --rounds <n>             measurements per scenario and server, alternating service and
                           reference; the median is reported (default 3)
  --smoke                  (or BENCH_SMOKE=1) 1 s rounds after 0.5 s warm-up, 2 rounds, 200 tasks
                           per user: checks the bench works end to end, measures nothing
  --pg-profile             PostgreSQL only, scenarios create and update unless --scenarios says
                           otherwise; after each scenario's rounds one more run of the service
                           while pg_stat_statements (or, without it, samples of pg_stat_activity
                           and pg_locks every 100 ms) records where the database's time goes
  --floor                  PostgreSQL only: also measure the floor server, a bare Fastify route
                           doing 0, 1, 2 or 3 sequential round trips (a named select $1::int) through
                           a pg Pool of 10, and report each route's req/s over the route with none:
                           a request needing k round trips in sequence cannot beat /floor/k's ratio
  --connections <n>        concurrent connections (default 10)
  --rate <req/s>           send at this fixed rate instead of as fast as the server answers; then
                           compare the CPU µs/req column (the server's CPU, all threads, per
                           request; DB CPU µs/req: every process of the PostgreSQL server, when it
                           runs on this host); the ratio is then the other server's CPU per request
                           over this one's, and the throughput targets are not checked
  --flood-connections <n>  connections of the login flood in list+login (default 8)
  --tasks <n>              tasks seeded per user, 2 users (default 1000)
  --scenarios <a,b>        subset of: ${SCENARIOS.map((s) => s.name).join(', ')}, list+login
                           (default list,get,create,update: the ones with targets)
  --log-level <level>      the service's LOG_LEVEL (default info, as in production)
  --profile <scenario>     also run that scenario once more under node --cpu-prof and summarize it
  --no-reference           skip the reference server (no ratios)
  --baseline <dir>         in place of the reference, the service as built in another checkout
                           (its dist/), on a database of its own: ratios are then this build's
                           against that one
  --without-change-log     in place of the reference, this build on a database of its own whose
                           task writes append no events (the change log's triggers dropped after
                           migrating): ratios are then what the change log costs each scenario
  --check                  exit 1 when a target is missed
  --keep                   keep the temporary directory (databases, logs)`;

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    pg: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'pg-profile': { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string' },
    'flood-connections': { type: 'string', default: '8' },
    tasks: { type: 'string' },
    scenarios: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    'no-reference': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'without-change-log': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const SMOKE = args.smoke || process.env.BENCH_SMOKE === '1';
const PG_PROFILE = args['pg-profile'];
const WITHOUT_CHANGE_LOG = args['without-change-log'];
if (WITHOUT_CHANGE_LOG && args.baseline) throw new Error('--baseline and --without-change-log each name what to compare with: give one');
/** Measured against another build of the service (--baseline) or this one without its change log, not the reference. */
const AGAINST_BASELINE = Boolean(args.baseline) || WITHOUT_CHANGE_LOG;
const FLOOR = args.floor;

const positive = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number; got "${text}"`);
  return value;
};
const DURATION = positive('duration', args.duration ?? (SMOKE ? '1' : '5'));
const WARMUP = positive('warmup', args.warmup ?? (SMOKE ? '0.5' : '2'));
const ROUNDS = Math.max(1, Math.round(positive('rounds', args.rounds ?? (SMOKE ? '2' : '3'))));
const CONNECTIONS = positive('connections', args.connections);
const RATE = args.rate === undefined ? undefined : positive('rate', args.rate);
const FLOOD_CONNECTIONS = positive('flood-connections', args['flood-connections']);
const TASKS_PER_USER = positive('tasks', args.tasks ?? (SMOKE ? '200' : '1000'));
const PG_URL = args.pg || process.env.BENCH_PG_URL || process.env.BENCH_DATABASE_URL || DEFAULT_PG_URL;

/** Targets: the service's throughput as a share of the reference's, per database. */
const RATIO_TARGETS: Record<Engine, Record<string, number>> = {
  sqlite: { list: 0.35, get: 0.4, create: 0.25, update: 0.25 },
  postgres: { list: 0.25, get: 0.4, create: 0.32, update: 0.3 },
};
const FLOOD_P99_FACTOR = 3;
/** A request with a personal access token may cost at most this much more than one with a JWT. */
const PAT_OVER_JWT = 1.1;
/** RSS counts as flat when it grew by no more than this over the run (share of the start, or MiB). */
const RSS_FLAT = { share: 0.15, mib: 32 };

const JWT_SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'bench password 12345';

// --- what runs -----------------------------------------------------------------------------

const listOf = (text: string | undefined) => text?.split(',').map((s) => s.trim()).filter(Boolean);
const engines = (listOf(args.db) ?? (PG_PROFILE ? ['postgres'] : [...ENGINES])) as Engine[];
for (const engine of engines) if (!ENGINES.includes(engine)) throw new Error(`unknown database "${engine}"; known: ${ENGINES.join(', ')}`);
const wanted = listOf(args.scenarios) ?? (PG_PROFILE ? ['create', 'update'] : ['list', 'get', 'get-pat', 'create', 'update']);
const known = new Set([...SCENARIOS.map((s) => s.name), 'list+login']);
for (const name of wanted) if (!known.has(name)) throw new Error(`unknown scenario "${name}"; known: ${[...known].join(', ')}`);
if (args.profile && !SCENARIOS.some((s) => s.name === args.profile)) throw new Error(`--profile takes one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.name));
const runFlood = wanted.includes('list+login');
const needsTasks = scenarios.some((s) => s.needsTasks) || runFlood || SCENARIOS.find((s) => s.name === args.profile)?.needsTasks === true;

function machine() {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return { nproc: os.availableParallelism(), cpu, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, commit };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// --- seeding -------------------------------------------------------------------------------

async function seed(server: ServerProcess): Promise<SeededUser[]> {
  const users: SeededUser[] = [];
  for (const name of ['alice', 'bob']) {
    const username = `${name}_bench`;
    await requestJson(server.url, 'POST', '/register', { username, email: `${username}@example.com`, password: PASSWORD, name });
    const pair = await requestJson<{ access_token: string }>(server.url, 'POST', '/login', { username, password: PASSWORD });
    const personal = await requestJson<{ token: string }>(server.url, 'POST', '/me/tokens', { name: 'bench', scopes: ['tasks:read'], expires_in_days: null }, pair.access_token, [201]);
    users.push({ username, password: PASSWORD, token: pair.access_token, personalToken: personal.token, taskIds: [] });
  }
  if (needsTasks) {
    for (const user of users) {
      const created = await mapLimit(Array.from({ length: TASKS_PER_USER }, (_, i) => i), 8, (i) =>
        requestJson<{ id: number }>(server.url, 'POST', '/tasks', taskBody(i), user.token, [201]),
      );
      user.taskIds = created.map((task) => task.id);
    }
  }
  return users;
}

// --- measuring -----------------------------------------------------------------------------

type Target = 'service' | 'reference' | 'floor';

interface Measurement {
  scenario: string;
  target: Target;
  /** The median round's; every round's is in `rounds`. */
  requestsPerSecond: number;
  rounds?: number[];
  latencyMs: { p50: number; p99: number; average: number; max: number };
  requests: number;
  errors: number;
  non2xx: number;
  socketErrors: number;
  statusCodes: Record<string, number>;
  peakRssMiB: number;
  /** Resident memory right after the measurement (after each round in a median). */
  rssAfterMiB: number[];
  /** The server's CPU time (every thread) per request answered, in µs; the median round's in a median. */
  cpuMicrosPerRequest: number;
  /**
   * The same for the PostgreSQL server it uses, every one of its processes, when that server runs
   * on this host (NaN otherwise): what a request costs the database.
   */
  databaseCpuMicrosPerRequest: number;
}

/** `rate` 0: as fast as the server answers (the login flood always is). */
function fire(server: ServerProcess, scenario: Scenario, users: SeededUser[], seconds: number, connections: number, rate = RATE) {
  return autocannon({ url: server.url, connections, duration: seconds, timeout: 10, requests: scenario.requests(users), ...(rate ? { overallRate: rate } : {}) });
}

function toMeasurement(scenario: string, target: Target, result: Result, peakRssMiB: number, rssAfter: number, cpuSeconds = Number.NaN, databaseCpuSeconds = Number.NaN): Measurement {
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count);
  return {
    scenario,
    target,
    requestsPerSecond: Math.round(result.requests.average),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, average: round(result.latency.average), max: result.latency.max },
    requests: result.requests.total,
    errors: result.non2xx + result.errors,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    statusCodes,
    peakRssMiB,
    rssAfterMiB: [rssAfter],
    cpuMicrosPerRequest: Math.round((cpuSeconds * 1e6) / Math.max(result.requests.total, 1)),
    databaseCpuMicrosPerRequest: Math.round((databaseCpuSeconds * 1e6) / Math.max(result.requests.total, 1)),
  };
}

interface MeasureOptions {
  /** Printed before the measurement's line. */
  label?: string;
  /** The local PostgreSQL server's postmaster (localPostmasterPid), whose processes' CPU is read too. */
  databasePid?: number | null;
}

async function measure(server: ServerProcess, target: Target, scenario: Scenario, users: SeededUser[], { label = '', databasePid = null }: MeasureOptions = {}): Promise<Measurement> {
  if (WARMUP > 0) await fire(server, scenario, users, WARMUP, CONNECTIONS);
  const pid = server.child.pid!;
  const meter = new PeakRssMeter(pid);
  meter.start();
  const databaseCpu = () => (databasePid ? processFamilyCpuSeconds(databasePid) : Number.NaN);
  const cpuBefore = processCpuSeconds(pid);
  const databaseCpuBefore = databaseCpu();
  const result = await fire(server, scenario, users, DURATION, CONNECTIONS);
  const measurement = toMeasurement(scenario.name, target, result, meter.stop(), rssMiB(pid), processCpuSeconds(pid) - cpuBefore, databaseCpu() - databaseCpuBefore);
  console.log(
    `  ${label}${target.padEnd(9)} ${scenario.name.padEnd(10)} ${String(measurement.requestsPerSecond).padStart(6)} req/s  p99 ${measurement.latencyMs.p99} ms  ` +
      `CPU ${measurement.cpuMicrosPerRequest} µs/req  ${Number.isFinite(measurement.databaseCpuMicrosPerRequest) ? `DB CPU ${measurement.databaseCpuMicrosPerRequest} µs/req  ` : ''}` +
      `RSS ${measurement.rssAfterMiB[0]} MiB  errors ${measurement.errors}`,
  );
  return measurement;
}

/** List latency with and without a concurrent login flood (argon2 must stay off the event loop). */
async function measureFlood(server: ServerProcess, users: SeededUser[]): Promise<{ idle: Measurement; flooded: Measurement; login: Measurement }> {
  const list = SCENARIOS.find((s) => s.name === 'list')!;
  const login = SCENARIOS.find((s) => s.name === 'login')!;
  const idle = await measure(server, 'service', list, users);
  const meter = new PeakRssMeter(server.child.pid!);
  meter.start();
  const flood = fire(server, login, users, DURATION + 2, FLOOD_CONNECTIONS, 0);
  await sleep(1000); // let the flood fill the thread pool first
  const listed = await fire(server, list, users, DURATION, CONNECTIONS);
  const flooded = await flood;
  const peak = meter.stop();
  const rss = rssMiB(server.child.pid!);
  const result = {
    idle,
    flooded: toMeasurement('list+login', 'service', listed, peak, rss),
    login: toMeasurement('login-flood', 'service', flooded, peak, rss),
  };
  console.log(`  service   list+login ${String(result.flooded.requestsPerSecond).padStart(6)} req/s  p99 ${result.flooded.latencyMs.p99} ms (idle ${idle.latencyMs.p99} ms); logins ${result.login.requestsPerSecond}/s`);
  return result;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The lower middle of `values`, NaN when they are all NaN. */
function medianOf(values: number[]): number {
  const known = values.filter(Number.isFinite).sort((a, b) => a - b);
  return known[Math.floor((known.length - 1) / 2)] ?? Number.NaN;
}

/** The round with the median throughput (the lower middle of an even count), with the errors of all rounds. */
function median(rounds: Measurement[]): Measurement {
  const sorted = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    ...middle,
    rounds: rounds.map((m) => m.requestsPerSecond),
    errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    non2xx: rounds.reduce((sum, m) => sum + m.non2xx, 0),
    socketErrors: rounds.reduce((sum, m) => sum + m.socketErrors, 0),
    peakRssMiB: Math.max(...rounds.map((m) => m.peakRssMiB)),
    rssAfterMiB: rounds.flatMap((m) => m.rssAfterMiB),
    cpuMicrosPerRequest: medianOf(rounds.map((m) => m.cpuMicrosPerRequest)),
    databaseCpuMicrosPerRequest: medianOf(rounds.map((m) => m.databaseCpuMicrosPerRequest)),
  };
}

// --- the floor -----------------------------------------------------------------------------

/** The routes floor-server.ts answers: /floor/k makes k sequential round trips. */
const FLOOR_ROUND_TRIPS = [0, 1, 2, 3] as const;

/** One route of the floor server and its share of /floor/0's throughput. */
interface FloorRoute {
  roundTrips: number;
  /** req/s over /floor/0's; at a fixed --rate, /floor/0's CPU per request over this route's. */
  ratio: number;
  measurement: Measurement;
}

const floorScenario = (roundTrips: number): Scenario => ({
  name: `/floor/${roundTrips}`,
  description: `a bare route and ${roundTrips} sequential round trips to PostgreSQL`,
  needsTasks: false,
  requests: () => [{ method: 'GET', path: `/floor/${roundTrips}` }],
});

/**
 * What sequential round trips to this PostgreSQL cost a bare route: the floor server on the
 * service's database, each route measured as a scenario is. Rounds alternate the routes' order,
 * as they alternate the servers', so that a slow spell of the host falls on all of them.
 */
async function measureFloor(databaseUrl: string, runDir: string, ports: Set<number>): Promise<FloorRoute[]> {
  const port = await freePort(ports);
  const server = await startServer({
    name: 'floor',
    port,
    nodeArgs: [DIST_FLOOR],
    env: { NODE_ENV: 'production', PORT: String(port), DATABASE_URL: databaseUrl },
    logFile: path.join(runDir, `postgres-floor-${port}.log`),
  });
  try {
    const routes = FLOOR_ROUND_TRIPS.map(floorScenario);
    const rounds = routes.map((): Measurement[] => []);
    const indices = routes.map((_, i) => i);
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of r % 2 === 0 ? indices : [...indices].reverse()) rounds[i]!.push(await measure(server, 'floor', routes[i]!, []));
    }
    const medians = rounds.map(median);
    return medians.map((m, i) => ({ roundTrips: FLOOR_ROUND_TRIPS[i]!, ratio: round(ratioOf(m, medians[0])!), measurement: m }));
  } finally {
    await server.stop();
  }
}

// --- one database --------------------------------------------------------------------------

interface Check {
  engine: Engine;
  what: string;
  value: number | string;
  target: string;
  ok: boolean;
}

interface RssVerdict {
  /** The service's RSS after each measured round, in run order. */
  series: number[];
  /** The highest RSS in the first half of the rounds: by then the heap has grown to its working size. */
  warmMiB: number;
  lastMiB: number;
  peakMiB: number;
  flat: boolean;
}

interface EngineResult {
  engine: Engine;
  database: string;
  serverVersion?: string;
  measurements: Measurement[];
  flood?: { idle: Measurement; flooded: Measurement; login: Measurement };
  /** With --floor, on PostgreSQL: /floor/0 … /floor/3. */
  floor?: FloorRoute[];
  rss: RssVerdict;
  checks: Check[];
  pgProfiles: WriteProfile[];
  cpuProfile?: { file: string; summary: string };
}

const serviceEnv = (databaseUrl: string, dataDir: string) => ({
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  DATA_DIR: dataDir,
  JWT_SECRET,
  ACCESS_TOKEN_TTL: '2h',
  LOG_LEVEL: args['log-level']!,
  // Far above anything the bench can send, so rate limiting never answers 429 here.
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_AUTH_MAX: '1000000',
  RATE_LIMIT_FAILED_AUTH_MAX: '1000000',
});

/** The service's own `migrate` command: the schema is the product's business, not the bench's. */
async function migrate(checkout: string, env: Record<string, string>): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [path.join(checkout, DIST_CLI), 'migrate'], {
      cwd: checkout,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`"${DIST_CLI} migrate" failed in ${checkout}:\n${`${stdout}${stderr}`.trim() || String(error)}`, { cause: error });
  }
}

/**
 * Task writes append their events through triggers (migration 009 and after): without them, the
 * same build writes tasks exactly as it would with no change log. Events of other kinds are still
 * appended by the service, but the write scenarios make none.
 */
async function dropTaskEventTriggers(engine: Engine, url: string): Promise<void> {
  const db = knex(engine === 'sqlite' ? { client: 'sqlite3', connection: { filename: url.slice('file:'.length) }, useNullAsDefault: true } : { client: 'pg', connection: url });
  try {
    for (const event of ['insert', 'update', 'delete']) await db.raw(`drop trigger tasks_change_log_${event}${engine === 'postgres' ? ' on tasks' : ''}`);
  } finally {
    await db.destroy();
  }
}

async function runEngine(engine: Engine, runDir: string, ports: Set<number>, serverVersion?: string): Promise<EngineResult> {
  const started: ServerProcess[] = [];
  const databases: ScratchDatabase[] = [];
  let profiler: PgWriteProfiler | undefined;
  try {
    // One database per server that needs one: this build's service, and a baseline build's.
    const databaseFor = async (name: string): Promise<string> => {
      if (engine === 'sqlite') return `file:${path.join(runDir, `${name}.sqlite`)}`;
      const db = await createScratchDatabase(PG_URL, 'taskforge_bench_test');
      databases.push(db);
      return db.url;
    };
    const serviceUrl = await databaseFor('service');
    const env = serviceEnv(serviceUrl, runDir);
    if (engine === 'postgres') await migrate(ROOT, env);
    const databaseLabel = engine === 'sqlite' ? path.basename(serviceUrl) : databases[0]!.name;
    console.log(`\n== ${engine}${serverVersion ? ` ${serverVersion}` : ''}: database ${databaseLabel}`);

    const startService = async (nodeFlags: string[] = []) => {
      const port = await freePort(ports);
      const server = await startServer({
        name: 'service',
        port,
        nodeArgs: [...nodeFlags, path.join(ROOT, DIST_MAIN)],
        env: { ...env, PORT: String(port) },
        logFile: path.join(runDir, `${engine}-service-${port}.log`),
      });
      started.push(server);
      return server;
    };

    const service = await startService();
    const servers: Array<[ServerProcess, Target]> = [[service, 'service']];
    if (!args['no-reference']) {
      const port = await freePort(ports);
      let reference: ServerProcess;
      if (args.baseline) {
        const checkout = path.resolve(args.baseline);
        const baselineEnv = { ...serviceEnv(await databaseFor('baseline'), runDir), PORT: String(port) };
        if (engine === 'postgres') await migrate(checkout, baselineEnv);
        reference = await startServer({ name: 'baseline', port, nodeArgs: [path.join(checkout, DIST_MAIN)], env: baselineEnv, logFile: path.join(runDir, `${engine}-baseline-${port}.log`) });
      } else if (WITHOUT_CHANGE_LOG) {
        const url = await databaseFor('without-change-log');
        const baselineEnv = { ...serviceEnv(url, runDir), PORT: String(port) };
        await migrate(ROOT, baselineEnv);
        await dropTaskEventTriggers(engine, url);
        reference = await startServer({ name: 'baseline', port, nodeArgs: [path.join(ROOT, DIST_MAIN)], env: baselineEnv, logFile: path.join(runDir, `${engine}-without-change-log-${port}.log`) });
      } else {
        reference = await startServer({
          name: 'reference',
          port,
          nodeArgs: [DIST_REFERENCE],
          env: { NODE_ENV: 'production', PORT: String(port), JWT_SECRET, ACCESS_TOKEN_TTL: '7200' },
          logFile: path.join(runDir, `${engine}-reference-${port}.log`),
        });
      }
      started.push(reference);
      servers.push([reference, 'reference']);
    }

    const seeded = new Map<ServerProcess, SeededUser[]>();
    for (const [server, target] of servers) {
      const t0 = Date.now();
      seeded.set(server, await seed(server));
      console.log(`  seeded ${target} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }

    if (PG_PROFILE && engine === 'postgres') {
      profiler = await PgWriteProfiler.open(serviceUrl, databases[0]!.name);
      console.log(`  write profile from ${profiler.source}${profiler.reason ? ` — ${profiler.reason}` : ''}`);
    }

    // What each request costs the database too, when it runs on this host.
    const databasePid = engine === 'postgres' ? await localPostmasterPid(serviceUrl) : null;
    const measurements: Measurement[] = [];
    const rssSeries: number[] = [];
    const wrote: Check[] = [];
    const pgProfiles: WriteProfile[] = [];
    for (const scenario of scenarios) {
      // Rounds alternate which server goes first, so a slow spell of the machine falls on both.
      const rounds = new Map<ServerProcess, Measurement[]>(servers.map(([server]) => [server, []]));
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        for (const [server, target] of order) {
          const m = await measure(server, target, scenario, seeded.get(server)!, { databasePid });
          rounds.get(server)!.push(m);
          if (target === 'service') rssSeries.push(...m.rssAfterMiB);
        }
      }
      for (const [server] of servers) measurements.push(median(rounds.get(server)!));
      if (scenario.name === 'update') for (const [server, target] of servers) wrote.push(await updateWrote(engine, server, target, seeded.get(server)!));
      if (profiler) {
        // A run of its own: the profile then holds this scenario's statements and nothing else.
        await profiler.start();
        await measure(service, 'service', scenario, seeded.get(service)!, { label: '[pg profile] ' });
        pgProfiles.push(await profiler.stop(scenario.name));
      }
    }
    const floor = FLOOR && engine === 'postgres' ? await measureFloor(serviceUrl, runDir, ports) : undefined;
    const flood = runFlood ? await measureFlood(service, seeded.get(service)!) : undefined;
    if (flood) rssSeries.push(...flood.flooded.rssAfterMiB);

    const cpuProfile = args.profile ? await runProfile(args.profile, service, startService, seeded.get(service)!) : undefined;

    // The first rounds grow V8's heap to the working size of the scenarios and then it stays
    // there; a leak keeps growing after them. So the last round is compared with the first half.
    const warm = Math.max(0, ...rssSeries.slice(0, Math.ceil(rssSeries.length / 2)));
    const last = rssSeries.at(-1) ?? 0;
    const rss: RssVerdict = {
      series: rssSeries,
      warmMiB: warm,
      lastMiB: last,
      peakMiB: Math.max(0, ...measurements.filter((m) => m.target === 'service').map((m) => m.peakRssMiB)),
      flat: last - warm <= Math.max(warm * RSS_FLAT.share, RSS_FLAT.mib),
    };
    return { engine, database: databaseLabel, serverVersion, measurements, flood, floor, rss, checks: checksOf(engine, measurements, flood, rss, wrote), pgProfiles, cpuProfile };
  } finally {
    await profiler?.close();
    for (const server of started.reverse()) await server.stop();
    for (const db of databases) {
      await db.drop().catch((error: unknown) => console.error(`  could not drop database ${db.name}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
}

/**
 * Whether update really changed what it patched: the first task it touches must have a new title
 * and a version past 1. A server that skipped the writes would be measured at read speed.
 */
async function updateWrote(engine: Engine, server: ServerProcess, target: Target, users: SeededUser[]): Promise<Check> {
  const user = users[0]!;
  const task = await requestJson<{ title: string; version: number }>(server.url, 'GET', `/tasks/${user.taskIds[0]}`, undefined, user.token, [200]);
  const ok = task.version > 1 && task.title.includes('change');
  return { engine, what: `update wrote (${target === 'service' ? 'service' : AGAINST_BASELINE ? 'baseline' : 'reference'})`, value: `version ${task.version}`, target: '> 1, new title', ok };
}

function ratioOf(own: Measurement, ref: Measurement | undefined): number | undefined {
  if (!ref) return undefined;
  // At a fixed rate both answer the same number of requests: what differs is what each costs.
  return RATE ? ref.cpuMicrosPerRequest / Math.max(own.cpuMicrosPerRequest, 1) : own.requestsPerSecond / Math.max(ref.requestsPerSecond, 1);
}

function checksOf(engine: Engine, measurements: Measurement[], flood: EngineResult['flood'], rss: RssVerdict, extra: Check[]): Check[] {
  const checks: Check[] = [...extra];
  for (const scenario of scenarios) {
    const own = measurements.find((m) => m.scenario === scenario.name && m.target === 'service')!;
    const ref = measurements.find((m) => m.scenario === scenario.name && m.target === 'reference');
    const ratio = ratioOf(own, ref);
    const goal = RATIO_TARGETS[engine][scenario.name];
    // Against a baseline build the targets (shares of the reference) do not apply.
    // Judged as printed, to two places, so a table never shows 0.25 against ≥ 0.25 as a miss.
    if (goal !== undefined && ratio !== undefined && !RATE && !AGAINST_BASELINE) checks.push({ engine, what: `${scenario.name} ratio`, value: round(ratio), target: `≥ ${goal}`, ok: round(ratio) >= goal });
    checks.push({ engine, what: `${scenario.name} errors`, value: own.errors, target: '= 0', ok: own.errors === 0 });
    if (ref) checks.push({ engine, what: `${scenario.name} errors (${AGAINST_BASELINE ? 'baseline' : 'reference'})`, value: ref.errors, target: '= 0', ok: ref.errors === 0 });
  }
  const jwtGet = measurements.find((m) => m.scenario === 'get' && m.target === 'service');
  const patGet = measurements.find((m) => m.scenario === 'get-pat' && m.target === 'service');
  if (jwtGet && patGet) {
    const cost = jwtGet.requestsPerSecond / Math.max(patGet.requestsPerSecond, 1);
    checks.push({ engine, what: 'get: a personal access token\'s cost over a JWT\'s (service)', value: round(cost), target: `≤ ${PAT_OVER_JWT}`, ok: round(cost) <= PAT_OVER_JWT });
  }
  if (flood) {
    const factor = flood.flooded.latencyMs.p99 / Math.max(flood.idle.latencyMs.p99, 1);
    checks.push({ engine, what: 'list p99 under login flood / idle', value: round(factor), target: `≤ ${FLOOD_P99_FACTOR}`, ok: factor <= FLOOD_P99_FACTOR });
    checks.push({ engine, what: 'list+login errors', value: flood.flooded.errors + flood.login.errors, target: '= 0', ok: flood.flooded.errors + flood.login.errors === 0 });
  }
  checks.push({
    engine,
    what: 'service RSS flat over the second half of the run',
    value: `${rss.warmMiB} → ${rss.lastMiB} MiB`,
    target: `growth ≤ max(${RSS_FLAT.share * 100}%, ${RSS_FLAT.mib} MiB)`,
    ok: rss.flat,
  });
  return checks;
}

// --- report --------------------------------------------------------------------------------

const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** Per scenario: the service beside the reference, its ratio against the target, and the rest. */
function resultRows(result: EngineResult): string[][] {
  const other = AGAINST_BASELINE ? 'baseline' : 'ref';
  const withDatabaseCpu = result.measurements.some((m) => Number.isFinite(m.databaseCpuMicrosPerRequest));
  const known = (micros: number | undefined) => (micros !== undefined && Number.isFinite(micros) ? String(micros) : '–');
  const rows = [
    [
      'scenario',
      'service req/s',
      `${other} req/s`,
      'ratio',
      'target',
      'p99 ms (svc / ' + other + ')',
      'errors (svc / ' + other + ')',
      'svc peak RSS MiB',
      `CPU µs/req (svc / ${other})`,
      ...(withDatabaseCpu ? [`DB CPU µs/req (svc / ${other})`] : []),
      'service rounds',
      `${other} rounds`,
    ],
  ];
  for (const scenario of scenarios) {
    const own = result.measurements.find((m) => m.scenario === scenario.name && m.target === 'service')!;
    const ref = result.measurements.find((m) => m.scenario === scenario.name && m.target === 'reference');
    const ratio = ratioOf(own, ref);
    const goal = RATIO_TARGETS[result.engine][scenario.name];
    const check = result.checks.find((c) => c.what === `${scenario.name} ratio`);
    rows.push([
      scenario.name,
      String(own.requestsPerSecond),
      ref ? String(ref.requestsPerSecond) : '–',
      ratio === undefined ? '–' : ratio.toFixed(2),
      goal === undefined ? '–' : `≥ ${goal.toFixed(2)} ${check ? mark(check.ok) : ''}`.trim(),
      `${own.latencyMs.p99} / ${ref?.latencyMs.p99 ?? '–'}`,
      `${own.errors} / ${ref?.errors ?? '–'}`,
      own.peakRssMiB.toFixed(1),
      `${own.cpuMicrosPerRequest} / ${ref?.cpuMicrosPerRequest ?? '–'}`,
      ...(withDatabaseCpu ? [`${known(own.databaseCpuMicrosPerRequest)} / ${known(ref?.databaseCpuMicrosPerRequest)}`] : []),
      (own.rounds ?? []).join(' '),
      (ref?.rounds ?? []).join(' '),
    ]);
  }
  if (result.flood) {
    const { flooded, login, idle } = result.flood;
    rows.push(['list+login', String(flooded.requestsPerSecond), '–', '–', '–', `${flooded.latencyMs.p99} (idle ${idle.latencyMs.p99})`, `${flooded.errors + login.errors}`, flooded.peakRssMiB.toFixed(1), '–', ...(withDatabaseCpu ? ['–'] : []), `logins ${login.requestsPerSecond}/s`, '']);
  }
  return rows;
}

const FLOOR_HEADING = 'floor: a bare Fastify route and k sequential round trips (named select $1::int, pg Pool of 10) — no targets';

/** Per floor route: its throughput, its share of /floor/0's, and what the floor server spent. */
function floorRows(floor: FloorRoute[]): string[][] {
  const rows = [['route', 'round trips', 'req/s', 'ratio to /floor/0', 'p99 ms', 'errors', 'CPU µs/req', 'rounds']];
  for (const { roundTrips, ratio, measurement: m } of floor) {
    rows.push([m.scenario, String(roundTrips), String(m.requestsPerSecond), ratio.toFixed(2), String(m.latencyMs.p99), String(m.errors), String(m.cpuMicrosPerRequest), (m.rounds ?? []).join(' ')]);
  }
  return rows;
}

function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const markdownTable = (rows: string[][]) =>
  [rows[0]!, rows[0]!.map((_, i) => (i === 0 ? '---' : '---:')), ...rows.slice(1)].map((row) => `| ${row.join(' | ')} |`).join('\n');

const rssLine = (r: EngineResult) =>
  `service RSS after each measured round: highest of the first half ${r.rss.warmMiB} → last ${r.rss.lastMiB} MiB (peak ${r.rss.peakMiB} MiB) — ${r.rss.flat ? 'flat ✓' : 'grew ✗'}`;

function heading(r: EngineResult): string {
  return `${r.engine}${r.serverVersion ? ` ${r.serverVersion}` : ''} (database ${r.database})`;
}

function markdownReport(info: ReturnType<typeof machine>, settings: Record<string, unknown>, results: EngineResult[], skipped: string[]): string {
  const lines = [
    `# taskforge bench, ${new Date().toISOString()}`,
    '',
    `commit ${info.commit}, ${info.nproc} CPUs (${info.cpu}), Node ${info.node}, ${info.platform}`,
    '',
    `${settings.duration}s measured after ${settings.warmup}s warm-up, median of ${settings.rounds} rounds (alternating servers), ${settings.connections} connections, 2 users × ${settings.tasksPerUser} tasks${SMOKE ? ' — **smoke run: these figures mean nothing**' : ''}`,
  ];
  for (const note of skipped) lines.push('', `**${note}**`);
  for (const r of results) {
    lines.push('', `## ${heading(r)}`, '', markdownTable(resultRows(r)), '', rssLine(r), '');
    for (const c of r.checks) lines.push(`- ${mark(c.ok)} ${c.what}: ${c.value} (target ${c.target})`);
    if (r.floor) lines.push('', `### ${FLOOR_HEADING}`, '', markdownTable(floorRows(r.floor)));
    for (const p of r.pgProfiles) lines.push('', '```', formatProfile(p), '```');
  }
  return `${lines.join('\n')}\n`;
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const file of [path.join(ROOT, DIST_MAIN), path.join(ROOT, DIST_CLI), DIST_REFERENCE, DIST_FLOOR]) {
    try {
      statSync(file);
    } catch {
      throw new Error(`${path.relative(ROOT, file)} is missing: run "npm run bench" (it compiles first), not this file directly`);
    }
  }
  const info = machine();
  console.log(`taskforge bench — ${engines.join(' + ')}, ${info.nproc} CPUs (${info.cpu}), Node ${info.node}, commit ${info.commit}`);
  console.log(
    `  ${DURATION}s per measurement after ${WARMUP}s warm-up, median of ${ROUNDS} rounds, ${CONNECTIONS} connections, 2 users × ${needsTasks ? TASKS_PER_USER : 0} tasks` +
      (SMOKE ? ' (smoke run: checks the bench works, measures nothing)' : ''),
  );

  const skipped: string[] = [];
  let pgVersion: string | undefined;
  if (engines.includes('postgres')) {
    const reached = await probe(PG_URL);
    if (reached.ok) pgVersion = `PostgreSQL ${reached.version}`;
    else {
      const note = `PostgreSQL at ${redact(PG_URL)} is not reachable (${reached.reason}): not measured`;
      console.log(`  ${note}${engines.length > 1 ? '; measuring SQLite only' : ''}`);
      skipped.push(note);
    }
  }
  const toRun = engines.filter((e) => e !== 'postgres' || pgVersion);
  if (FLOOR && !toRun.includes('postgres')) {
    const note = '--floor measures round trips to PostgreSQL, which this run does not measure: ignored';
    console.log(`  ${note}`);
    skipped.push(note);
  }
  if (toRun.length === 0) {
    process.exitCode = 1;
    return;
  }

  const runDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-bench-'));
  const ports = new Set<number>();
  const results: EngineResult[] = [];
  let failed = true;
  try {
    // Each database gets a fresh service and a fresh reference: the reference keeps what create
    // adds in memory, and the second database should not meet a reference grown by the first.
    for (const engine of toRun) results.push(await runEngine(engine, runDir, ports, engine === 'postgres' ? pgVersion : undefined));

    const checks = results.flatMap((r) => r.checks);
    console.log('');
    for (const r of results) {
      console.log(`${heading(r)}\n${textTable(resultRows(r))}\n  ${rssLine(r)}`);
      for (const c of r.checks) console.log(`  ${mark(c.ok)} ${c.what}: ${c.value} (target ${c.target})`);
      if (r.floor) console.log(`\n${FLOOR_HEADING}\n${textTable(floorRows(r.floor))}`);
      for (const p of r.pgProfiles) console.log(`\n${formatProfile(p)}`);
      if (r.cpuProfile) console.log(`\nCPU profile of "${args.profile}" on ${r.engine} (${path.relative(ROOT, r.cpuProfile.file)}):\n${r.cpuProfile.summary}`);
      console.log('');
    }
    for (const note of skipped) console.log(`NOTE: ${note}`);

    const resultsDir = path.join(ROOT, 'bench-results');
    mkdirSync(resultsDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const base = path.join(resultsDir, `bench-${toRun.join('-')}${PG_PROFILE ? '-pg-profile' : ''}${SMOKE ? '-smoke' : ''}-${stamp}`);
    const settings = {
      engines: toRun,
      postgres: engines.includes('postgres') ? redact(PG_URL) : undefined,
      smoke: SMOKE,
      duration: DURATION,
      warmup: WARMUP,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      rate: RATE,
      floodConnections: FLOOD_CONNECTIONS,
      tasksPerUser: TASKS_PER_USER,
      logLevel: args['log-level'],
      baseline: WITHOUT_CHANGE_LOG ? 'this build without the change log' : args.baseline,
      floor: FLOOR && toRun.includes('postgres'),
      targets: RATIO_TARGETS,
    };
    writeFileSync(`${base}.json`, JSON.stringify({ machine: info, settings, skipped, results }, null, 2));
    writeFileSync(`${base}.md`, markdownReport(info, settings, results, skipped));
    console.log(`results: ${path.relative(ROOT, base)}.json and .md`);

    failed = args.check && checks.some((c) => !c.ok);
    if (failed) process.exitCode = 1;
  } finally {
    if (args.keep || failed) console.log(`temporary files kept in ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * Profiles one scenario on its own: the seeded database is reused by a second service process
 * started under --cpu-prof (so seeding and the other scenarios stay out of the profile).
 */
async function runProfile(
  name: string,
  service: ServerProcess,
  startService: (flags: string[]) => Promise<ServerProcess>,
  users: SeededUser[],
): Promise<{ file: string; summary: string }> {
  const scenario = SCENARIOS.find((s) => s.name === name)!;
  const dir = path.join(ROOT, 'bench-results', 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  await service.stop();
  const profiled = await startService(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  console.log(`  profiling "${name}" under --cpu-prof`);
  await measure(profiled, 'service', scenario, users);
  await profiled.stop();
  // One file per thread, CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; the event loop is thread 0.
  const threadId = (name: string) => Number(name.split('.')[4]);
  const [file, ...threads] = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .sort((a, b) => threadId(a) - threadId(b))
    .map((f) => path.join(dir, f));
  if (!file) throw new Error('the profiled service wrote no .cpuprofile');
  const others = threads.map((thread) => `\nThread profile ${path.basename(thread)} (worker thread ${threadId(path.basename(thread))}):\n${summarizeProfile(thread, { top: 8 })}`);
  return { file, summary: [summarizeProfile(file, { top: 25 }), ...others].join('\n') };
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
