/**
 * npm run bench:files [-- options]
 *
 * Attachments measured from outside, against the compiled service (dist/) on its defaults: the
 * embedded SQLite database and files on the local disk.
 * - throughput: a 25 MiB file uploaded (multipart, streamed) and downloaded, each several times;
 *   the best and the median MB/s, beside a bare Fastify route that streams the same bytes to and
 *   from a file while hashing them (the floor), measured in the same run;
 * - memory: 20 concurrent 5 MiB uploads, and how far the service's peak resident memory rose
 *   above what it used before them;
 * - interference: the p99 latency of `GET /tasks` (another user's, 200 tasks) on its own, then
 *   while rounds of 20 concurrent 5 MiB uploads run, timed by a probe process of its own; then
 *   while the same uploads go to the floor instead, a process of its own on the same cores: the
 *   part of the slowdown that sharing the host causes, whatever the service does with uploads.
 * Every upload's SHA-256 and every download's bytes are checked: a fast wrong answer fails.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { PeakRssMeter, freePort, mapLimit, percentile, requestJson, round1, rssMiB, startServer, wholeNumber, type ServerProcess } from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIST_MAIN = path.join(ROOT, 'dist/src/infrastructure/main.js');
const DIST_FLOOR = path.join(ROOT, 'dist/scripts/bench/upload-floor-server.js');
const DIST_PROBE = path.join(ROOT, 'dist/scripts/bench/latency-probe.js');
const JWT_SECRET = 'bench-files-secret-that-is-long-enough-0123456789';
const MiB = 2 ** 20;
const run = promisify(execFile);

const TARGETS = { throughputMBps: 150, concurrentRssMiB: 40, latencyRatio: 1.2 } as const;

const HELP = `npm run bench:files -- [options]
  --repeat <n>        uploads and downloads of the large file (default 5)
  --large <MiB>       the large file (default 25)
  --small <MiB>       each concurrent upload (default 5)
  --concurrent <n>    uploads at once (default 20)
  --seconds <n>       each GET /tasks latency window (default 5)
  --rate <n>          GET /tasks per second in a window, sent on schedule (default 100)
  --check             exit 1 when a target is missed`;

const { values: args } = parseArgs({
  options: {
    repeat: { type: 'string' },
    large: { type: 'string' },
    small: { type: 'string' },
    concurrent: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const REPEAT = wholeNumber('repeat', args.repeat, 5);
const LARGE = wholeNumber('large', args.large, 25) * MiB;
const SMALL = wholeNumber('small', args.small, 5) * MiB;
const CONCURRENT = wholeNumber('concurrent', args.concurrent, 20);
const WINDOW_MS = wholeNumber('seconds', args.seconds, 5) * 1000;
const PROBE_RATE = wholeNumber('rate', args.rate, 100);

/** One MiB of random bytes, repeated: incompressible, and no client-side buffer as large as the file. */
const BLOCK = randomBytes(MiB);

/** The SHA-256 of `size` bytes of BLOCK repeated, computed once per size: the check of every upload must not stall the uploads. */
const sha256BySize = new Map<number, string>();
function sha256Of(size: number): string {
  let digest = sha256BySize.get(size);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (let sent = 0; sent < size; sent += BLOCK.byteLength) hash.update(BLOCK.subarray(0, Math.min(BLOCK.byteLength, size - sent)));
    digest = hash.digest('hex');
    sha256BySize.set(size, digest);
  }
  return digest;
}

interface Sent {
  status: number;
  body: string;
  seconds: number;
}

/** Streams `size` bytes as the request body, after `head` and before `tail`, honouring back-pressure. */
function send(url: string, method: string, headers: Record<string, string>, size: number, head = '', tail = ''): Promise<Sent> {
  const started = performance.now();
  const length = Buffer.byteLength(head) + size + Buffer.byteLength(tail);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers: { ...headers, 'content-length': String(length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), seconds: (performance.now() - started) / 1000 }));
      response.on('error', reject);
    });
    request.on('error', reject);
    void (async () => {
      if (head) request.write(head);
      for (let sent = 0; sent < size; sent += BLOCK.byteLength) {
        if (!request.write(BLOCK.subarray(0, Math.min(BLOCK.byteLength, size - sent)))) {
          await new Promise<void>((drained) => request.once('drain', drained));
        }
      }
      request.end(tail);
    })().catch(reject);
  });
}

