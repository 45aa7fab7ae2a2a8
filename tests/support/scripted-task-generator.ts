import {
  TaskGenerationFailure,
  type GenerationFailureReason,
  type GenerationMonitor,
  type GenerationRecord,
  type ModelAnswer,
  type TaskGenerationRequest,
  type TaskGenerator,
  type TokenUsage,
} from '../../src/application/index.js';

/** What the scripted model does with one request. */
export type ScriptedAnswer =
  /** Answers with this text (null: the model refused or sent none); usage null unless given. */
  | { kind: 'answer'; content: string | null; usage?: TokenUsage | null }
  /** Rejects as the real adapter does when no answer came. */
  | { kind: 'fail'; reason: GenerationFailureReason }
  /** Never answers: rejects with 'cancelled' once the request's signal aborts. */
  | { kind: 'hang' };

/** A request as the generator received it. */
export interface ReceivedRequest {
  prompt: string;
  maxTasks: number;
  now: Date;
  /** Whether the request's signal is aborted (read when asked, so a test sees a later abort too). */
  readonly signalAborted: boolean;
}

const USAGE: TokenUsage = { prompt: 50, completion: 30 };

/** A model answer holding these items as `{ "tasks": items }`, with some token usage. */
export const proposals = (items: unknown[], usage: TokenUsage | null = USAGE): ScriptedAnswer => ({
  kind: 'answer',
  content: JSON.stringify({ tasks: items }),
  usage,
});

/** A model answer of exactly this text. */
export const rawAnswer = (content: string | null, usage: TokenUsage | null = USAGE): ScriptedAnswer => ({ kind: 'answer', content, usage });

export const failure = (reason: GenerationFailureReason): ScriptedAnswer => ({ kind: 'fail', reason });

export const hang: ScriptedAnswer = { kind: 'hang' };

const cancelled = () => new TaskGenerationFailure('cancelled', 'caller went away');

/**
 * A `TaskGenerator` whose answers the test queues, in order, one per request. A request with no
 * answer queued is a mistake in the test and rejects with a plain Error (a bug, to the use case).
 */
export class ScriptedTaskGenerator implements TaskGenerator {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private waiting: Array<(request: ReceivedRequest) => void> = [];

  answerWith(...answers: ScriptedAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** Resolves with the next request to arrive (ask before starting it). */
  nextRequest(): Promise<ReceivedRequest> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  propose({ prompt, maxTasks, now, signal }: TaskGenerationRequest): Promise<ModelAnswer> {
    const received: ReceivedRequest = {
      prompt,
      maxTasks,
      now: new Date(now),
      get signalAborted() {
        return signal.aborted;
      },
    };
    this.requests.push(received);
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(received);

    const answer = this.script.shift();
    if (!answer) return Promise.reject(new Error(`no scripted answer for request #${this.requests.length}`));
    // As the real adapter: a caller already gone is not answered, whatever the model would say.
    if (signal.aborted) return Promise.reject(cancelled());
    switch (answer.kind) {
      case 'answer':
        return Promise.resolve({ content: answer.content, usage: answer.usage ?? null });
      case 'fail':
        return Promise.reject(new TaskGenerationFailure(answer.reason, 'scripted'));
      case 'hang':
        return new Promise<ModelAnswer>((_, reject) => signal.addEventListener('abort', () => reject(cancelled()), { once: true }));
    }
  }
}

/** Keeps every record it is given, as the metrics and the log would receive them. */
export class RecordingGenerationMonitor implements GenerationMonitor {
  readonly records: GenerationRecord[] = [];

  record(record: GenerationRecord): void {
    this.records.push(structuredClone(record));
  }

  get last(): GenerationRecord | undefined {
    return this.records.at(-1);
  }
}
