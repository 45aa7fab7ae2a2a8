import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { TrustProxy } from '../adapters/http/http-app.js';
import type { DatabaseTarget } from '../adapters/persistence/knex/database.js';
import { parseByteSize, parseDurationSeconds } from './duration.js';
import { parseWholeNumber } from './whole-number.js';

export type NodeEnv = 'development' | 'production' | 'test';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseTarget;
  /** Bounds on waiting for the database, so an outage fails requests fast instead of hanging them. */
  databaseTimeouts: { acquireMs: number; statementMs: number };
  /** DATABASE_CONNECT_TIMEOUT_MS: how long start-up keeps trying a database that does not answer yet. */
  databaseConnectTimeoutMs: number;
  jwt: { secret: string; issuer: string; audience: string; accessTokenTtlSeconds: number; refreshTokenTtlSeconds: number };
  redisUrl: string | null;
  /** Namespaces this deployment's keys, so several services (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  corsOrigins: string[];
  logLevel: LogLevel;
  rateLimit: { authMax: number; max: number; failedAuthMax: number; windowSeconds: number };
  admin: { username: string; email: string; password: string } | null;
  bodyLimit: number;
  /** Which proxies' X-Forwarded-For to believe: none, every hop, a number of hops, or these addresses. */
  trustProxy: TrustProxy;
  metricsToken: string | null;
  /** SHUTDOWN_DELAY_MS: after SIGTERM, how long new connections are still accepted (a load balancer's deregistration delay). */
  shutdownDelayMs: number;
  /** SHUTDOWN_TIMEOUT_MS: once no longer accepting, how long in-flight requests may take before the process gives up on them. */
  shutdownTimeoutMs: number;
  /** The change log and the live streams that read it (GET /events, GET /sync). */
  events: EventsConfig;
  /** The job queue and the workers that run its jobs. */
  jobs: JobsConfig;
  /** EXPORT_TTL: how long the file of a succeeded export can be downloaded. */
  exportTtlSeconds: number;
  /** STORAGE_URL and S3_*: where blobs (export files, attachments) live. */
  storage: StorageConfig;
  /** Files on tasks: the limits on one and on a user's all, and how long an upload may take. */
  attachments: AttachmentsConfig;
  /** The OpenAI-compatible model behind POST /tasks/generate; null: generation answers 503. */
  ai: AiConfig | null;
  /** AI_RATE_LIMIT: generations one user may ask for per hour, on every instance together. */
  aiRequestsPerHour: number;
  /** WEB_CLIENT_DIR: the built web client served at /app/; null: the one `npm run build` makes. */
  webClientDir: string | null;
  /** Messages for the log once it exists (configuration is read before the logger). */
  warnings: string[];
}

export interface EventsConfig {
  /** EVENT_RETENTION: how long events are kept; a sync token or resume point older than that is answered 410. */
  retentionSeconds: number;
  /** EVENTS_HEARTBEAT_SECONDS: how often an idle stream gets a WebSocket ping or an SSE comment line. */
  heartbeatSeconds: number;
  /** EVENTS_MAX_BUFFER: bytes queued for a client that does not read before its stream is closed. */
  maxBufferBytes: number;
  /** EVENTS_MAX_STREAMS_PER_USER: open streams of one user on one instance; the next is a 429. */
  maxStreamsPerUser: number;
}

export interface JobsConfig {
  /** WORKERS: `embedded` runs jobs inside the API process too; `off` leaves them to `npm run worker` processes. */
  workers: 'embedded' | 'off';
  /** WORKER_PORT: where a worker process serves /health, /ready and /metrics. */
  workerPort: number;
  /** JOB_ATTEMPTS: runs of a job before it is kept as failed. */
  attempts: number;
  /** JOB_CONCURRENCY: jobs one worker runs at the same time. */
  concurrency: number;
  /** JOB_LEASE: how long a job whose worker vanished (killed, no heartbeat) stays claimed before another worker runs it. */
  leaseMs: number;
  /** JOB_FAILED_RETENTION: how long a job that failed for good is kept (and holds its key) before it is forgotten. */
  failedRetentionMs: number;
}

