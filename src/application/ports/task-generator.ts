/** What a language model is asked: the caller's text and how many tasks at most. */
export interface TaskGenerationRequest {
  /** The caller's words, validated; an adapter sends them as the user's message and nowhere else. */
  prompt: string;
  maxTasks: number;
  /** Lets the model turn "by Friday" into a date. */
  now: Date;
  /** Aborted when the caller is gone: the adapter stops waiting for the model and rejects. */
  signal: AbortSignal;
}

export interface TokenUsage {
  prompt: number;
  completion: number;
}

/**
 * The model's reply as it came: untrusted text that the use case parses and validates. An adapter
 * never interprets it, so every rule about what a model may set lives in one place, the core.
 */
export interface ModelAnswer {
  /** The reply's text; null when the model refused or sent no text. */
  content: string | null;
  /** Null when the provider did not report it. */
  usage: TokenUsage | null;
}

export type GenerationFailureReason =
  /** The provider answered with an error, or could not be reached (after the adapter's retries). */
  | 'provider_failed'
  /** No answer within the adapter's deadline, retries included. */
  | 'timed_out'
  /** The request's signal was aborted: the caller went away. */
  | 'cancelled';

/** How a `TaskGenerator` rejects when no answer came; anything else it throws is a bug. */
export class TaskGenerationFailure extends Error {
  override readonly name = 'TaskGenerationFailure';

  constructor(
    readonly reason: GenerationFailureReason,
    /** Safe to log: a status code or a transport error's kind, never the prompt or the answer. */
    readonly detail: string,
  ) {
    super(`task generation ${reason}: ${detail}`);
  }
}

/** A language model that proposes tasks for a goal (any OpenAI-compatible endpoint, or a test double). */
export interface TaskGenerator {
  /** Resolves with the model's answer, or rejects with a TaskGenerationFailure. */
  propose(request: TaskGenerationRequest): Promise<ModelAnswer>;
}

