import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';

/**
 * No Docker engine runs where these tests do, so the Dockerfile and the compose file are checked
 * as far as that allows: their structure here, and the compose file against Compose's own schema
 * when a `docker-compose` or `docker compose` that can read it is installed.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const { services } = compose;

/** The source file a `dist/…js` path is compiled from. */
const sourceOf = (distPath: string) => distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');

describe('docker-compose.yml', () => {
  it('brings up the app and its worker with PostgreSQL and Redis, each with a health check (and the tests under a profile of their own)', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'migrate', 'postgres', 'redis', 'test', 'worker']);
    const unprofiled = Object.entries(services).filter(([, service]) => !service.profiles).map(([name]) => name);
    expect(unprofiled.sort()).toEqual(['app', 'migrate', 'postgres', 'redis', 'worker']);
    for (const name of ['app', 'postgres', 'redis', 'worker']) expect(services[name]!.healthcheck?.test.length).toBeGreaterThan(0);
  });

  it('runs the jobs in the worker, from the same image and on the same stores as the app, which then runs none', () => {
    const { worker, app } = services as Record<string, ComposeService>;
    const [node, script] = worker!.command!;
    expect(node).toBe('node');
    expect(sourceOf(script!)).toBe('src/infrastructure/worker.ts');
    expect(worker!.image).toBe(app!.image);
    expect(worker!.build).toEqual(app!.build);
    expect(worker!.depends_on).toEqual(app!.depends_on);
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'NODE_ENV', 'STORAGE_URL', 'S3_ENDPOINT', 'AWS_ACCESS_KEY_ID']) {
      expect(worker!.environment![name]).toBe(app!.environment![name]);
    }
    // The export files the worker writes are the ones the app serves: one folder, unless STORAGE_URL names a bucket.
    expect(worker!.volumes).toEqual(app!.volumes);
    expect(app!.volumes).toContainEqual(expect.stringMatching(/:\/app\/data$/));
    expect(app!.environment!.WORKERS).toBe('off');
    // The worker's health check asks the port the worker listens on.
    const port = worker!.environment!.WORKER_PORT;
    expect(worker!.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${port}/health`);
  });

  it('starts the app only after the migrations succeeded and the databases are healthy', () => {
    expect(services.app!.depends_on).toEqual({
      migrate: { condition: 'service_completed_successfully' },
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('runs the migrations with the service’s own CLI, from the same image as the app', () => {
    const [node, script, command] = services.migrate!.command!;
    expect([node, command]).toEqual(['node', 'migrate']);
    expect(existsSync(path.join(root, sourceOf(script!)))).toBe(true);
    expect(services.migrate!.image).toBe(services.app!.image);
    expect(services.migrate!.build).toEqual(services.app!.build);
  });

  it('points the app at the PostgreSQL and Redis services, and refuses to start without JWT_SECRET', () => {
    const env = services.app!.environment!;
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.NODE_ENV).toBe('production');
    // Unset, the secret reaches the service empty, and a production service refuses that.
    expect(env.JWT_SECRET).toBe('${JWT_SECRET:-}');
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: '' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: '' })).toThrow(/^JWT_SECRET is required/);
  });

  it('runs the whole test suite from the Dockerfile’s test stage against compose’s PostgreSQL and Redis, once they are healthy', () => {
    const test = services.test!;
    expect(test.profiles).toEqual(['test']);
    const target = (test.build as { target?: string }).target;
    expect(read('Dockerfile')).toMatch(new RegExp(`^FROM \\S+ AS ${target}$`, 'm'));
    const env = test.environment!;
    const database = new URL(env.TEST_DATABASE_URL!);
    expect(database.hostname).toBe('postgres');
    expect(database.pathname).toMatch(/test/); // destructive tests refuse any other database
    expect(env.TEST_REDIS_URL).toBe('redis://redis:6379');
    expect(test.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    // The secret the app requires is not needed to run the tests (compose reads every service's variables).
    expect(JSON.stringify(compose)).not.toMatch(/\$\{[A-Z_]+:\?/);
  });

  const composeCli = ['docker-compose', 'docker compose'].find((cli) => {
    try {
      execFileSync('sh', ['-c', `${cli} version`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });

  it.runIf(composeCli)('passes the installed Compose’s own validation (`config`)', () => {
    // docker-compose 1.x predates the top-level `name`; everything else is checked against its schema.
    const text = composeCli === 'docker-compose' ? read('docker-compose.yml').replace(/^name: .*$/m, '') : read('docker-compose.yml');
    const output = execFileSync('sh', ['-c', `${composeCli} -f - --project-directory "${root}" config`], {
      input: text,
      env: { ...process.env, JWT_SECRET: 'x'.repeat(48) },
      encoding: 'utf8',
    });
    expect(output).toContain('service_completed_successfully');
    const withTests = execFileSync('sh', ['-c', `${composeCli} -f - --project-directory "${root}" --profile test config`], {
      input: text,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(withTests).toContain('TEST_DATABASE_URL');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const stage = (name: string) => stages.find((text) => new RegExp(`^\\S+ AS ${name}$`, 'm').test(text.split('\n')[0]!))!;
  const runtime = stages.at(-1)!;

  it('builds in one stage and runs from a slim one that holds only the build output', () => {
    expect(stages.map((text) => /^\S+ AS (\S+)/.exec(text)![1])).toEqual(['build', 'test', 'runtime']);
    expect(runtime).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim AS runtime/);
    const copied = [...runtime.matchAll(/^COPY --from=build (\S+)/gm)].map((match) => match[1]);
    expect(copied.sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    expect(runtime).not.toMatch(/apt-get|g\+\+|npm (ci|install)/);
  });

  it('runs as the unprivileged node user, node itself as PID 1, with a health check', () => {
    expect(runtime).toMatch(/^USER node$/m);
    const cmd = /^CMD (\[.*\])$/m.exec(runtime)?.[1];
    const [node, script] = JSON.parse(cmd!) as string[];
    expect(node).toBe('node');
    expect(existsSync(path.join(root, sourceOf(script!)))).toBe(true);
    expect(runtime).toMatch(/^HEALTHCHECK [^]*?\/health/m);
  });

  it('prunes development dependencies before they are copied', () => {
    expect(stage('build')).toMatch(/npm prune --omit=dev/);
  });

  it('has a test stage with every dependency, the tests and the files they read, running vitest as node', () => {
    const test = stage('test');
    expect(test).toMatch(/^RUN npm ci/m);
    expect(test).not.toMatch(/npm prune/);
    expect(test).toMatch(/^USER node$/m);
    const copied = [...test.matchAll(/^COPY (?:--chown=\S+ )?(.+) \S+$/gm)].flatMap((match) => match[1]!.split(' '));
    for (const needed of ['package.json', 'package-lock.json', 'src', 'migrations', 'tests', 'scripts', 'vitest.config.ts', 'knexfile.ts', '.env.example', 'Dockerfile', 'docker-compose.yml']) {
      expect(copied, needed).toContain(needed);
      expect(existsSync(path.join(root, needed)), needed).toBe(true);
    }
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(test)![1]!) as string[];
    expect(existsSync(path.join(root, entrypoint.at(-1)!))).toBe(true);
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(test)![1]!)).toEqual(['npx', 'vitest', 'run']);
  });

  it('sends the test stage what it copies: .dockerignore leaves those paths in the build context', () => {
    const ignored = read('.dockerignore').split('\n').filter((line) => line && !line.startsWith('#'));
    for (const needed of ['tests', 'scripts', 'Dockerfile', 'docker-compose.yml', '.dockerignore']) expect(ignored).not.toContain(needed);
    expect(ignored).toContain('!.env.example');
  });
});
