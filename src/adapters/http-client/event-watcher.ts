import { SseParser } from './sse-parser.js';

export interface WatchOptions {
  /** The service's base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  /** An access token or a personal access token, sent as Authorization: Bearer. */
  token: string;
  /** Replay the events after this one first. */
  since?: string;
  /** Each event, as one line of JSON. */
  onEvent(json: string): void;
  /** What the watcher has to say about its connection. */
  onNotice(text: string): void;
  signal: AbortSignal;
  /** The first wait before reconnecting; it doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Why watching stopped: the caller stopped it, or the service refused it for good (bad token, bad since…). */
export type WatchOutcome = { stopped: true } | { stopped: false; status: number; detail: string };

/** Statuses worth waiting out: too many streams or requests, a service restarting or overloaded. */
const isTransient = (status: number) => status === 429 || status >= 500;

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

async function problemDetail(response: Response): Promise<string> {
  try {
    const problem = (await response.json()) as { detail?: unknown };
    return typeof problem.detail === 'string' ? problem.detail : response.statusText;
  } catch {
    return response.statusText;
  }
}

/**
 * Follows GET /events over Server-Sent Events with fetch, as an EventSource would: after a dropped
 * connection it reconnects with Last-Event-ID, so the service replays exactly what was missed.
 */
export async function watchEvents(options: WatchOptions): Promise<WatchOutcome> {
  const { signal } = options;
  const firstRetryMs = options.retryMs ?? 1_000;
  let retryMs = firstRetryMs;
  /** The id of the last message received, on any connection: where the next one resumes. */
  const resume: { id: string | null } = { id: null };
  while (!signal.aborted) {
    const url = new URL('/events', options.url);
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${options.token}` };
    if (resume.id !== null) headers['last-event-id'] = resume.id;
    else if (options.since !== undefined) url.searchParams.set('since', options.since);
    let waitMs = retryMs;
    try {
      const response = await fetch(url, { headers, signal });
      if (response.status === 200 && response.body) {
        retryMs = firstRetryMs;
        await follow(response.body, resume, options);
        if (!signal.aborted) options.onNotice('the stream ended; reconnecting');
      } else {
        const detail = await problemDetail(response);
        if (!isTransient(response.status)) return { stopped: false, status: response.status, detail };
        const retryAfter = Number(response.headers.get('retry-after'));
        if (retryAfter > 0) waitMs = retryAfter * 1000;
        options.onNotice(`GET /events answered ${response.status} (${detail}); retrying in ${Math.round(waitMs / 1000)} s`);
      }
    } catch (error) {
      if (signal.aborted) break;
      options.onNotice(`connection lost (${(error as Error).message}); retrying in ${Math.round(waitMs / 1000)} s`);
    }
    await pause(waitMs, signal);
    retryMs = Math.min(retryMs * 2, options.maxRetryMs ?? 30_000);
  }
  return { stopped: true };
}

/** Reads one response to its end, keeping `resume` at the last message's id as it goes. */
async function follow(body: ReadableStream<Uint8Array>, resume: { id: string | null }, options: WatchOptions): Promise<void> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    for (const item of parser.push(decoder.decode(chunk, { stream: true }))) {
      if (item.kind !== 'message') continue;
      if (item.id !== null) resume.id = item.id;
      if (item.event === 'ready') options.onNotice(`watching; newest event: ${(JSON.parse(item.data) as { last_id: string | null }).last_id ?? 'none'}`);
      else options.onEvent(item.data);
    }
  }
}
