import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, chromiumInstalled, launchChromium } from '../../scripts/support/chromium.js';
import { REPO_ROOT, freePort, waitUntilHealthy } from '../../scripts/support/server-process.js';

/** Why the browser tests do not run here, or null when they do. */
export function browserTestsSkipped(): string | null {
  if (process.env.BROWSER_TESTS === 'off') return 'BROWSER_TESTS=off (CI runs them once, in a step of their own)';
  if (!chromiumInstalled()) return `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH) to run them`;
  return null;
}

/** Where screenshots of failed steps go (.ci/run prints it). */
export const ARTIFACTS_DIR = path.resolve(REPO_ROOT, process.env.BROWSER_ARTIFACTS_DIR ?? '.ci/browser-artifacts');

/** `npm run build`: the service and the client exactly as `npm start` runs them. */
export async function buildService(): Promise<void> {
  await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

export interface RunningService {
  baseUrl: string;
  output(): string;
  /** Stops the process (SIGTERM) and starts it again on the same port and data: what a deploy does. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The built service (dist/, as `npm start` runs it) on a free port, with a data folder of its own; `env` adds settings (AI_BASE_URL…). */
export async function startBuiltService(env: Record<string, string> = {}): Promise<RunningService> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'taskforge-browser-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = '';
  const launch = async () => {
    const child: ChildProcess = spawn(process.execPath, ['dist/src/infrastructure/main.js'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        JWT_SECRET: 'browser-tests-secret-that-is-long-enough-0123456789',
        LOG_LEVEL: 'warn',
        // One address signs up and logs in many times here, and one person fills a list of thousands.
        RATE_LIMIT_AUTH_MAX: '1000',
        RATE_LIMIT_MAX: '100000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitUntilHealthy(`${baseUrl}/health`, child, 30_000, () => output);
    return async () => {
      child.kill('SIGTERM');
      await exited;
    };
  };
  let stopRunning = await launch();
  return {
    baseUrl,
    output: () => output,
    restart: async () => {
      await stopRunning();
      stopRunning = await launch();
    },
    stop: async () => {
      await stopRunning();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Content-Security-Policy violations the page reported. */
  cspViolations: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile, its console watched for CSP violations. */
export async function launchBrowser(): Promise<Browser> {
  const { context, page, close } = await launchChromium();
  context.setDefaultTimeout(10_000);
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page, cspViolations, close };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 100)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown }>;
}

/**
 * axe-core's checks of the page as it is, run through the DevTools protocol (an evaluate is not
 * subject to the page's CSP, which stays on); serious and critical violations are returned.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  const source = readFileSync(path.join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  // A string, run in the page: this file is type-checked without the DOM's types.
  const violations = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)")) as AxeViolation[];
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact}: ${violation.id} (${violation.help}) at ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
}