export interface AttachmentsConfig {
  /** ATTACHMENT_MAX_BYTES: the largest file; larger → 413. */
  maxBytes: number;
  /** ATTACHMENT_QUOTA_BYTES: the most one user's attachments may take in all; more → 413 quota-exceeded. */
  quotaBytes: number;
  /** ATTACHMENT_UPLOAD_TIMEOUT: how long one upload may take; an upload still running then is aborted. */
  uploadTimeoutMs: number;
}

export interface AiConfig {
  /** AI_BASE_URL: any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM, llama.cpp's server…). */
  baseUrl: string;
  /** AI_API_KEY: null for a local server that needs none. */
  apiKey: string | null;
  /** AI_MODEL */
  model: string;
  /** AI_TIMEOUT_MS: the most one generation may wait for the model, retries included. */
  timeoutMs: number;
}

/**
 * A folder of this machine (one instance, or instances sharing the folder) or an S3-compatible
 * bucket. S3 credentials are not here: the AWS SDK reads them (AWS_ACCESS_KEY_ID, …) itself.
 */
export type StorageConfig =
  | { kind: 'file'; directory: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix without slashes at either end; '' for the bucket's root. */
      prefix: string;
      /** S3_ENDPOINT: null for AWS itself. */
      endpoint: string | null;
      region: string;
      forcePathStyle: boolean;
    };

/** A bad setting: the message names the variable and is the one line the process prints. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/**
 * A bad value as its error message may echo it: a URL's `user:password@` masked, its query string
 * and fragment cut (`?password=…`, `?api-key=…`), and a value with an `@` anywhere else not shown
 * at all, since that may be credentials typed some other way.
 */
export function shownWithoutCredentials(value: string): string {
  const credentials = URL_CREDENTIALS.exec(value);
  const rest = credentials ? value.slice(credentials[0].length) : value;
  if (rest.includes('@')) return '(not shown: it may hold credentials)';
  const shown = credentials ? `${credentials[1]}***@${rest}` : value;
  return shown.replace(/[?#][\s\S]*$/, '?…');
}

type Env = Record<string, string | undefined>;

const MIN_SECRET_BYTES = 32;

class EnvReader {
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  optional(name: string): string | null {
    const value = this.env[name]?.trim();
    return value ? value : null;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${value}"`);
    return value as T;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.optional(name);
    if (text === null) return fallback;
    const value = parseWholeNumber(text, min, max);
    if (value === null) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${text}"`);
    return value;
  }

  duration(name: string, fallback: string): number {
    const text = this.string(name, fallback);
    const seconds = parseDurationSeconds(text);
    if (seconds === null) throw new ConfigError(`${name} must be seconds or a duration such as 15m or 30d; got "${text}"`);
    return seconds;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.optional(name);
    if (text === null) return fallback;
    const word = text.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(word)) return true;
    if (['0', 'false', 'no', 'off'].includes(word)) return false;
    throw new ConfigError(`${name} must be true or false; got "${text}"`);
  }

  bytes(name: string, fallback: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const text = this.string(name, fallback);
    const bytes = parseByteSize(text);
    if (bytes === null) throw new ConfigError(`${name} must be a size in bytes such as 1048576 or 1mb; got "${text}"`);
    if (bytes < min || bytes > max) throw new ConfigError(`${name} must be from ${min} to ${max} bytes; got "${text}"`);
    return bytes;
  }
}

const MAX_PROXY_HOPS = 32;

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: false (the socket's address is the client), true (believe every X-Forwarded-For
 * hop: only when the proxy in front overwrites the header), a number of proxy hops, or the
 * proxies' addresses and CIDR ranges. The last two are what a deployment should use: a client
 * can then prepend whatever it likes to the header and still be counted by its own address.
 */
function trustProxyOf(reader: EnvReader, warnings: string[]): TrustProxy {
  const text = reader.optional('TRUST_PROXY');
  if (text === null) return false;
  const word = text.toLowerCase();
  if (['0', 'false', 'no', 'off'].includes(word)) return false;
  if (['true', 'yes', 'on'].includes(word)) {
    warnings.push('TRUST_PROXY=true believes every X-Forwarded-For hop; set the number of proxies or their addresses instead unless the proxy overwrites the header');
    return true;
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops >= 1 && hops <= MAX_PROXY_HOPS) return hops;
  }
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length > 0 && entries.every(isAddressOrRange)) return entries;
  throw new ConfigError(
    `TRUST_PROXY must be true, false, a number of proxy hops from 1 to ${MAX_PROXY_HOPS}, or proxy addresses/CIDR ranges separated by commas; got "${text}"`,
  );
}

