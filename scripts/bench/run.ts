/**
 * npm run bench [-- options]
 *
 * Starts the compiled service (dist/) and the in-memory reference server (reference-server.ts)
 * as child processes on free ports in 3200–3299, seeds both through their HTTP APIs, and runs
 * each scenario with autocannon against both. Prints requests/s, latency, errors and peak RSS
 * per scenario with the service/reference ratio, checks the targets and writes the whole result
 * to bench-results/. Runs on a fresh SQLite file; with --pg <url> (or BENCH_DATABASE_URL) on
 * PostgreSQL instead, in a schema of its own that it drops afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { freePort, mapLimit, PeakRssMeter, processCpuSeconds, requestJson, sleep, startServer, type ServerProcess } from './harness.js';
import { summarizeProfile } from './profile-summary.js';
import { SCENARIOS, taskBody, type Scenario, type SeededUser } from './scenarios.js';
import type { ScratchSchema } from '../support/scratch-schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_MAIN = path.join(ROOT, 'dist/src/infrastructure/main.js');
const DIST_REFERENCE = path.join(ROOT, 'dist/scripts/bench/reference-server.js');

const HELP = `npm run bench -- [options]
  --duration <s>           seconds measured per scenario and server (default 8)
  --warmup <s>             unmeasured seconds before each measurement (default 2)
  --rounds <n>             measurements per scenario and server, alternating service and
                           reference; the median is reported (default 3)
  --connections <n>        concurrent connections (default 10)
  --rate <req/s>           send at this fixed rate instead of as fast as the server answers; then
                           compare the CPU µs/req column (the server's CPU, all threads, per request);
                           the ratio is then the other server's CPU per request over this one's, and
                           the throughput targets are not checked
  --flood-connections <n>  connections of the login flood in list+login (default 8)
  --tasks <n>              tasks seeded per user, 2 users (default 1000)
  --scenarios <a,b>        subset of: ${SCENARIOS.map((s) => s.name).join(', ')}, list+login
  --pg <url>               run on PostgreSQL (or BENCH_DATABASE_URL); the bench uses its own schema
  --log-level <level>      the service's LOG_LEVEL (default info, as in production)
  --profile <scenario>     also run that scenario once more under node --cpu-prof and summarize it
  --no-reference           skip the reference server (no ratios)
  --baseline <dir>         in place of the reference, the service as built in another checkout
                           (its dist/), on SQLite: ratios are then this build's against that one
  --check                  exit 1 when a target is missed
  --keep                   keep the temporary directory (database, logs)`;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string' },
    'flood-connections': { type: 'string', default: '8' },
    tasks: { type: 'string', default: '1000' },
    scenarios: { type: 'string' },
    pg: { type: 'string', default: process.env.BENCH_DATABASE_URL },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    'no-reference': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    check: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const positive = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number; got "${text}"`);
  return value;
};
const DURATION = positive('duration', args.duration);
const WARMUP = positive('warmup', args.warmup);
const ROUNDS = Math.max(1, Math.round(positive('rounds', args.rounds)));
const CONNECTIONS = positive('connections', args.connections);
const RATE = args.rate === undefined ? undefined : positive('rate', args.rate);
const FLOOD_CONNECTIONS = positive('flood-connections', args['flood-connections']);
const TASKS_PER_USER = positive('tasks', args.tasks);
const PG_URL = args.pg || undefined;
const ENGINE = PG_URL ? 'postgres' : 'sqlite';

/** Targets: the service's throughput as a share of the reference's, on SQLite. */
const RATIO_TARGETS: Record<string, number> = { list: 0.35, get: 0.4, create: 0.25, update: 0.25 };
const FLOOD_P99_FACTOR = 3;

const JWT_SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const PASSWORD = 'bench password 12345';

// --- what runs -----------------------------------------------------------------------------

