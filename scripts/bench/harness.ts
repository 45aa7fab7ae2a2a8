import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { freePort as freePortIn, waitUntilHealthy } from '../support/server-process.js';

/** Ports the team set aside for benchmarks and other local servers. */
const PORT_RANGE = { from: 3200, to: 3299 } as const;

/** A free port in 3200–3299 that this run has not handed out yet. */
export const freePort = (taken: Set<number>): Promise<number> => freePortIn(PORT_RANGE.from, PORT_RANGE.to, taken);

export interface ServerProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  port: number;
  /** node arguments: flags, then the script, then its arguments. */
  nodeArgs: string[];
  env: Record<string, string>;
  logFile: string;
}

/** Starts `node …` with stdout/stderr in a log file and waits until its health path answers. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.nodeArgs, {
    // Not the bench's own environment: a developer's shell may carry settings of the service
    // (tuning knobs, a DATABASE_URL) that would change what is measured. What a server gets is
    // exactly what the bench passes.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), TMPDIR: os.tmpdir(), ...options.env },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${options.port}`;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  await waitUntilHealthy(`${url}/health`, child, 30_000, () => `${options.name}'s log:\n${tail(options.logFile)}`);

  return {
    name: options.name,
    url,
    port: options.port,
    child,
    logFile: options.logFile,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitedPromise;
      clearTimeout(killer);
    },
  };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Peak resident memory of a process over a window: Linux lets us reset the high-water mark
 * (clear_refs 5) and read it back (VmHWM); where that is refused, sampling VmRSS is the fallback.
 */
export class PeakRssMeter {
  private sampled = 0;
  private timer: NodeJS.Timeout | undefined;
  private resetWorked = false;

  constructor(private readonly pid: number) {}

  start(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.resetWorked = true;
    } catch {
      this.resetWorked = false;
    }
    this.sampled = this.read('VmRSS');
    this.timer = setInterval(() => {
      this.sampled = Math.max(this.sampled, this.read('VmRSS'));
    }, 200);
    this.timer.unref();
  }

  /** Peak RSS in MiB since start(). */
  stop(): number {
    clearInterval(this.timer);
    const sampled = Math.max(this.sampled, this.read('VmRSS'));
    const kib = this.resetWorked ? Math.max(this.read('VmHWM'), sampled) : sampled;
    return Math.round((kib / 1024) * 10) / 10;
  }

  private read(field: 'VmRSS' | 'VmHWM'): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  }
}

/** A process's resident memory now, in MiB (0 when it cannot be read). */
export function rssMiB(pid: number): number {
  try {
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round((kib / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Linux's clock tick, the unit of /proc/<pid>/stat's CPU times (USER_HZ: 100 on every common build). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds a process has used so far, all its threads, user and system (NaN off Linux). CPU per
 * request at a fixed request rate is the steadiest comparison between two builds on a host whose
 * speed drifts: throughput moves with every neighbour, the work a request costs much less.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = statFields(pid);
    // utime and stime: the 12th and 13th fields after the name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces); throws when there is no such process. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The pid of a process's parent; throws when there is no such process. */
export const parentPidOf = (pid: number): number => Number(statFields(pid)[1]);

/**
 * CPU seconds used so far by a process and every process it started directly: for a PostgreSQL
 * server's postmaster, its backends (one per connection), WAL writer, checkpointer and autovacuum.
 * A child that exits meanwhile takes its time with it: the bench's connections stay open.
 */
export function processFamilyCpuSeconds(parentPid: number): number {
  let total = processCpuSeconds(parentPid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      // The parent's pid is the 2nd field after the name; utime and stime the 12th and 13th.
      if (Number(fields[1]) === parentPid) total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return total;
}

/** A JSON request that must succeed; the benchmark cannot measure anything if seeding fails. */
export async function requestJson<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  expect: number[] = [200, 201],
): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!expect.includes(response.status)) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** The value at percentile `p` (0–100) of ascending `sorted`; NaN when empty. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export const round1 = (n: number) => Math.round(n * 10) / 10;

/** A command-line option that must be a whole number ≥ 1, or its default when absent. */
export function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number of at least 1; got "${text}"`);
  return value;
}

/** Applies the service's migrations with its compiled CLI, with only `env` as its settings. */
export async function migrateWithCli(cli: string, env: Record<string, string>, cwd: string): Promise<void> {
  await promisify(execFile)(process.execPath, [cli, 'migrate'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env } });
}

export async function redisAnswers(url: string): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
