import { DomainError, ValidationError, isEventIdForm } from '../../domain/index.js';
import type { ChangeLog, ChangeNotifier, Clock, LoggedEvent, PersonalAccessTokenRepository, Principal, SessionRepository } from '../ports/index.js';

/** Where a stream's events go: a WebSocket or an SSE response (the transports are adapters). */
export interface EventSink {
  /** Hands one event to the client; false when the client has fallen too far behind to keep. */
  deliver(event: LoggedEvent): boolean;
  /** Ends the stream from the server's side. */
  close(reason: StreamEnd): void;
}

/** Why the server ended a stream: its credential was revoked, its client stopped reading, or the service is stopping. */
export type StreamEnd = 'revoked' | 'overflow' | 'shutdown';

export interface LiveEventsOptions {
  /** EVENTS_MAX_STREAMS_PER_USER, on this instance. */
  maxStreamsPerUser: number;
  /** How often open streams' credentials are checked: a revocation anywhere ends them within this. */
  credentialCheckMs: number;
  /** How often every open stream's log is read even without a notice: the bound on a lost notice's delay. */
  sweepMs: number;
}

export const DEFAULT_LIVE_EVENTS_OPTIONS: LiveEventsOptions = { maxStreamsPerUser: 20, credentialCheckMs: 1_000, sweepMs: 5_000 };

/** Where a new stream starts: after `position`; `lastId` is what the ready frame reports. */
export interface StreamStart {
  position: number;
  lastId: string | null;
}

export interface OpenStream {
  /** The client went away: forget the stream. */
  close(): void;
}

interface Stream {
  principal: Principal;
  sink: EventSink;
  /** The position of the last event this stream was given. */
  position: number;
}

/** One user's open streams, and the single read loop that feeds them. */
interface UserFeed {
  streams: Set<Stream>;
  reading: boolean;
  readAgain: boolean;
}

const READ_BATCH = 200;

/** 410: the client's place in the log no longer exists; only a full sync can bring it back. */
export const historyGone = (message: string) => new DomainError('HISTORY_GONE', message);

export const tooManyStreams = (limit: number) =>
  new DomainError('TOO_MANY_STREAMS', `At most ${limit} event streams may be open per user; close one first.`);

/**
 * Live events: every open stream of a user gets that user's events from the change log, in log
 * order, each once. A notice (ChangeNotifier) that a user has new events makes their streams
 * read the log after the last event they were given; notices are only hints, so a periodic
 * sweep reads the log of every open stream too. Each stream's credential is checked on a timer,
 * so a logout or revocation on any instance ends it.
 */
export class LiveEvents {
  private readonly feeds = new Map<number, UserFeed>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopListening: (() => void) | null = null;
  private checking = false;
  private sweeping = false;

  constructor(
    private readonly log: ChangeLog,
    private readonly notifier: ChangeNotifier,
    private readonly sessions: SessionRepository,
    private readonly personalTokens: PersonalAccessTokenRepository,
    private readonly clock: Clock,
    private readonly options: LiveEventsOptions = DEFAULT_LIVE_EVENTS_OPTIONS,
  ) {}

  start(): void {
    if (this.stopListening) return;
    this.stopListening = this.notifier.listen(
      (userId) => this.read(userId),
      () => void this.sweep(),
    );
    this.timers.push(
      setInterval(() => void this.checkCredentials(), this.options.credentialCheckMs).unref(),
      setInterval(() => void this.sweep(), this.options.sweepMs).unref(),
    );
  }

  /** Ends every stream (the service is stopping) and stops listening. */
  stop(): void {
    this.stopListening?.();
    this.stopListening = null;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    // Emptied as well as closed: a read or a credential check still under way finds no stream
    // to give an event to or to close a second time.
    for (const feed of this.feeds.values()) {
      for (const stream of feed.streams) stream.sink.close('shutdown');
      feed.streams.clear();
    }
    this.feeds.clear();
  }

  /**
   * Checks a request for a stream before anything is sent: the stream limit (429), then the
   * resume point — 422 when `since` is not of the id form, 410 when this user has no such event
   * (another user's, never issued, or past retention).
   */
  async prepare(actor: Principal, since?: string): Promise<StreamStart> {
    this.checkLimit(actor.userId);
    const latest = await this.log.latest(actor.userId);
    const lastId = latest?.id ?? null;
    if (since === undefined) return { position: latest?.position ?? (await this.log.head(actor.userId)), lastId };
    if (!isEventIdForm(since)) throw ValidationError.field('since', 'is not an event id');
    const position = await this.log.positionOf(actor.userId, since);
    if (position === null) {
      throw historyGone('This event is unknown or past retention; start again with a full sync (GET /sync).');
    }
    return { position, lastId };
  }

  /** Starts feeding `sink` with the user's events after `start.position`. */
  open(actor: Principal, start: StreamStart, sink: EventSink): OpenStream {
    this.checkLimit(actor.userId);
    const feed = this.feedOf(actor.userId);
    const stream: Stream = { principal: actor, sink, position: start.position };
    feed.streams.add(stream);
    this.read(actor.userId);
    return { close: () => this.forget(actor.userId, stream) };
  }

