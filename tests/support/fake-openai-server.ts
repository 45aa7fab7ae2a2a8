import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer to a POST /v1/chat/completions. */
export type FakeAnswer =
  /** 200 chat completion; without `usage` the body has none (as some compatible servers do). */
  | { kind: 'content'; content: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  /** 200, message.content null, message.refusal set. */
  | { kind: 'refusal'; refusal: string }
  /**
   * An error answer; `body` defaults to OpenAI's `{ error: { message, type, param, code } }`.
   * Carries `retry-after-ms: 1` unless `headers` say otherwise, so the SDK retries without its
   * backoff of half a second and more; `{ 'retry-after-ms': '' }` restores the backoff.
   */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Never answers; see nextDisconnect(). */
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number; then: FakeAnswer }
  /** Anything, e.g. not JSON; status 200 and content type application/json unless given. */
  | { kind: 'raw'; status?: number; contentType?: string; body: string }
  /** A 200 JSON-looking chat completion of exactly that many bytes, streamed with backpressure, no Content-Length. */
  | { kind: 'oversized'; bytes: number };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface FakeOpenAiServer {
  /** Base URL to give as AI_BASE_URL, ending in /v1. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Queues answers: each POST /v1/chat/completions takes the next; with the queue empty it answers 500. */
  answerWith(...answers: FakeAnswer[]): void;
  /**
   * Resolves the next time a client closes its connection while its request is still unanswered
   * (no response yet, or one still being sent). A disconnect nobody awaited yet is kept for the next
   * call, so awaiting this after the client has gone still resolves; reset() forgets them.
   */
  nextDisconnect(): Promise<void>;
  /**
   * Clears queue, recorded requests and disconnects nobody awaited; promises from earlier
   * nextDisconnect() calls stop waiting for later disconnects (they never resolve), so one test
   * cannot take another's.
   */
  reset(): void;
  close(): Promise<void>;
}

/** A good answer holding these items as `{ "tasks": items }`, with usage { prompt_tokens: 50, completion_tokens: 30 }. */
export function proposals(items: unknown[]): FakeAnswer {
  return { kind: 'content', content: JSON.stringify({ tasks: items }), usage: { prompt_tokens: 50, completion_tokens: 30 } };
}

const CHAT_COMPLETIONS = '/v1/chat/completions';

const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
};

const openAiError = (status: number) => ({
  error: { message: `fake provider error ${status}`, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null },
});

let completionCount = 0;

function chatCompletion(
  model: string,
  message: { content: string | null; refusal: string | null },
  usage: { prompt_tokens: number; completion_tokens: number } | undefined,
) {
  completionCount += 1;
  return {
    id: `chatcmpl-fake${completionCount}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', ...message, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    ...(usage && { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }),
    system_fingerprint: 'fp_fake',
  };
}

/** Writes `bytes` bytes of a chat completion whose content never ends, pausing whenever the socket is full. */
function streamOversized(response: ServerResponse, bytes: number) {
  const head = Buffer.from('{"id":"chatcmpl-oversized","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
  const tail = Buffer.from('"},"finish_reason":"stop"}]}');
  const filler = Buffer.alloc(64 * 1024, 'a');
  let remaining = Math.max(0, bytes - head.length - tail.length);
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write(head);
  const pump = () => {
    while (remaining > 0) {
      if (response.destroyed) return;
      const chunk = remaining >= filler.length ? filler : filler.subarray(0, remaining);
      remaining -= chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
    if (!response.destroyed) response.end(tail);
  };
  pump();
}

/** A real OpenAI-compatible HTTP server on 127.0.0.1 answering chat completions from a script. */
export async function startFakeOpenAiServer(): Promise<FakeOpenAiServer> {
  const queue: FakeAnswer[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let unclaimedDisconnects = 0;
  const disconnectWaiters: Array<() => void> = [];

  const noteDisconnect = () => {
    const waiter = disconnectWaiters.shift();
    if (waiter) waiter();
    else unclaimedDisconnects += 1;
  };

  const answer = (response: ServerResponse, model: string, scripted: FakeAnswer) => {
    switch (scripted.kind) {
      case 'content':
        return json(response, 200, chatCompletion(model, { content: scripted.content, refusal: null }, scripted.usage));
      case 'refusal':
        return json(response, 200, chatCompletion(model, { content: null, refusal: scripted.refusal }, { prompt_tokens: 50, completion_tokens: 10 }));
      case 'status':
        return json(response, scripted.status, scripted.body ?? openAiError(scripted.status), { 'retry-after-ms': '1', ...scripted.headers });
      case 'hang':
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!response.destroyed) answer(response, model, scripted.then);
        }, scripted.ms);
        timers.add(timer);
        response.once('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'raw':
        response.writeHead(scripted.status ?? 200, { 'content-type': scripted.contentType ?? 'application/json' });
        response.end(scripted.body);
        return;
      case 'oversized':
        return streamOversized(response, scripted.bytes);
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    // Registered first: a client may give up while its body is still being read.
    response.once('close', () => {
      if (!response.writableFinished) noteDisconnect();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Recorded as the raw text.
    }
    const path = request.url ?? '/';
    requests.push({ method: request.method ?? '', path, headers: { ...request.headers }, body });
    if (request.method !== 'POST' || path !== CHAT_COMPLETIONS) {
      return json(response, 404, { error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } });
    }
    const model = typeof (body as { model?: unknown })?.model === 'string' ? (body as { model: string }).model : 'fake-model';
    answer(response, model, queue.shift() ?? { kind: 'status', status: 500 });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    answerWith: (...answers) => {
      queue.push(...answers);
    },
    nextDisconnect: () => {
      if (unclaimedDisconnects > 0) {
        unclaimedDisconnects -= 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => disconnectWaiters.push(resolve));
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      unclaimedDisconnects = 0;
      disconnectWaiters.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // Keep-alive and hung connections would hold close() open forever.
      server.closeAllConnections();
      await closed;
    },
  };
}