export function parseDatabaseUrl(url: string, cwd: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (url === 'sqlite::memory:' || url === ':memory:') return { kind: 'sqlite', filename: ':memory:' };
  const file = /^(?:file|sqlite):(.+)$/i.exec(url)?.[1];
  if (!file) throw new ConfigError(`DATABASE_URL must be file:<path>, sqlite:<path>, sqlite::memory: or postgres://…; got "${shownWithoutCredentials(url)}"`);
  return { kind: 'sqlite', filename: path.resolve(cwd, file.replace(/^\/\/(?=\/)/, '')) };
}

const dataDirOf = (reader: EnvReader, cwd: string): string => path.resolve(cwd, reader.string('DATA_DIR', './data'));

/** DATABASE_URL, else the SQLite file in the data folder: what the server, the CLI and knex's own CLI open. */
export function databaseTarget(env: Env = process.env, cwd = process.cwd()): DatabaseTarget {
  const reader = new EnvReader(env);
  const url = reader.optional('DATABASE_URL');
  return url ? parseDatabaseUrl(url, cwd) : { kind: 'sqlite', filename: path.join(dataDirOf(reader, cwd), 'taskforge.sqlite') };
}

function resolveJwtSecret(reader: EnvReader, nodeEnv: NodeEnv, dataDir: string, warnings: string[]): string {
  const given = reader.optional('JWT_SECRET');
  if (given !== null) {
    if (Buffer.byteLength(given, 'utf8') < MIN_SECRET_BYTES) throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long`);
    return given;
  }
  if (nodeEnv === 'production') throw new ConfigError(`JWT_SECRET is required when NODE_ENV=production (at least ${MIN_SECRET_BYTES} bytes)`);
  const file = path.join(dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  warnings.push(`JWT_SECRET is not set: using a generated development secret kept in ${file}. Set JWT_SECRET in production.`);
  return readFileSync(file, 'utf8').trim();
}

const MIN_EVENTS_BUFFER_BYTES = 1024;
const MAX_EVENTS_BUFFER_BYTES = 1024 ** 3;

function readEvents(reader: EnvReader): EventsConfig {
  return {
    retentionSeconds: reader.duration('EVENT_RETENTION', '7d'),
    heartbeatSeconds: reader.integer('EVENTS_HEARTBEAT_SECONDS', 30, 1, 3_600),
    maxBufferBytes: reader.bytes('EVENTS_MAX_BUFFER', '1mb', MIN_EVENTS_BUFFER_BYTES, MAX_EVENTS_BUFFER_BYTES),
    maxStreamsPerUser: reader.integer('EVENTS_MAX_STREAMS_PER_USER', 20, 1, 10_000),
  };
}

/**
 * A running job renews its lease every third of it: below a second, a busy event loop or a slow
 * statement would let leases lapse under jobs that are running fine. Above an hour, a crashed
 * worker's job would wait longer than anyone would call a retry.
 */
const JOB_LEASE_BOUNDS_SECONDS = { min: 1, max: 3_600 };

function readJobLeaseMs(reader: EnvReader): number {
  const seconds = reader.duration('JOB_LEASE', '30s');
  const { min, max } = JOB_LEASE_BOUNDS_SECONDS;
  if (seconds < min || seconds > max) throw new ConfigError(`JOB_LEASE must be from ${min} s to ${max / 60} minutes; got ${seconds} seconds`);
  return Math.round(seconds * 1000);
}

/**
 * BullMQ counts a retention in whole seconds; beyond a year a failed job is history, which the
 * queue is not for, and the bound keeps the cut-off within what every store compares.
 */
const JOB_FAILED_RETENTION_BOUNDS_SECONDS = { min: 1, max: 365 * 86_400 };

function readJobFailedRetentionMs(reader: EnvReader): number {
  const seconds = reader.duration('JOB_FAILED_RETENTION', '7d');
  const { min, max } = JOB_FAILED_RETENTION_BOUNDS_SECONDS;
  if (seconds < min || seconds > max) throw new ConfigError(`JOB_FAILED_RETENTION must be from ${min} s to 365d; got ${seconds} seconds`);
  return Math.round(seconds * 1000);
}

function readJobs(reader: EnvReader): JobsConfig {
  return {
    workers: reader.oneOf('WORKERS', ['embedded', 'off'], 'embedded'),
    workerPort: reader.integer('WORKER_PORT', 3001, 0, 65_535),
    attempts: reader.integer('JOB_ATTEMPTS', 5, 1, 100),
    concurrency: reader.integer('JOB_CONCURRENCY', 4, 1, 1_000),
    leaseMs: readJobLeaseMs(reader),
    failedRetentionMs: readJobFailedRetentionMs(reader),
  };
}

/** Beyond a year an export is an archive, which exports are not for; the bound also keeps expiry dates within what databases store. */
const MAX_EXPORT_TTL_SECONDS = 365 * 86_400;

function readExportTtl(reader: EnvReader): number {
  const seconds = reader.duration('EXPORT_TTL', '24h');
  if (seconds > MAX_EXPORT_TTL_SECONDS) throw new ConfigError(`EXPORT_TTL must be at most 365d; got ${seconds} seconds`);
  return seconds;
}

/** S3's rules for bucket names (DNS-compatible, as virtual-host addressing needs). */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Segments as blob keys have them, so that prefix and key join into one clean object key. */
const KEY_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const MAX_KEY_PREFIX_LENGTH = 256;
const S3_SETTINGS = ['S3_ENDPOINT', 'S3_REGION', 'S3_FORCE_PATH_STYLE'];
const STORAGE_URL_FORMS = 'STORAGE_URL must be file:<directory> or s3://<bucket>[/<prefix>]';

/** An http(s) URL with no credentials, path, query or fragment; the value is echoed only when it holds no credentials. */
function readS3Endpoint(reader: EnvReader): string | null {
  const text = reader.optional('S3_ENDPOINT');
  if (text === null) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`S3_ENDPOINT must be a URL such as http://minio:9000; got "${shownWithoutCredentials(text)}"`);
  }
  if (url.username || url.password) throw new ConfigError('S3_ENDPOINT must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.pathname !== '/') {
    throw new ConfigError(`S3_ENDPOINT must be an http:// or https:// URL with no path, such as http://minio:9000; got "${shownWithoutCredentials(text)}"`);
  }
  return url.origin;
}