  /** Open streams on this instance (metrics, tests). */
  get openStreams(): number {
    let open = 0;
    for (const feed of this.feeds.values()) open += feed.streams.size;
    return open;
  }

  private checkLimit(userId: number): void {
    if ((this.feeds.get(userId)?.streams.size ?? 0) >= this.options.maxStreamsPerUser) throw tooManyStreams(this.options.maxStreamsPerUser);
  }

  private feedOf(userId: number): UserFeed {
    let feed = this.feeds.get(userId);
    if (!feed) this.feeds.set(userId, (feed = { streams: new Set(), reading: false, readAgain: false }));
    return feed;
  }

  /** False when the stream was already gone (its client left, or the service stopped). */
  private forget(userId: number, stream: Stream): boolean {
    const feed = this.feeds.get(userId);
    if (!feed?.streams.delete(stream)) return false;
    if (feed.streams.size === 0 && !feed.reading) this.feeds.delete(userId);
    return true;
  }

  /**
   * What a lost notice would have made a stream do: every user whose log has grown past what
   * their streams were given reads it. One read of the heads, not one of each log, so a sweep
   * over thousands of streams costs the database one query.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.feeds.size === 0) return;
    this.sweeping = true;
    try {
      const heads = await this.log.heads([...this.feeds.keys()]);
      for (const [userId, feed] of this.feeds) {
        if ((heads.get(userId) ?? 0) > Math.min(...[...feed.streams].map((stream) => stream.position))) this.read(userId);
      }
    } catch {
      // The database did not answer: the next sweep asks again.
    } finally {
      this.sweeping = false;
    }
  }

  /** One read loop per user at a time; a notice during it makes it go round once more. */
  private read(userId: number): void {
    const feed = this.feeds.get(userId);
    if (!feed) return;
    if (feed.reading) {
      feed.readAgain = true;
      return;
    }
    feed.reading = true;
    void this.readLoop(userId, feed).finally(() => {
      feed.reading = false;
      if (feed.streams.size === 0 && this.feeds.get(userId) === feed) this.feeds.delete(userId);
    });
  }

  private async readLoop(userId: number, feed: UserFeed): Promise<void> {
    do {
      feed.readAgain = false;
      try {
        await this.catchUp(userId, feed);
      } catch {
        // The database did not answer: the next notice or sweep reads again from the same place.
        return;
      }
    } while (feed.readAgain && feed.streams.size > 0);
  }

  private async catchUp(userId: number, feed: UserFeed): Promise<void> {
    for (;;) {
      if (feed.streams.size === 0) return;
      const from = Math.min(...[...feed.streams].map((stream) => stream.position));
      const events = await this.log.readAfter(userId, from, READ_BATCH);
      for (const event of events) this.deliver(userId, feed, event, from);
      if (events.length < READ_BATCH) return;
    }
  }

  /**
   * Hands `event`, read in a batch of the events after `from`, to the streams it is next for. A
   * stream that joined while the batch was read, from further back than `from`, is left for the
   * next round (its join asked for one): given this batch, it would skip the events between its
   * own position and `from`.
   */
  private deliver(userId: number, feed: UserFeed, event: LoggedEvent, from: number): void {
    for (const stream of feed.streams) {
      if (event.position <= stream.position || stream.position < from) continue;
      if (stream.sink.deliver(event)) {
        stream.position = event.position;
      } else if (this.forget(userId, stream)) {
        stream.sink.close('overflow');
      }
    }
  }

  /**
   * Ends the streams whose login session or personal access token is no longer live. One check
   * at a time: with a slow database, ticks would otherwise pile up queries. A stream that ended
   * while the check waited for the database (its client left, the service stopped) is not
   * closed a second time.
   */
  private async checkCredentials(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.closeRevoked();
    } finally {
      this.checking = false;
    }
  }

  private async closeRevoked(): Promise<void> {
    const streams = [...this.feeds.values()].flatMap((feed) => [...feed.streams]);
    if (streams.length === 0) return;
    const sessionIds = new Set<string>();
    const tokenIds = new Set<number>();
    for (const { principal } of streams) {
      if (principal.sessionId !== null) sessionIds.add(principal.sessionId);
      else if (principal.personalTokenId !== undefined) tokenIds.add(principal.personalTokenId);
    }
    let liveSessions: Set<string>;
    let liveTokens: Set<number>;
    try {
      [liveSessions, liveTokens] = await Promise.all([
        sessionIds.size > 0 ? this.sessions.liveOf([...sessionIds]) : new Set<string>(),
        tokenIds.size > 0 ? this.personalTokens.liveOf([...tokenIds], this.clock.now()) : new Set<number>(),
      ]);
    } catch {
      return; // The database did not answer: check again on the next tick rather than close every stream.
    }
    for (const stream of streams) {
      const { principal } = stream;
      const live = principal.sessionId !== null ? liveSessions.has(principal.sessionId) : liveTokens.has(principal.personalTokenId ?? -1);
      if (!live && this.forget(principal.userId, stream)) stream.sink.close('revoked');
    }
  }
}
