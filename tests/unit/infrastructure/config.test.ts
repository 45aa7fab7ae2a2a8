import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDatabaseUrl, shownWithoutCredentials } from '../../../src/infrastructure/config.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256-0123456789';
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskforge-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Loads with a JWT secret and a private cwd unless the test says otherwise. */
const load = (env: Record<string, string>, cwd = tempDir()) => loadConfig({ JWT_SECRET: SECRET, ...env }, cwd);

function configError(env: Record<string, string>, cwd?: string): string {
  try {
    load(env, cwd);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const cwd = tempDir();
    const config = load({}, cwd);
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      dataDir: path.join(cwd, 'data'),
      database: { kind: 'sqlite', filename: path.join(cwd, 'data', 'taskforge.sqlite') },
      jwt: { issuer: 'taskforge', audience: 'taskforge-api', accessTokenTtlSeconds: 900, refreshTokenTtlSeconds: 30 * 86_400 },
      redisUrl: null,
      corsOrigins: [],
      logLevel: 'info',
      rateLimit: { authMax: 10, max: 600, failedAuthMax: 60, windowSeconds: 60 },
      admin: null,
      bodyLimit: 1024 * 1024,
      trustProxy: false,
      metricsToken: null,
      events: { retentionSeconds: 7 * 86_400 },
    });
  });

  it('waits 30 s for the database at start-up and drains without a delay, unless told otherwise', () => {
    expect(load({})).toMatchObject({ databaseConnectTimeoutMs: 30_000, shutdownDelayMs: 0, shutdownTimeoutMs: 10_000 });
    expect(load({ DATABASE_CONNECT_TIMEOUT_MS: '500', SHUTDOWN_DELAY_MS: '15000', SHUTDOWN_TIMEOUT_MS: '2000' })).toMatchObject({
      databaseConnectTimeoutMs: 500,
      shutdownDelayMs: 15_000,
      shutdownTimeoutMs: 2_000,
    });
  });

  it('reads every documented variable', () => {
    const config = load({
      NODE_ENV: 'production',
      PORT: '3456',
      HOST: '0.0.0.0',
      JWT_ISSUER: 'issuer-x',
      JWT_AUDIENCE: 'aud-x',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      REDIS_URL: 'redis://localhost:6379',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_AUTH_MAX: '5',
      RATE_LIMIT_MAX: '50',
      RATE_LIMIT_FAILED_AUTH_MAX: '7',
      RATE_LIMIT_WINDOW: '30s',
      ADMIN_USERNAME: 'root',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: 'root password',
      BODY_LIMIT: '512kb',
      TRUST_PROXY: 'true',
      METRICS_TOKEN: 'm-token',
      EVENT_RETENTION: '36h',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 3456,
      host: '0.0.0.0',
      jwt: { secret: SECRET, issuer: 'issuer-x', audience: 'aud-x', accessTokenTtlSeconds: 300, refreshTokenTtlSeconds: 7 * 86_400 },
      redisUrl: 'redis://localhost:6379',
      corsOrigins: ['https://a.example.com', 'http://localhost:5173'],
      logLevel: 'warn',
      rateLimit: { authMax: 5, max: 50, failedAuthMax: 7, windowSeconds: 30 },
      admin: { username: 'root', email: 'root@example.com', password: 'root password' },
      bodyLimit: 512 * 1024,
      trustProxy: true,
      metricsToken: 'm-token',
      events: { retentionSeconds: 36 * 3600 },
    });
  });

  it.each<[string, Record<string, string>]>([
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: 'forever' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '0' }],
    ['REFRESH_TOKEN_TTL', { REFRESH_TOKEN_TTL: '30 fortnights' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['RATE_LIMIT_AUTH_MAX', { RATE_LIMIT_AUTH_MAX: '0' }],
    ['RATE_LIMIT_MAX', { RATE_LIMIT_MAX: '1.5' }],
    ['RATE_LIMIT_FAILED_AUTH_MAX', { RATE_LIMIT_FAILED_AUTH_MAX: '-1' }],
    ['RATE_LIMIT_WINDOW', { RATE_LIMIT_WINDOW: 'soon' }],
    ['BODY_LIMIT', { BODY_LIMIT: 'huge' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'maybe' }],
    ['TRUST_PROXY', { TRUST_PROXY: '33' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.1, proxy.internal' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['JWT_SECRET', { JWT_SECRET: 'too-short' }],
    ['ADMIN_EMAIL', { ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'root password' }],
    ['SHUTDOWN_DELAY_MS', { SHUTDOWN_DELAY_MS: '5s' }],
    ['SHUTDOWN_DELAY_MS', { SHUTDOWN_DELAY_MS: '-1' }],
    ['DATABASE_CONNECT_TIMEOUT_MS', { DATABASE_CONNECT_TIMEOUT_MS: 'forever' }],
    ['DATABASE_CONNECT_TIMEOUT_MS', { DATABASE_CONNECT_TIMEOUT_MS: '600001' }],
    ['EVENT_RETENTION', { EVENT_RETENTION: 'a week' }],
    ['EVENT_RETENTION', { EVENT_RETENTION: '0' }],
    ['WORKERS', { WORKERS: 'separate' }],
    ['WORKER_PORT', { WORKER_PORT: '65536' }],
    ['WORKER_PORT', { WORKER_PORT: 'auto' }],
    ['JOB_ATTEMPTS', { JOB_ATTEMPTS: '0' }],
    ['JOB_ATTEMPTS', { JOB_ATTEMPTS: 'many' }],
    ['JOB_CONCURRENCY', { JOB_CONCURRENCY: '0' }],
    ['JOB_CONCURRENCY', { JOB_CONCURRENCY: '2.5' }],
    ['JOB_LEASE', { JOB_LEASE: 'a while' }],
    ['JOB_LEASE', { JOB_LEASE: '0' }],
    ['JOB_LEASE', { JOB_LEASE: '0.5s' }],
    ['JOB_LEASE', { JOB_LEASE: '2h' }],
    ['JOB_FAILED_RETENTION', { JOB_FAILED_RETENTION: 'a week' }],
    ['JOB_FAILED_RETENTION', { JOB_FAILED_RETENTION: '0' }],
    ['JOB_FAILED_RETENTION', { JOB_FAILED_RETENTION: '0.5s' }],
    ['JOB_FAILED_RETENTION', { JOB_FAILED_RETENTION: '366d' }],
    ['EXPORT_TTL', { EXPORT_TTL: 'a day' }],
    ['EXPORT_TTL', { EXPORT_TTL: '366d' }],
  ])('rejects a bad %s with a one-line message naming it', (variable, env) => {
    const message = configError(env);
    expect(message).toContain(variable);
    expect(message).not.toContain('\n');
  });

  it('runs jobs in the API process on port 3001 for workers, 5 attempts and 4 at a time, on 30 s leases, keeping failed ones 7 days by default', () => {
    expect(load({}).jobs).toEqual({ workers: 'embedded', workerPort: 3001, attempts: 5, concurrency: 4, leaseMs: 30_000, failedRetentionMs: 7 * 86_400_000 });
    expect(
      load({ WORKERS: 'off', WORKER_PORT: '4001', JOB_ATTEMPTS: '3', JOB_CONCURRENCY: '16', JOB_LEASE: '2m', JOB_FAILED_RETENTION: '30d' }).jobs,
    ).toEqual({
      workers: 'off',
      workerPort: 4001,
      attempts: 3,
      concurrency: 16,
      leaseMs: 120_000,
      failedRetentionMs: 30 * 86_400_000,
    });
  });

  it.each([
    ['1', 1_000],
    ['36h', 36 * 3_600_000],
    ['365d', 365 * 86_400_000],
  ])('reads JOB_FAILED_RETENTION=%s, within its bounds, as %i ms', (text, ms) => {
    expect(load({ JOB_FAILED_RETENTION: text }).jobs.failedRetentionMs).toBe(ms);
  });

  it.each([
    ['1', 1_000],
    ['1.5s', 1_500],
    ['60m', 3_600_000],
  ])('reads JOB_LEASE=%s, within its bounds, as %i ms', (text, ms) => {
    expect(load({ JOB_LEASE: text }).jobs.leaseMs).toBe(ms);
  });

  it('keeps succeeded exports downloadable for EXPORT_TTL, 24 hours by default', () => {
    expect(load({}).exportTtlSeconds).toBe(24 * 3600);
    expect(load({ EXPORT_TTL: '90m' }).exportTtlSeconds).toBe(90 * 60);
  });

  it('reads the live events settings, with 30 s heartbeats, a 1 MiB buffer and 20 streams a user by default', () => {
    expect(load({}).events).toMatchObject({ heartbeatSeconds: 30, maxBufferBytes: 1024 * 1024, maxStreamsPerUser: 20 });
    expect(load({ EVENTS_HEARTBEAT_SECONDS: '5', EVENTS_MAX_BUFFER: '64kb', EVENTS_MAX_STREAMS_PER_USER: '3' }).events).toMatchObject({
      heartbeatSeconds: 5,
      maxBufferBytes: 64 * 1024,
      maxStreamsPerUser: 3,
    });
  });

  it.each<[string, Record<string, string>]>([
    ['EVENTS_HEARTBEAT_SECONDS', { EVENTS_HEARTBEAT_SECONDS: '0' }],
    ['EVENTS_HEARTBEAT_SECONDS', { EVENTS_HEARTBEAT_SECONDS: '30s' }],
    ['EVENTS_MAX_BUFFER', { EVENTS_MAX_BUFFER: 'lots' }],
    ['EVENTS_MAX_BUFFER', { EVENTS_MAX_BUFFER: '100' }],
    ['EVENTS_MAX_BUFFER', { EVENTS_MAX_BUFFER: '4096mb' }],
    ['EVENTS_MAX_STREAMS_PER_USER', { EVENTS_MAX_STREAMS_PER_USER: '0' }],
  ])('rejects a bad %s with a one-line message naming it', (variable, env) => {
    const message = configError(env);
    expect(message).toContain(variable);
    expect(message).not.toContain('\n');
  });

  it('requires a JWT_SECRET of at least 32 bytes in production', () => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: '' })).toMatch(/JWT_SECRET.*required/);
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) })).toContain('JWT_SECRET');
    expect(load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toBe('x'.repeat(32));
    // counted in bytes: 11 three-byte characters are 33 bytes
    expect(load({ NODE_ENV: 'production', JWT_SECRET: '€'.repeat(11) }).jwt.secret).toBe('€'.repeat(11));
  });

  it('in development generates a secret once, keeps it under DATA_DIR and warns', () => {
    const cwd = tempDir();
    const first = loadConfig({ DATA_DIR: 'state' }, cwd);
    const file = path.join(cwd, 'state', 'jwt-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.jwt.secret);
    expect(Buffer.byteLength(first.jwt.secret)).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(first.warnings.join(' ')).toMatch(/JWT_SECRET/);
    expect(loadConfig({ DATA_DIR: 'state' }, cwd).jwt.secret).toBe(first.jwt.secret);
  });
});