function readS3Bucket(reader: EnvReader, location: string): StorageConfig {
  if (location.includes('@')) throw new ConfigError(`${STORAGE_URL_FORMS}, without credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  const slash = location.indexOf('/');
  const bucket = slash === -1 ? location : location.slice(0, slash);
  const prefix = slash === -1 ? '' : location.slice(slash + 1).replace(/\/+$/, '');
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigError(`${STORAGE_URL_FORMS}; the bucket must be 3 to 63 lowercase letters, digits, dots and hyphens; got "s3://${location}"`);
  }
  if (prefix !== '' && (!KEY_PREFIX.test(prefix) || prefix.length > MAX_KEY_PREFIX_LENGTH)) {
    throw new ConfigError(
      `${STORAGE_URL_FORMS}; the prefix must be at most ${MAX_KEY_PREFIX_LENGTH} characters of segments of letters, digits, '.', '_' and '-' separated by '/'; got "s3://${location}"`,
    );
  }
  const region = reader.string('S3_REGION', 'us-east-1');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(region)) throw new ConfigError(`S3_REGION must be a region name such as us-east-1; got "${region}"`);
  return { kind: 's3', bucket, prefix, endpoint: readS3Endpoint(reader), region, forcePathStyle: reader.boolean('S3_FORCE_PATH_STYLE', false) };
}

/** STORAGE_URL: `file:<directory>` (relative to the working directory, as DATA_DIR), or `s3://<bucket>[/<prefix>]` with the S3_* settings. */
function readStorage(reader: EnvReader, dataDir: string, cwd: string, warnings: string[]): StorageConfig {
  const url = reader.optional('STORAGE_URL');
  const s3 = url === null ? null : /^s3:\/\/(.*)$/i.exec(url);
  if (s3) return readS3Bucket(reader, s3[1] ?? '');
  const ignored = S3_SETTINGS.filter((name) => reader.optional(name) !== null);
  if (ignored.length > 0) warnings.push(`${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored: STORAGE_URL is not s3://`);
  if (url === null) return { kind: 'file', directory: path.join(dataDir, 'attachments') };
  // file:/abs, file:rel and file:///abs; a file:// URL naming another host is no folder of this machine.
  const directory = /^file:(?:\/\/(?=\/))?(.+)$/i.exec(url)?.[1];
  if (!directory || /^\/\/[^/]/.test(directory)) throw new ConfigError(`${STORAGE_URL_FORMS}; got "${shownWithoutCredentials(url)}"`);
  return { kind: 'file', directory: path.resolve(cwd, directory) };
}

/** An upload that needs more than a day is a transfer this API is not for; the bound also keeps deadlines within what databases store. */
const MAX_UPLOAD_TIMEOUT_SECONDS = 86_400;

function readAttachments(reader: EnvReader): AttachmentsConfig {
  const timeout = reader.duration('ATTACHMENT_UPLOAD_TIMEOUT', '1h');
  if (timeout < 1 || timeout > MAX_UPLOAD_TIMEOUT_SECONDS) {
    throw new ConfigError(`ATTACHMENT_UPLOAD_TIMEOUT must be from 1 s to 24h; got ${timeout} seconds`);
  }
  return {
    maxBytes: reader.bytes('ATTACHMENT_MAX_BYTES', '25mb'),
    quotaBytes: reader.bytes('ATTACHMENT_QUOTA_BYTES', '1gb'),
    uploadTimeoutMs: Math.round(timeout * 1000),
  };
}

const DEFAULT_AI_BASE_URL = 'https://api.openai.com/v1';

/** An http(s) URL without credentials (they belong in AI_API_KEY, which is never echoed). */
function readAiBaseUrl(reader: EnvReader): string {
  const text = reader.string('AI_BASE_URL', DEFAULT_AI_BASE_URL);
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url && (url.username || url.password)) throw new ConfigError('AI_BASE_URL must not hold credentials: set AI_API_KEY');
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
    throw new ConfigError(`AI_BASE_URL must be an http:// or https:// URL such as http://localhost:11434/v1; got "${shownWithoutCredentials(text)}"`);
  }
  return text.replace(/\/+$/, '');
}