/** Reads a response to its end, hashing it: the bytes must be the ones uploaded. */
function fetchBytes(url: string, headers: Record<string, string>): Promise<{ status: number; size: number; sha256: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        const hash = createHash('sha256');
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.byteLength;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, size, sha256: hash.digest('hex'), seconds: (performance.now() - started) / 1000 }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

interface Account {
  token: string;
  taskId: number;
}

async function signUp(server: ServerProcess, name: string): Promise<Account> {
  const password = `Bench-files-${name}-password`;
  await requestJson(server.url, 'POST', '/register', { username: name, email: `${name}@example.com`, password });
  const { access_token: token } = await requestJson<{ access_token: string }>(server.url, 'POST', '/login', { username: name, password });
  const task = await requestJson<{ id: number }>(server.url, 'POST', '/tasks', { title: `${name}'s files` }, token);
  return { token, taskId: task.id };
}

interface Attachment {
  id: string;
  size: number;
  sha256: string;
}

let uploads = 0;
async function upload(server: ServerProcess, account: Account, size: number): Promise<{ attachment: Attachment; seconds: number }> {
  const boundary = `taskforge-bench-${randomBytes(12).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench-${++uploads}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const sent = await send(
    `${server.url}/tasks/${account.taskId}/attachments`,
    'POST',
    { authorization: `Bearer ${account.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    size,
    head,
    `\r\n--${boundary}--\r\n`,
  );
  if (sent.status !== 201) throw new Error(`upload → ${sent.status}: ${sent.body.slice(0, 300)}`);
  const attachment = JSON.parse(sent.body) as Attachment;
  if (attachment.size !== size || attachment.sha256 !== sha256Of(size)) throw new Error(`upload stored ${attachment.size} bytes, SHA-256 ${attachment.sha256}: not what was sent`);
  return { attachment, seconds: sent.seconds };
}

async function download(server: ServerProcess, account: Account, attachment: Attachment): Promise<number> {
  const got = await fetchBytes(`${server.url}/tasks/${account.taskId}/attachments/${attachment.id}/content`, { authorization: `Bearer ${account.token}` });
  if (got.status !== 200 || got.size !== attachment.size || got.sha256 !== attachment.sha256) throw new Error(`download → ${got.status}, ${got.size} bytes: not what was uploaded`);
  return got.seconds;
}

async function removeAll(server: ServerProcess, account: Account, attachments: Attachment[]): Promise<void> {
  await mapLimit(attachments, 8, (a) => requestJson(server.url, 'DELETE', `/tasks/${account.taskId}/attachments/${a.id}`, undefined, account.token, [204]));
}

const megabytesPerSecond = (bytes: number, seconds: number) => round1(bytes / 1e6 / seconds);
const round2 = (n: number) => Math.round(n * 100) / 100;
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

interface Throughput {
  uploadBest: number;
  uploadMedian: number;
  downloadBest: number;
  downloadMedian: number;
}

async function measureService(server: ServerProcess, account: Account): Promise<Throughput> {
  const up: number[] = [];
  const down: number[] = [];
  const stored: Attachment[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const { attachment, seconds } = await upload(server, account, LARGE);
    stored.push(attachment);
    up.push(megabytesPerSecond(LARGE, seconds));
    down.push(megabytesPerSecond(LARGE, await download(server, account, attachment)));
  }
  await removeAll(server, account, stored);
  return { uploadBest: Math.max(...up), uploadMedian: median(up), downloadBest: Math.max(...down), downloadMedian: median(down) };
}

