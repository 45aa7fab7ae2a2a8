import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { testPortRange } from './test-ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });

/**
 * Ports this process has handed out, in the order it handed them out: a port is free when
 * checked, but whoever it was given to may not listen on it yet (a server still starting), so
 * the next call must not hand it out again while any other port will do.
 */
const handedOut = new Set<number>();

/**
 * A free TCP port in [from, to] (default: the tests' range, see test-ports.ts) on 127.0.0.1
 * (checked, then released for the server to take), starting at a random place; ports in `taken`
 * are skipped, and the one returned is added to it. A port this process never handed out comes
 * first; once every port of the range has been, the one handed out longest ago that is free again.
 */
export async function freePort(from = testPortRange().from, to = testPortRange().to, taken = new Set<number>()): Promise<number> {
  const offset = Math.floor(Math.random() * (to - from + 1));
  const inRange = (port: number) => port >= from && port <= to;
  const fresh = Array.from({ length: to - from + 1 }, (_, i) => from + ((offset + i) % (to - from + 1))).filter((port) => !handedOut.has(port));
  for (const port of [...fresh, ...[...handedOut].filter(inRange)]) {
    if (taken.has(port) || !(await portIsFree(port))) continue;
    taken.add(port);
    handedOut.delete(port);
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

/**
 * Resolves once `url` answers 2xx. Rejects (after SIGKILL) when the child exits first or the
 * deadline passes; `describe` says what to add to the message (its log).
 */
export async function waitUntilHealthy(url: string, child: ChildProcess, timeoutMs: number, describe: () => string): Promise<void> {
  let gone = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${url} did not answer ${gone ? `(the process exited with code ${child.exitCode})` : `within ${timeoutMs} ms`}:\n${describe()}`);
}

export interface ServerProcess {
  port: number;
  baseUrl: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** What it wrote to stderr alone. */
  errorOutput(): string;
  /** Resolves once the output matches `pattern`; rejects if the process exits first. */
  waitForOutput(pattern: RegExp): Promise<void>;
}

/** A process of the service: its entry point, and the variable that tells it which port to listen on. */
export interface ServiceProcess {
  script: string;
  portVariable: string;
}

export const API_PROCESS: ServiceProcess = { script: 'src/infrastructure/main.ts', portVariable: 'PORT' };
export const WORKER_PROCESS: ServiceProcess = { script: 'src/infrastructure/worker.ts', portVariable: 'WORKER_PORT' };

export interface StartServerOptions {
  env: Record<string, string>;
  port?: number;
  readyTimeoutMs?: number;
  /** The API server unless told otherwise. */
  process?: ServiceProcess;
}

/**
 * The real server (`src/infrastructure/main.ts`, or another process of the service, through tsx,
 * one process, so signals reach it directly), resolved once `/health` answers.
 */
export async function startServer({ readyTimeoutMs = 20_000, ...options }: StartServerOptions): Promise<ServerProcess> {
  const server = await spawnServer(options);
  await waitUntilHealthy(`${server.baseUrl}/health`, server.child, readyTimeoutMs, server.output);
  return server;
}

/** The real server process, as soon as it is spawned: for start-ups that are meant to fail. */
export async function spawnServer({ env, port, process: service = API_PROCESS }: Omit<StartServerOptions, 'readyTimeoutMs'>): Promise<ServerProcess> {
  const chosenPort = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', service.script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', [service.portVariable]: String(chosenPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errorOutput = '';
  const waiting = new Set<{ pattern: RegExp; resolve: () => void }>();
  const onOutput = (chunk: Buffer) => {
    output += chunk;
    for (const waiter of waiting) {
      if (!waiter.pattern.test(output)) continue;
      waiting.delete(waiter);
      waiter.resolve();
    }
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', (chunk: Buffer) => {
    errorOutput += chunk;
    onOutput(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForOutput = (pattern: RegExp) =>
    pattern.test(output)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const waiter = { pattern, resolve };
          waiting.add(waiter);
          void exited.then(() => {
            if (waiting.delete(waiter)) reject(new Error(`the process exited before printing ${pattern}:\n${output}`));
          });
        });
  return {
    port: chosenPort,
    baseUrl: `http://127.0.0.1:${chosenPort}`,
    child,
    exited,
    output: () => output,
    errorOutput: () => errorOutput,
    waitForOutput,
  };
}