/** AI is on when either AI_BASE_URL or AI_API_KEY is set: OpenAI needs only the key, a local server only the URL. */
function readAi(reader: EnvReader): AiConfig | null {
  const apiKey = reader.optional('AI_API_KEY');
  if (apiKey === null && reader.optional('AI_BASE_URL') === null) return null;
  const model = reader.optional('AI_MODEL');
  if (model === null) throw new ConfigError('AI_MODEL is required when AI_BASE_URL or AI_API_KEY is set (for example gpt-4o-mini, or llama3.2 on Ollama)');
  return { baseUrl: readAiBaseUrl(reader), apiKey, model, timeoutMs: reader.integer('AI_TIMEOUT_MS', 30_000, 100, 600_000) };
}

function readAdmin(reader: EnvReader): Config['admin'] {
  const username = reader.optional('ADMIN_USERNAME');
  const email = reader.optional('ADMIN_EMAIL');
  const password = reader.optional('ADMIN_PASSWORD');
  if (!username && !email && !password) return null;
  const missing = [['ADMIN_USERNAME', username], ['ADMIN_EMAIL', email], ['ADMIN_PASSWORD', password]].find(([, v]) => !v);
  if (missing) throw new ConfigError(`${missing[0]} must be set together with the other ADMIN_* variables`);
  return { username: username!, email: email!, password: password! };
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const reader = new EnvReader(env);
  const warnings: string[] = [];
  const nodeEnv = reader.oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const dataDir = dataDirOf(reader, cwd);
  const database = databaseTarget(env, cwd);
  const redisUrl = reader.optional('REDIS_URL');
  if (redisUrl !== null && !/^rediss?:\/\//i.test(redisUrl)) throw new ConfigError(`REDIS_URL must start with redis:// or rediss://; got "${shownWithoutCredentials(redisUrl)}"`);
  const corsOrigins = reader.string('CORS_ORIGINS', '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/i.test(origin)) throw new ConfigError(`CORS_ORIGINS must list origins such as https://app.example.com; got "${origin}"`);
  }

  return {
    nodeEnv,
    port: reader.integer('PORT', 3000, 0, 65_535),
    host: reader.string('HOST', '127.0.0.1'),
    dataDir,
    database,
    databaseTimeouts: {
      acquireMs: reader.integer('DATABASE_ACQUIRE_TIMEOUT_MS', 5_000, 100, 600_000),
      statementMs: reader.integer('DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 100, 3_600_000),
    },
    databaseConnectTimeoutMs: reader.integer('DATABASE_CONNECT_TIMEOUT_MS', 30_000, 0, 600_000),
    jwt: {
      secret: resolveJwtSecret(reader, nodeEnv, dataDir, warnings),
      issuer: reader.string('JWT_ISSUER', 'taskforge'),
      audience: reader.string('JWT_AUDIENCE', 'taskforge-api'),
      accessTokenTtlSeconds: reader.duration('ACCESS_TOKEN_TTL', '15m'),
      refreshTokenTtlSeconds: reader.duration('REFRESH_TOKEN_TTL', '30d'),
    },
    redisUrl,
    redisKeyPrefix: reader.string('REDIS_KEY_PREFIX', 'taskforge:'),
    corsOrigins,
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    rateLimit: {
      authMax: reader.integer('RATE_LIMIT_AUTH_MAX', 10, 1, 1_000_000),
      max: reader.integer('RATE_LIMIT_MAX', 600, 1, 1_000_000),
      failedAuthMax: reader.integer('RATE_LIMIT_FAILED_AUTH_MAX', 60, 1, 1_000_000),
      windowSeconds: reader.duration('RATE_LIMIT_WINDOW', '1 minute'),
    },
    admin: readAdmin(reader),
    bodyLimit: reader.bytes('BODY_LIMIT', '1mb'),
    trustProxy: trustProxyOf(reader, warnings),
    metricsToken: reader.optional('METRICS_TOKEN'),
    shutdownDelayMs: reader.integer('SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    shutdownTimeoutMs: reader.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    events: readEvents(reader),
    jobs: readJobs(reader),
    exportTtlSeconds: readExportTtl(reader),
    storage: readStorage(reader, dataDir, cwd, warnings),
    attachments: readAttachments(reader),
    ai: readAi(reader),
    aiRequestsPerHour: reader.integer('AI_RATE_LIMIT', 20, 1, 1_000_000),
    webClientDir: reader.optional('WEB_CLIENT_DIR') === null ? null : path.resolve(cwd, reader.string('WEB_CLIENT_DIR', '')),
    warnings,
  };
}