describe('TRUST_PROXY forms', () => {
  const trustProxy = (value: string) => load({ TRUST_PROXY: value });

  it.each<[string, unknown]>([
    ['false', false],
    ['off', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8, 192.168.1.10,fd00::/8', ['10.0.0.0/8', '192.168.1.10', 'fd00::/8']],
  ])('reads %j', (value, expected) => {
    expect(trustProxy(value).trustProxy).toEqual(expected);
    expect(trustProxy(value).warnings).toEqual([]);
  });

  it('takes true, with a warning that a hop count or the proxies’ addresses is safer', () => {
    const config = trustProxy('true');
    expect(config.trustProxy).toBe(true);
    expect(config.warnings.join('\n')).toMatch(/TRUST_PROXY=true believes every X-Forwarded-For hop/);
  });
});

describe('DATABASE_URL forms', () => {
  const cwd = '/srv/app';
  it.each<[string, ReturnType<typeof parseDatabaseUrl>]>([
    ['file:data/db.sqlite', { kind: 'sqlite', filename: '/srv/app/data/db.sqlite' }],
    ['file:./db.sqlite', { kind: 'sqlite', filename: '/srv/app/db.sqlite' }],
    ['file:/var/lib/tf.sqlite', { kind: 'sqlite', filename: '/var/lib/tf.sqlite' }],
    ['file:///var/lib/tf.sqlite', { kind: 'sqlite', filename: '/var/lib/tf.sqlite' }],
    ['sqlite:db.sqlite', { kind: 'sqlite', filename: '/srv/app/db.sqlite' }],
    ['sqlite:/tmp/x.sqlite', { kind: 'sqlite', filename: '/tmp/x.sqlite' }],
    ['sqlite::memory:', { kind: 'sqlite', filename: ':memory:' }],
    ['postgres://u:p@db:5432/tasks', { kind: 'postgres', url: 'postgres://u:p@db:5432/tasks' }],
    ['postgresql://u@db/tasks?sslmode=require', { kind: 'postgres', url: 'postgresql://u@db/tasks?sslmode=require' }],
  ])('%s', (url, target) => {
    expect(parseDatabaseUrl(url, cwd)).toEqual(target);
  });

  it('is read from the environment', () => {
    expect(load({ DATABASE_URL: 'postgres://db/x' }).database).toEqual({ kind: 'postgres', url: 'postgres://db/x' });
  });

  it.each(['mysql://x', 'db.sqlite', 'file:', 'http://example.com'])('rejects %s naming DATABASE_URL', (url) => {
    expect(() => parseDatabaseUrl(url, cwd)).toThrow(/DATABASE_URL/);
  });
});

describe('STORAGE_URL forms', () => {
  it('keeps blobs in $DATA_DIR/attachments by default, and in a folder relative to the working directory when told', () => {
    const cwd = tempDir();
    expect(load({}, cwd).storage).toEqual({ kind: 'file', directory: path.join(cwd, 'data', 'attachments') });
    expect(load({ DATA_DIR: 'elsewhere' }, cwd).storage).toEqual({ kind: 'file', directory: path.join(cwd, 'elsewhere', 'attachments') });
    expect(load({ STORAGE_URL: 'file:blobs/here' }, cwd).storage).toEqual({ kind: 'file', directory: path.join(cwd, 'blobs', 'here') });
    expect(load({ STORAGE_URL: 'file:/srv/blobs' }, cwd).storage).toEqual({ kind: 'file', directory: '/srv/blobs' });
    expect(load({ STORAGE_URL: 'file:///srv/blobs' }, cwd).storage).toEqual({ kind: 'file', directory: '/srv/blobs' });
  });

  it('reads a bucket, an optional prefix and the S3 settings, in us-east-1 with virtual-host addressing by default', () => {
    expect(load({ STORAGE_URL: 's3://taskforge-files' }).storage).toEqual({
      kind: 's3',
      bucket: 'taskforge-files',
      prefix: '',
      endpoint: null,
      region: 'us-east-1',
      forcePathStyle: false,
    });
    expect(
      load({ STORAGE_URL: 's3://files.example/prod/taskforge/', S3_ENDPOINT: 'http://minio:9000/', S3_REGION: 'garage', S3_FORCE_PATH_STYLE: 'true' }).storage,
    ).toEqual({ kind: 's3', bucket: 'files.example', prefix: 'prod/taskforge', endpoint: 'http://minio:9000', region: 'garage', forcePathStyle: true });
  });

  it('warns that S3 settings do nothing without an s3:// STORAGE_URL', () => {
    expect(load({ S3_ENDPOINT: 'http://minio:9000' }).warnings).toContainEqual(expect.stringMatching(/S3_ENDPOINT is ignored/));
  });

  it.each([
    [{ STORAGE_URL: 'ftp://x' }, /STORAGE_URL must be file:<directory> or s3:\/\/<bucket>/],
    [{ STORAGE_URL: 'file:' }, /STORAGE_URL/],
    [{ STORAGE_URL: 'file://otherhost/x' }, /STORAGE_URL/],
    [{ STORAGE_URL: 's3://' }, /STORAGE_URL.*bucket/],
    [{ STORAGE_URL: 's3://Upper_Case' }, /STORAGE_URL.*bucket/],
    [{ STORAGE_URL: 's3://bucket/a//b' }, /STORAGE_URL.*prefix/],
    [{ STORAGE_URL: 's3://bucket/../up' }, /STORAGE_URL.*prefix/],
    [{ STORAGE_URL: 's3://bucket', S3_ENDPOINT: 'minio:9000' }, /S3_ENDPOINT/],
    [{ STORAGE_URL: 's3://bucket', S3_ENDPOINT: 'http://minio:9000/path' }, /S3_ENDPOINT/],
    [{ STORAGE_URL: 's3://bucket', S3_REGION: 'us east' }, /S3_REGION/],
    [{ STORAGE_URL: 's3://bucket', S3_FORCE_PATH_STYLE: 'maybe' }, /S3_FORCE_PATH_STYLE must be true or false/],
  ])('refuses %j with a start-up error naming the setting', (env, message) => {
    expect(configError(env)).toMatch(message);
  });

  it('never echoes credentials put in STORAGE_URL or S3_ENDPOINT', () => {
    for (const env of <Array<Record<string, string>>>[
      { STORAGE_URL: 's3://AKIAEXAMPLE:hunter2secret@bucket' },
      { STORAGE_URL: 'file://AKIAEXAMPLE:hunter2secret@host/x' },
      { STORAGE_URL: 's3://bucket', S3_ENDPOINT: 'http://AKIAEXAMPLE:hunter2secret@minio:9000' },
    ]) {
      const message = configError(env);
      expect(message).toMatch(/STORAGE_URL|S3_ENDPOINT/);
      expect(message).not.toMatch(/AKIAEXAMPLE|hunter2secret/);
    }
  });
});

describe('a bad value in an error message', () => {
  it.each([
    ['mysql://root:hunter2secret@db/app', 'mysql://***@db/app'],
    ['postgresql+asyncpg://app:hunter2:secret@db:5432/app', 'postgresql+asyncpg://***@db:5432/app'],
    ['http://:hunter2secret@redis:6379', 'http://***@redis:6379'],
    ['db.sqlite', 'db.sqlite'],
    ['mysql://127.0.0.1/db?password=hunter2secret', 'mysql://127.0.0.1/db?…'],
    ['ftp://models.example/v1#api-key=hunter2secret', 'ftp://models.example/v1?…'],
  ])('shows %s as %s', (value, shown) => {
    expect(shownWithoutCredentials(value)).toBe(shown);
  });

  it.each(['root:hunter2secret@db/app', 'mysql://root:hunter2/secret@db/app', 'mysql://db/app?password=x@hunter2secret'])(
    'does not show %s at all: its @ may be credentials typed another way',
    (value) => {
      expect(shownWithoutCredentials(value)).not.toMatch(/hunter2/);
    },
  );

  it('never echoes credentials put in DATABASE_URL, REDIS_URL, S3_ENDPOINT or AI_BASE_URL, whatever their form', () => {
    for (const [env, name] of <Array<[Record<string, string>, string]>>[
      [{ DATABASE_URL: 'mysql://root:hunter2secret@db/app' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'root:hunter2secret@db/app' }, 'DATABASE_URL'],
      [{ REDIS_URL: 'http://:hunter2secret@redis:6379' }, 'REDIS_URL'],
      [{ REDIS_URL: 'default:hunter2secret@redis:6379' }, 'REDIS_URL'],
      [{ STORAGE_URL: 's3://bucket', S3_ENDPOINT: 'AKIAEXAMPLE:hunter2secret@minio:9000' }, 'S3_ENDPOINT'],
      [{ AI_BASE_URL: 'user:hunter2secret@models.example/v1', AI_MODEL: 'm' }, 'AI_BASE_URL'],
      [{ AI_BASE_URL: 'ftp://models.example/v1?api-key=hunter2secret', AI_MODEL: 'm' }, 'AI_BASE_URL'],
      [{ DATABASE_URL: 'mysql://127.0.0.1/db?password=hunter2secret' }, 'DATABASE_URL'],
    ]) {
      const message = configError(env);
      expect(message).toContain(name);
      expect(message).not.toMatch(/hunter2/);
    }
  });
});

describe('AI settings', () => {
  it('leaves generation off unless AI_BASE_URL or AI_API_KEY is set, with 20 generations an hour', () => {
    expect(load({})).toMatchObject({ ai: null, aiRequestsPerHour: 20 });
    expect(load({ AI_MODEL: 'gpt-4o-mini', AI_TIMEOUT_MS: '5000' }).ai).toBeNull();
  });

  it('talks to OpenAI with only a key, and to a local server with only its URL', () => {
    expect(load({ AI_API_KEY: 'sk-test', AI_MODEL: 'gpt-4o-mini' }).ai).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      apiKey: 'sk-test',
      model: 'gpt-4o-mini',
      timeoutMs: 30_000,
    });
    expect(load({ AI_BASE_URL: 'http://localhost:11434/v1/', AI_MODEL: 'llama3.2', AI_TIMEOUT_MS: '120000', AI_RATE_LIMIT: '5' })).toMatchObject({
      ai: { baseUrl: 'http://localhost:11434/v1', apiKey: null, model: 'llama3.2', timeoutMs: 120_000 },
      aiRequestsPerHour: 5,
    });
  });

  it.each([
    [{ AI_API_KEY: 'sk-test' }, /AI_MODEL is required/],
    [{ AI_BASE_URL: 'localhost:11434', AI_MODEL: 'm' }, /AI_BASE_URL must be an http/],
    [{ AI_BASE_URL: 'ftp://models.example', AI_MODEL: 'm' }, /AI_BASE_URL must be an http/],
    [{ AI_BASE_URL: 'http://localhost:11434/v1', AI_MODEL: 'm', AI_TIMEOUT_MS: '0' }, /AI_TIMEOUT_MS/],
    [{ AI_RATE_LIMIT: '0' }, /AI_RATE_LIMIT/],
  ])('refuses %j with a message naming the setting', (env, message) => {
    expect(configError(env)).toMatch(message);
  });

  it('never echoes credentials put in AI_BASE_URL', () => {
    const message = configError({ AI_BASE_URL: 'https://user:sk-hunter2secret@models.example/v1', AI_MODEL: 'm' });
    expect(message).toMatch(/AI_BASE_URL must not hold credentials/);
    expect(message).not.toMatch(/hunter2secret/);
  });
});

describe('.env.example', () => {
  it('documents every variable the configuration reads', () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    const source = readFileSync(path.join(root, 'src/infrastructure/config.ts'), 'utf8');
    const example = readFileSync(path.join(root, '.env.example'), 'utf8');
    const read = new Set([...source.matchAll(/\(\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(15);
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });
});