const wanted = args.scenarios?.split(',').map((s) => s.trim()).filter(Boolean);
const known = new Set([...SCENARIOS.map((s) => s.name), 'list+login']);
for (const name of wanted ?? []) if (!known.has(name)) throw new Error(`unknown scenario "${name}"; known: ${[...known].join(', ')}`);
if (args.profile && !SCENARIOS.some((s) => s.name === args.profile)) throw new Error(`--profile takes one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
if (args.baseline && args.pg) throw new Error('--baseline runs on SQLite only');
const scenarios = SCENARIOS.filter((s) => !wanted || wanted.includes(s.name));
const runFlood = !wanted || wanted.includes('list+login');
const needsTasks = scenarios.some((s) => s.needsTasks) || runFlood || SCENARIOS.find((s) => s.name === args.profile)?.needsTasks === true;

// --- environment ---------------------------------------------------------------------------

/** Settings a developer's shell may carry that would change what the service does. */
const SERVICE_ENV_KEYS = /^(NODE_ENV|PORT|HOST|DATABASE_URL|DATA_DIR|JWT_\w+|ACCESS_TOKEN_TTL|REFRESH_TOKEN_TTL|REDIS_URL|CORS_ORIGINS|LOG_LEVEL|RATE_LIMIT_\w+|ADMIN_\w+|BODY_LIMIT|TRUST_PROXY|METRICS_TOKEN)$/;
for (const key of Object.keys(process.env)) if (SERVICE_ENV_KEYS.test(key)) delete process.env[key];

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
    users.push({ username, password: PASSWORD, token: pair.access_token, taskIds: [] });
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

interface Measurement {
  scenario: string;
  target: 'service' | 'reference';
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
  /** The server's CPU time (every thread) per request answered, in µs; the median round's in a median. */
  cpuMicrosPerRequest: number;
}

/** `rate` 0: as fast as the server answers (the login flood always is). */
function fire(server: ServerProcess, scenario: Scenario, users: SeededUser[], seconds: number, connections: number, rate = RATE) {
  return autocannon({ url: server.url, connections, duration: seconds, timeout: 10, requests: scenario.requests(users), ...(rate ? { overallRate: rate } : {}) });
}

function toMeasurement(scenario: string, target: Measurement['target'], result: Result, peakRssMiB: number, cpuSeconds = Number.NaN): Measurement {
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
    cpuMicrosPerRequest: Math.round((cpuSeconds * 1e6) / Math.max(result.requests.total, 1)),
  };
}

async function measure(server: ServerProcess, target: Measurement['target'], scenario: Scenario, users: SeededUser[]): Promise<Measurement> {
  if (WARMUP > 0) await fire(server, scenario, users, WARMUP, CONNECTIONS);
  const meter = new PeakRssMeter(server.child.pid!);
  meter.start();
  const cpuBefore = processCpuSeconds(server.child.pid!);
  const result = await fire(server, scenario, users, DURATION, CONNECTIONS);
  const measurement = toMeasurement(scenario.name, target, result, meter.stop(), processCpuSeconds(server.child.pid!) - cpuBefore);
  console.log(
    `  ${target.padEnd(9)} ${scenario.name.padEnd(10)} ${String(measurement.requestsPerSecond).padStart(6)} req/s  p99 ${measurement.latencyMs.p99} ms  ` +
      `CPU ${measurement.cpuMicrosPerRequest} µs/req  errors ${measurement.errors}`,
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
  const result = {
    idle,
    flooded: toMeasurement('list+login', 'service', listed, peak),
    login: toMeasurement('login-flood', 'service', flooded, peak),
  };
  console.log(`  service   list+login ${String(result.flooded.requestsPerSecond).padStart(6)} req/s  p99 ${result.flooded.latencyMs.p99} ms (idle ${idle.latencyMs.p99} ms); logins ${result.login.requestsPerSecond}/s`);
  return result;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

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
    cpuMicrosPerRequest: [...rounds].sort((a, b) => a.cpuMicrosPerRequest - b.cpuMicrosPerRequest)[Math.floor((rounds.length - 1) / 2)]!.cpuMicrosPerRequest,
  };
}

// --- report --------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

interface Check {
  what: string;
  value: number;
  target: string;
  ok: boolean;
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const file of [DIST_MAIN, DIST_REFERENCE]) {
    try {
      statSync(file);
    } catch {
      throw new Error(`${path.relative(ROOT, file)} is missing: run "npm run bench" (it compiles first), not this file directly`);
    }
  }
  const info = machine();
  console.log(`taskforge bench — ${ENGINE}, ${info.nproc} CPUs (${info.cpu}), Node ${info.node}, commit ${info.commit}`);
  console.log(`  ${DURATION}s per measurement after ${WARMUP}s warm-up, median of ${ROUNDS} rounds, ${CONNECTIONS} connections, 2 users × ${needsTasks ? TASKS_PER_USER : 0} tasks`);

  const runDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-bench-'));
  const ports = new Set<number>();
  const started: ServerProcess[] = [];
  let pg: ScratchSchema | undefined;
  let failed = true;

  try {
    // Imported only when needed: knex and the pg driver load for --pg alone.
    pg = PG_URL ? await (await import('../support/scratch-schema.js')).createScratchSchema(PG_URL, 'taskforge_bench') : undefined;
    const serviceEnv = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: pg ? pg.url : `file:${path.join(runDir, 'bench.sqlite')}`,
      DATA_DIR: runDir,
      JWT_SECRET,
      ACCESS_TOKEN_TTL: '2h',
      LOG_LEVEL: args['log-level']!,
      // Far above anything the bench can send, so rate limiting never answers 429 here.
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_AUTH_MAX: '1000000',
      RATE_LIMIT_FAILED_AUTH_MAX: '1000000',
    };
    const startService = async (nodeFlags: string[] = []) => {
      const port = await freePort(ports);
      const server = await startServer({
        name: 'service',
        port,
        nodeArgs: [...nodeFlags, DIST_MAIN],
        env: { ...serviceEnv, PORT: String(port) },
        logFile: path.join(runDir, `service-${port}.log`),
      });
      started.push(server);
      return server;
    };

    const service = await startService();
    const servers: Array<[ServerProcess, Measurement['target']]> = [[service, 'service']];
    if (!args['no-reference']) {
      const port = await freePort(ports);
      // A baseline build is a second service, on a database file of its own.
      const reference = await startServer({
        name: 'reference',
        port,
        ...(args.baseline
          ? {
              nodeArgs: [path.resolve(args.baseline, 'dist/src/infrastructure/main.js')],
              env: { ...serviceEnv, DATABASE_URL: `file:${path.join(runDir, 'baseline.sqlite')}`, PORT: String(port) },
            }
          : { nodeArgs: [DIST_REFERENCE], env: { NODE_ENV: 'production', PORT: String(port), JWT_SECRET, ACCESS_TOKEN_TTL: '7200' } }),
        logFile: path.join(runDir, `reference-${port}.log`),
      });
      started.push(reference);
      servers.push([reference, 'reference']);
    }

    const seeded = new Map<ServerProcess, SeededUser[]>();
    for (const [server, target] of servers) {
      const t0 = Date.now();
      seeded.set(server, await seed(server));
      console.log(`  seeded ${target} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }

    const measurements: Measurement[] = [];
    for (const scenario of scenarios) {
      // Rounds alternate which server goes first, so a slow spell of the machine falls on both.
      const rounds = new Map<ServerProcess, Measurement[]>(servers.map(([server]) => [server, []]));
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        for (const [server, target] of order) rounds.get(server)!.push(await measure(server, target, scenario, seeded.get(server)!));
      }
      for (const [server] of servers) measurements.push(median(rounds.get(server)!));
    }
    const flood = runFlood ? await measureFlood(service, seeded.get(service)!) : undefined;

    let profile: { file: string; summary: string } | undefined;
    if (args.profile) profile = await runProfile(args.profile, service, startService, seeded.get(service)!);

    // --- report ---
    const byKey = new Map(measurements.map((m) => [`${m.scenario}/${m.target}`, m]));
    const rows = [['scenario', 'server', 'req/s', 'rounds', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'CPU µs/req', 'ratio']];
    const checks: Check[] = [];
    for (const scenario of scenarios) {
      const own = byKey.get(`${scenario.name}/service`)!;
      const ref = byKey.get(`${scenario.name}/reference`);
      // At a fixed rate both answer the same number of requests: what differs is what each costs.
      const ratio = !ref ? undefined : RATE ? ref.cpuMicrosPerRequest / Math.max(own.cpuMicrosPerRequest, 1) : own.requestsPerSecond / Math.max(ref.requestsPerSecond, 1);
      for (const m of [own, ref]) {
        if (!m) continue;
        rows.push([
          m.target === 'service' ? scenario.name : '',
          m.target,
          String(m.requestsPerSecond),
          (m.rounds ?? []).join(' '),
          String(m.latencyMs.p50),
          String(m.latencyMs.p99),
          String(m.errors),
          m.peakRssMiB.toFixed(1),
          String(m.cpuMicrosPerRequest),
          m.target === 'service' && ratio !== undefined ? ratio.toFixed(2) : '',
        ]);
      }
      const goal = RATIO_TARGETS[scenario.name];
      if (goal !== undefined && ratio !== undefined && !RATE) checks.push({ what: `${scenario.name} ratio`, value: round(ratio), target: `≥ ${goal}`, ok: ratio >= goal });
      checks.push({ what: `${scenario.name} errors`, value: own.errors, target: '= 0', ok: own.errors === 0 });
    }
    if (flood) {
      rows.push(['list+login', 'service', String(flood.flooded.requestsPerSecond), '', String(flood.flooded.latencyMs.p50), String(flood.flooded.latencyMs.p99), String(flood.flooded.errors), flood.flooded.peakRssMiB.toFixed(1), '', '']);
      rows.push(['  (flood)', 'login', String(flood.login.requestsPerSecond), '', String(flood.login.latencyMs.p50), String(flood.login.latencyMs.p99), String(flood.login.errors), '', '', '']);
      const factor = flood.flooded.latencyMs.p99 / Math.max(flood.idle.latencyMs.p99, 1);
      checks.push({ what: 'list p99 under login flood / idle', value: round(factor), target: `≤ ${FLOOD_P99_FACTOR}`, ok: factor <= FLOOD_P99_FACTOR });
      checks.push({ what: 'list+login errors', value: flood.flooded.errors + flood.login.errors, target: '= 0', ok: flood.flooded.errors + flood.login.errors === 0 });
    }

    console.log(`\n${table(rows)}\n`);
    if (ENGINE !== 'sqlite') console.log('(ratio targets are defined for SQLite; shown for information on PostgreSQL)');
    for (const check of checks) {
      const isRatio = check.what.endsWith('ratio');
      const applies = !isRatio || ENGINE === 'sqlite';
      console.log(`  ${applies ? (check.ok ? 'PASS' : 'FAIL') : 'info'}  ${check.what}: ${check.value} (target ${check.target})`);
    }
    if (profile) console.log(`\nCPU profile of "${args.profile}" (${path.relative(ROOT, profile.file)}):\n${profile.summary}`);

    const resultsDir = path.join(ROOT, 'bench-results');
    mkdirSync(resultsDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = path.join(resultsDir, `bench-${ENGINE}-${stamp}.json`);
    const settings = { engine: ENGINE, duration: DURATION, warmup: WARMUP, rounds: ROUNDS, connections: CONNECTIONS, floodConnections: FLOOD_CONNECTIONS, tasksPerUser: TASKS_PER_USER, logLevel: args['log-level'] };
    writeFileSync(out, JSON.stringify({ machine: info, settings, measurements, flood, checks, profile: profile?.file }, null, 2));
    console.log(`\nresults: ${path.relative(ROOT, out)}`);

    failed = args.check && checks.some((c) => !c.ok && (ENGINE === 'sqlite' || !c.what.endsWith('ratio')));
    if (failed) process.exitCode = 1;
  } finally {
    for (const server of started.reverse()) await server.stop();
    await pg?.drop();
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
  const others = threads.map((thread) => `\nThread profile ${path.basename(thread)} (a SQLite thread):\n${summarizeProfile(thread, { top: 8 })}`);
  return { file, summary: [summarizeProfile(file, { top: 25 }), ...others].join('\n') };
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
