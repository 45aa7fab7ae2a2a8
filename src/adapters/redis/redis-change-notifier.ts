import type { Redis } from 'ioredis';
import type { ChangeNotifier } from '../../application/index.js';
import { briefly, ChangeListeners, NoticeFormat, type NotifierLog } from '../events/change-listeners.js';

/**
 * Change notices between instances through Redis pub/sub: a commit publishes the user's id on
 * one channel (`<REDIS_KEY_PREFIX>events`), and every instance subscribed to it has that user's
 * streams read the log. Pub/sub keeps nothing for a subscriber that is away, and that is fine
 * here: a notice is only a hint, the log is the source of truth, and a stream that misses one
 * reads the log at the next sweep anyway.
 *
 * Publishing goes through the service's shared client, which never queues a command while
 * disconnected: a notice that cannot be sent is dropped and logged, never waited for. The
 * client is the caller's to close.
 */
export class RedisChangeNotifier implements ChangeNotifier {
  private readonly listeners = new ChangeListeners();
  private readonly notices = new NoticeFormat();
  private readonly subscriber: Redis;
  private readonly heartbeat: NodeJS.Timeout;
  private subscribed = false;
  private everSubscribed = false;
  private publishFailing = false;
  private closed = false;
  /**
   * Settles once the first attempt to subscribe has succeeded or failed: start-up waits for it,
   * so that an instance that can hear the others is ready from its first request.
   */
  readonly firstAttempt: Promise<void>;
  private firstAttemptEnded!: () => void;

  constructor(
    private readonly publisher: Redis,
    private readonly channel: string,
    private readonly log: NotifierLog,
    options: { heartbeatMs?: number } = {},
  ) {
    // A connection in subscriber mode can run no other command, so notices arrive on one of
    // their own. It subscribes itself on every connection (rather than letting ioredis
    // resubscribe), so that it knows when the subscription is in place again after an outage.
    this.firstAttempt = new Promise<void>((resolve) => (this.firstAttemptEnded = resolve));
    this.subscriber = publisher.duplicate({ autoResubscribe: false });
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('close', () => this.lost());
    // Failed (re)connection attempts; the loss itself is reported once, on 'close'.
    this.subscriber.on('error', () => this.firstAttemptEnded());
    this.subscriber.on('message', (channel: string, message: string) => {
      const userId = channel === this.channel ? this.notices.read(message) : null;
      if (userId !== null) this.listeners.changed(userId);
    });
    // A connection that went silent (no reset ever came) looks subscribed until a command on it
    // goes unanswered: PING, the one command besides (un)subscribing that a subscribed connection
    // may send, fails after the client's command timeout, and the connection is made anew.
    this.heartbeat = setInterval(() => {
      if (this.subscribed) this.subscriber.ping().catch(() => this.subscriber.disconnect(true));
    }, options.heartbeatMs ?? 30_000).unref();
  }

  /** Whether notices from other instances can arrive now (readiness). */
  get connected(): boolean {
    return this.subscribed;
  }

  notify(userIds: readonly number[]): void {
    for (const userId of userIds) this.listeners.changed(userId);
    for (const userId of userIds) {
      this.publisher.publish(this.channel, this.notices.write(userId)).then(
        () => (this.publishFailing = false),
        (error: unknown) => this.publishFailed(error),
      );
    }
  }

  listen(listener: (userId: number) => void, onMissed?: () => void): () => void {
    return this.listeners.add(listener, onMissed);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    clearInterval(this.heartbeat);
    this.subscriber.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
    } catch (error) {
      this.firstAttemptEnded();
      if (this.closed) return;
      this.log.warn(`could not subscribe to change notices in Redis (${briefly(error)}); reconnecting`);
      this.subscriber.disconnect(true);
      return;
    }
    this.subscribed = true;
    this.firstAttemptEnded();
    if (this.everSubscribed) {
      this.log.info('subscribed to change notices in Redis again; every open stream reads its log for the notices it may have missed');
      this.listeners.missed();
    }
    this.everSubscribed = true;
  }

  private lost(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    if (!this.closed) this.log.warn('lost the Redis subscription for change notices; reconnecting (meanwhile streams get other instances\' events at their periodic sweep)');
  }

  /** Once per outage: every commit would otherwise log the same line. */
  private publishFailed(error: unknown): void {
    if (this.publishFailing) return;
    this.publishFailing = true;
    this.log.warn(`could not publish a change notice to Redis (${briefly(error)}); other instances' streams get the events at their next sweep`);
  }
}
