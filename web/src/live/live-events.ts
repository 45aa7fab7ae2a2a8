import { SseParser } from './sse';

/** An event of the user's change log, as GET /events delivers it. */
export interface ChangeEvent {
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveEventsOptions {
  /** A single-use ticket from POST /events/tickets; null when the session is over. */
  ticket(): Promise<string | null>;
  onEvent(event: ChangeEvent): void;
  /** The resume point is gone (410): whatever the page shows must be loaded again. */
  onResync(): void;
  onState(state: LiveState): void;
  /** Waits before reconnecting; tests make it immediate. */
  delay?(ms: number, signal: AbortSignal): Promise<void>;
  fetch?: typeof fetch;
}

const BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000];

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * The live feed of the user's changes: Server-Sent Events read through fetch (so the page sees the
 * status of a refused connection, which neither EventSource nor WebSocket reveals), authenticated
 * with a ticket, never a token in the URL. After a drop it resumes with `since` = the last event
 * it saw, so nothing is missed; an event seen before is never delivered twice.
 */
export class LiveEvents {
  private readonly abort = new AbortController();
  private lastId: string | null = null;
  private readonly seen = new Set<string>();
  private readyResolvers: Array<() => void> = [];
  private isReady = false;
  private resyncPending = false;

  constructor(private readonly options: LiveEventsOptions) {}

  /** Resolves once the stream is live: events committed from then on will arrive. */
  ready(): Promise<void> {
    return this.isReady ? Promise.resolve() : new Promise((resolve) => this.readyResolvers.push(resolve));
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
    this.options.onState('stopped');
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const delay = this.options.delay ?? wait;
    let failures = 0;
    this.options.onState('connecting');
    while (!signal.aborted) {
      const outcome = await this.connect(signal).catch(() => 'dropped' as const);
      if (signal.aborted) return;
      if (outcome === 'ended') {
        this.stop();
        return;
      }
      if (outcome === 'gone') {
        // Reloaded once live again, so that nothing committed in between is missed.
        this.lastId = null;
        this.resyncPending = true;
      }
      failures = outcome === 'streamed' ? 0 : failures + 1;
      this.options.onState('reconnecting');
      await delay(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]!, signal);
    }
  }

  /** One connection: 'streamed' when it was live and then dropped, 'ended' when the session is over. */
  private async connect(signal: AbortSignal): Promise<'streamed' | 'dropped' | 'gone' | 'ended'> {
    const ticket = await this.options.ticket();
    if (ticket === null) return 'ended';
    const query = new URLSearchParams({ ticket });
    if (this.lastId !== null) query.set('since', this.lastId);
    const response = await (this.options.fetch ?? fetch)(`/events?${query}`, { headers: { accept: 'text/event-stream' }, signal, cache: 'no-store' });
    if (response.status === 410) return 'gone';
    if (!response.ok || !response.body) return 'dropped';

    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let live = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return live ? 'streamed' : 'dropped';
      for (const frame of parser.push(value)) {
        const message = JSON.parse(frame.data) as ChangeEvent & { last_id?: string | null };
        if (frame.event === 'ready') {
          live = true;
          // A fresh start resumes from the newest event there was when it went live.
          if (this.lastId === null) this.lastId = message.last_id ?? null;
          this.markReady();
          continue;
        }
        this.deliver(message);
      }
    }
  }

  private markReady(): void {
    this.isReady = true;
    this.options.onState('live');
    for (const resolve of this.readyResolvers.splice(0)) resolve();
    if (this.resyncPending) {
      this.resyncPending = false;
      this.options.onResync();
    }
  }

  private deliver(event: ChangeEvent): void {
    this.lastId = event.id;
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    // Enough to recognise a replay after a reconnect without growing for ever.
    if (this.seen.size > 5_000) this.seen.delete(this.seen.values().next().value!);
    this.options.onEvent(event);
  }
}
