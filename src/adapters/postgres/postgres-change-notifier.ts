import pg from 'pg';
import type { ChangeNotifier } from '../../application/index.js';
import { briefly, ChangeListeners, NoticeFormat, type NotifierLog } from '../events/change-listeners.js';

/** One channel per database: instances that share a database share its change log, and its notices. */
export const CHANGE_CHANNEL = 'taskforge_events';


/** The listening connection, and how to give it up (once) when it fails. */
interface Listening {
  client: pg.Client;
  drop(error?: unknown): void;
  /** The statement last sent: the heartbeat and the notices take turns, one statement at a time on one connection. */
  previous: Promise<unknown>;
}

export interface PostgresChangeNotifierOptions {
  connectionString: string;
  log: NotifierLog;
  /** How a connection failure reads in the log (the composition root names host and database, never the password). */
  describeFailure?: (error: unknown) => string;
  /** Shown in pg_stat_activity, so operators (and tests) can tell this connection from the pool's. */
  applicationName?: string;
  /** The wait before the first reconnection attempt; it doubles on each failure, up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /**
   * A connection that went silent (a failover without a reset, a NAT that forgot it) looks open
   * until a query on it fails: the listening connection is asked something this often, and a
   * connection or query that gets no answer within `queryTimeoutMs` counts as lost.
   */
  heartbeatMs?: number;
  queryTimeoutMs?: number;
}

/**
 * Change notices between instances through PostgreSQL's LISTEN/NOTIFY, for deployments without
 * Redis: the database the instances share carries them. One connection of its own, outside the
 * pool (a pooled connection would be handed to queries and lose its LISTEN), listens on
 * `taskforge_events` and sends the notices too, as `pg_notify` with the user's id as payload.
 *
 * When that connection is lost, it reconnects with backoff and listens again. Notices sent
 * meanwhile are gone (PostgreSQL keeps none for a listener that is away), and which users they
 * were for cannot be known; so once it listens again it says so (onMissed) and every open
 * stream reads its log at once, rather than waiting up to a sweep interval. The sweep alone
 * would also be correct; this only shortens the delay after an outage to the outage itself.
 */
export class PostgresChangeNotifier implements ChangeNotifier {
  private readonly listeners = new ChangeListeners();
  private readonly notices = new NoticeFormat();
  private listening: Listening | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private everListened = false;
  private outageReported = false;
  private readonly unsent = new Set<number>();
  private sending = false;
  private sendFailing = false;
  private closed = false;
  /**
   * Settles once the first attempt to listen has succeeded or failed: start-up waits for it, so
   * that an instance that can hear the others is ready from its first request.
   */
  readonly firstAttempt: Promise<void>;

  constructor(private readonly options: PostgresChangeNotifierOptions) {
    this.connect();
    this.firstAttempt = this.connecting!;
  }

  /** Whether notices from other instances can arrive now (readiness). */
  get connected(): boolean {
    return this.listening !== null;
  }

  notify(userIds: readonly number[]): void {
    for (const userId of userIds) this.listeners.changed(userId);
    for (const userId of userIds) this.unsent.add(userId);
    void this.send();
  }

  listen(listener: (userId: number) => void, onMissed?: () => void): () => void {
    return this.listeners.add(listener, onMissed);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.connecting;
    const client = this.listening?.client;
    this.stopListening();
    await client?.end().catch(() => {});
  }

  private connect(): void {
    this.reconnectTimer = null;
    this.connecting = this.listenOnNewConnection().finally(() => (this.connecting = null));
  }

  private async listenOnNewConnection(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName ?? 'taskforge-notices',
      keepAlive: true,
      connectionTimeoutMillis: this.options.queryTimeoutMs ?? 5_000,
      query_timeout: this.options.queryTimeoutMs ?? 5_000,
    });
    let lost = false;
    const drop = (error?: unknown) => {
      if (lost) return;
      lost = true;
      this.lose(client, error);
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', ({ channel, payload }) => {
      const userId = channel === CHANGE_CHANNEL && payload ? this.notices.read(payload) : null;
      if (userId !== null) this.listeners.changed(userId);
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANGE_CHANNEL}`);
    } catch (error) {
      drop(error);
      return;
    }
    if (this.closed || lost) {
      await client.end().catch(() => {});
      return;
    }
    const listening: Listening = { client, drop, previous: Promise.resolve() };
    this.listening = listening;
    this.heartbeat = setInterval(() => void this.ask(listening, 'select 1'), this.options.heartbeatMs ?? 30_000).unref();
    this.failures = 0;
    if (this.everListened) {
      this.options.log.info('listening for change notices in PostgreSQL again; every open stream reads its log for the notices it may have missed');
      this.listeners.missed();
    }
    this.everListened = true;
    this.outageReported = false;
  }

  private lose(client: pg.Client, error: unknown): void {
    if (this.listening?.client === client) this.stopListening();
    void client.end().catch(() => {});
    if (this.closed) return;
    if (!this.outageReported) {
      this.outageReported = true;
      const cause = error === undefined ? 'connection closed' : this.describe(error);
      this.options.log.warn(`no PostgreSQL connection for change notices (${cause}); reconnecting (meanwhile streams get other instances' events at their periodic sweep)`);
    }
    const first = this.options.reconnectDelayMs ?? 200;
    const delay = Math.min(first * 2 ** this.failures, this.options.maxReconnectDelayMs ?? 5_000);
    this.failures += 1;
    // Never what keeps a process alive: a service has its server for that.
    this.reconnectTimer = setTimeout(() => this.connect(), delay).unref();
  }

  /**
   * One statement at a time on the one connection; users noticed meanwhile go together in the
   * next, so a burst of commits costs a few round trips rather than a queue of them. While the
   * connection is down, notices are dropped: other instances' sweeps stand in for them.
   */
  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.unsent.size > 0) {
        const userIds = [...this.unsent];
        this.unsent.clear();
        await this.sendNow(userIds);
      }
    } finally {
      this.sending = false;
    }
  }

  private async sendNow(userIds: number[]): Promise<void> {
    const sent = this.listening && (await this.ask(this.listening, 'select pg_notify($1, $3 || user_id::text) from unnest($2::bigint[]) as user_id', [CHANGE_CHANNEL, userIds, this.notices.prefix]));
    if (sent) {
      this.sendFailing = false;
    } else if (!this.sendFailing && !this.closed) {
      this.sendFailing = true;
      this.options.log.warn('could not send a change notice through PostgreSQL; other instances\' streams get the events at their next sweep');
    }
  }

  /** Runs a statement on the listening connection; one that fails or gets no answer gives the connection up. */
  private async ask(listening: Listening, sql: string, values?: unknown[]): Promise<boolean> {
    const answered = listening.previous.then(() => listening.client.query(sql, values));
    listening.previous = answered.catch(() => {});
    try {
      await answered;
      return true;
    } catch (error) {
      listening.drop(error);
      return false;
    }
  }

  private stopListening(): void {
    this.listening = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private describe(error: unknown): string {
    return this.options.describeFailure ? this.options.describeFailure(error) : briefly(error);
  }
}