async function measureFloor(floor: ServerProcess): Promise<Throughput> {
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const sent = await send(`${floor.url}/floor/file`, 'PUT', { 'content-type': 'application/octet-stream' }, LARGE);
    if (sent.status !== 200 || (JSON.parse(sent.body) as { sha256: string }).sha256 !== sha256Of(LARGE)) throw new Error(`floor upload → ${sent.status}`);
    up.push(megabytesPerSecond(LARGE, sent.seconds));
    const got = await fetchBytes(`${floor.url}/floor/file`, {});
    if (got.size !== LARGE) throw new Error(`floor download → ${got.status}, ${got.size} bytes`);
    down.push(megabytesPerSecond(LARGE, got.seconds));
  }
  return { uploadBest: Math.max(...up), uploadMedian: median(up), downloadBest: Math.max(...down), downloadMedian: median(down) };
}

/** One upload of `size` bytes to the floor, into a file of its own (`slot`), its SHA-256 checked. */
async function floorUpload(floor: ServerProcess, slot: number, size: number): Promise<void> {
  const sent = await send(`${floor.url}/floor/uploads/${slot}`, 'PUT', { 'content-type': 'application/octet-stream' }, size);
  if (sent.status !== 200 || (JSON.parse(sent.body) as { sha256: string }).sha256 !== sha256Of(size)) throw new Error(`floor upload → ${sent.status}`);
}

/** Runs `round` back to back for as long as `measure` takes; its result, and how many rounds ran. */
async function whileUploading<T>(measure: () => Promise<T>, round: () => Promise<void>): Promise<{ latency: T; rounds: number }> {
  let uploading = true;
  const rounds = (async () => {
    let done = 0;
    while (uploading) {
      await round();
      done++;
    }
    return done;
  })();
  let latency: T;
  try {
    latency = await measure();
  } finally {
    uploading = false;
  }
  return { latency, rounds: await rounds };
}

interface Latency {
  p50: number;
  p99: number;
}

/**
 * The latency (ms) of GET /tasks over one window, PROBE_RATE requests a second sent on schedule,
 * timed by a process of its own (latency-probe.ts).
 */
async function tasksLatency(server: ServerProcess, reader: Account): Promise<Latency> {
  const { stdout } = await run(process.execPath, [DIST_PROBE, `${server.url}/tasks?limit=50`, reader.token, String(PROBE_RATE), String(WINDOW_MS)], { maxBuffer: 64 * MiB });
  const sorted = (JSON.parse(stdout) as number[]).sort((a, b) => a - b);
  return { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)) };
}

async function main(): Promise<void> {
  console.log(
    `taskforge bench:files — ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}\n` +
      `  ${LARGE / MiB} MiB up and down ×${REPEAT}, ${CONCURRENT} concurrent ${SMALL / MiB} MiB uploads, GET /tasks windows of ${WINDOW_MS / 1000} s`,
  );
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'taskforge-bench-files-'));
  const ports = new Set<number>();
  const processes: ServerProcess[] = [];
  try {
    const floorPort = await freePort(ports);
    const floor = await startServer({ name: 'floor', port: floorPort, nodeArgs: [DIST_FLOOR], env: { PORT: String(floorPort), FLOOR_DIR: runDir }, logFile: path.join(runDir, 'floor.log') });
    processes.push(floor);
    const port = await freePort(ports);
    const server = await startServer({
      name: 'service',
      port,
      nodeArgs: [DIST_MAIN],
      env: {
        NODE_ENV: 'production',
        PORT: String(port),
        DATA_DIR: path.join(runDir, 'data'),
        JWT_SECRET,
        ACCESS_TOKEN_TTL: '2h',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '1000000',
        RATE_LIMIT_AUTH_MAX: '1000000',
        RATE_LIMIT_FAILED_AUTH_MAX: '1000000',
      },
      logFile: path.join(runDir, 'service.log'),
    });
    processes.push(server);

    const uploader = await signUp(server, 'bench_files_uploader');
    const reader = await signUp(server, 'bench_files_reader');
    await mapLimit(Array.from({ length: 200 }, (_, n) => n), 8, (n) => requestJson(server.url, 'POST', '/tasks', { title: `Listed task ${n}` }, reader.token));

    const floorThroughput = await measureFloor(floor);
    const service = await measureService(server, uploader);
    console.log(`  floor:   up ${floorThroughput.uploadMedian} MB/s (best ${floorThroughput.uploadBest}), down ${floorThroughput.downloadMedian} MB/s (best ${floorThroughput.downloadBest})`);
    console.log(`  service: up ${service.uploadMedian} MB/s (best ${service.uploadBest}), down ${service.downloadMedian} MB/s (best ${service.downloadBest})`);

    // Warm: the first multipart request loads code and fills pools that every later one reuses.
    await removeAll(server, uploader, [(await upload(server, uploader, SMALL)).attachment]);
    const before = rssMiB(server.child.pid!);
    const meter = new PeakRssMeter(server.child.pid!);
    meter.start();
    const concurrent = await Promise.all(Array.from({ length: CONCURRENT }, () => upload(server, uploader, SMALL)));
    const rssGrowth = round1(meter.stop() - before);
    await removeAll(server, uploader, concurrent.map((u) => u.attachment));
    console.log(`  ${CONCURRENT} concurrent ${SMALL / MiB} MiB uploads: RSS ${before} MiB before, +${rssGrowth} MiB at the peak`);

    const quiet = await tasksLatency(server, reader);
    const busy = await whileUploading(
      () => tasksLatency(server, reader),
      async () => {
        const round = await Promise.all(Array.from({ length: CONCURRENT }, () => upload(server, uploader, SMALL)));
        await removeAll(server, uploader, round.map((u) => u.attachment));
      },
    );
    const ratio = round2(busy.latency.p99 / quiet.p99);
    console.log(
      `  GET /tasks at ${PROBE_RATE}/s, p50 / p99: ${quiet.p50} / ${quiet.p99} ms quiet, ${busy.latency.p50} / ${busy.latency.p99} ms during ${busy.rounds} rounds of ${CONCURRENT} uploads (p99 ×${ratio})`,
    );
    // The same uploads sent to the floor, a process of its own on the same cores: what the service's
    // latency suffers from sharing the host alone, whatever the service itself does with uploads.
    const beside = await whileUploading(
      () => tasksLatency(server, reader),
      () => Promise.all(Array.from({ length: CONCURRENT }, (_, slot) => floorUpload(floor, slot, SMALL))).then(() => undefined),
    );
    const besideRatio = round2(beside.latency.p99 / quiet.p99);
    console.log(
      `  … ${beside.latency.p50} / ${beside.latency.p99} ms during ${beside.rounds} rounds of ${CONCURRENT} uploads to another process on this host (p99 ×${besideRatio})`,
    );

    const checks = [
      { what: `upload of ${LARGE / MiB} MiB, median (MB/s)`, value: service.uploadMedian, target: `≥ ${TARGETS.throughputMBps}`, ok: service.uploadMedian >= TARGETS.throughputMBps },
      { what: `download of ${LARGE / MiB} MiB, median (MB/s)`, value: service.downloadMedian, target: `≥ ${TARGETS.throughputMBps}`, ok: service.downloadMedian >= TARGETS.throughputMBps },
      { what: 'upload, of the floor', value: round2(service.uploadMedian / floorThroughput.uploadMedian), target: 'ratio', ok: true },
      { what: 'download, of the floor', value: round2(service.downloadMedian / floorThroughput.downloadMedian), target: 'ratio', ok: true },
      { what: `RSS growth, ${CONCURRENT} × ${SMALL / MiB} MiB at once (MiB)`, value: rssGrowth, target: `≤ ${TARGETS.concurrentRssMiB}`, ok: rssGrowth <= TARGETS.concurrentRssMiB },
      { what: 'GET /tasks p99 during uploads, of quiet', value: ratio, target: `≤ ${TARGETS.latencyRatio}`, ok: ratio <= TARGETS.latencyRatio },
      { what: 'GET /tasks p99 during uploads to another process on this host, of quiet', value: besideRatio, target: 'ratio', ok: true },
    ];
    const rows = [['check', 'value', 'target', ''], ['---', '---', '---', '---'], ...checks.map((c) => [c.what, String(c.value), c.target, c.target === 'ratio' ? '' : c.ok ? '✓' : '✗'])];
    console.log(`\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}`);
    if (args.check && checks.some((c) => !c.ok)) process.exitCode = 1;
  } finally {
    for (const started of processes.reverse()) await started.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

await main();
