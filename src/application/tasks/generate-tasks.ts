import {
  DomainError,
  LimitReachedError,
  draftsFromAnswer,
  newTaskState,
  parseGenerationInput,
  type GenerationInput,
  type GenerationSpec,
  type Task,
  type TaskDraft,
} from '../../domain/index.js';
import {
  TaskGenerationFailure,
  type Clock,
  type GenerationMonitor,
  type GenerationOutcome,
  type IdempotencyKeys,
  type ModelAnswer,
  type Principal,
  type TaskGenerator,
  type TransactionRunner,
  type WindowCounter,
} from '../ports/index.js';
import { IDEMPOTENCY_IN_FLIGHT_LEASE_MS, claimIdempotencyKey, parseIdempotencyKey, type KeyClaim } from './idempotency.js';
import { publishTaskEvent } from './task-events.js';

const HOUR_MS = 60 * 60 * 1000;

export interface GenerationSettings {
  /** Requests per user per hour that reach the model (AI_RATE_LIMIT). */
  requestsPerHour: number;
  /** The longest the model may take (AI_TIMEOUT_MS); 0 when none is configured. */
  modelTimeoutMs: number;
}

/** Room for the transaction after the model's answer, and for clocks a little apart. */
const KEY_LEASE_MARGIN_MS = 30_000;

export interface GenerationOptions {
  idempotencyKey?: string;
  /** Aborted when the caller goes away: the model call is cancelled. */
  signal: AbortSignal;
}

export type GenerationResult =
  | { saved: false; drafts: TaskDraft[] }
  /** `replayed`: an earlier request with the same Idempotency-Key created these. */
  | { saved: true; tasks: Task[]; replayed: boolean };

const FAILURES: Record<TaskGenerationFailure['reason'], { outcome: GenerationOutcome; error: () => DomainError }> = {
  provider_failed: { outcome: 'provider_failed', error: () => new DomainError('AI_PROVIDER_FAILED', 'The AI provider failed to answer; nothing was saved.') },
  timed_out: { outcome: 'timed_out', error: () => new DomainError('AI_TIMED_OUT', 'The AI provider did not answer in time; nothing was saved.') },
  cancelled: { outcome: 'cancelled', error: () => new DomainError('AI_CANCELLED', 'The request was cancelled by the client; nothing was saved.') },
};

/**
 * Turns a goal into tasks through a language model. The model's answer is untrusted: it can only
 * propose drafts, which are held to a client's rules and created as the caller's tasks; it never
 * names the owner, never sets a field a client could not, and never gets more than `max_tasks` stored.
 */
export class GenerateTasks {
  constructor(
    private readonly generator: TaskGenerator | null,
    private readonly quota: WindowCounter,
    private readonly idempotency: IdempotencyKeys,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
    private readonly monitor: GenerationMonitor,
    private readonly settings: GenerationSettings,
  ) {}

  async execute(actor: Principal, input: GenerationInput, options: GenerationOptions): Promise<GenerationResult> {
    const key = options.idempotencyKey === undefined ? undefined : parseIdempotencyKey(options.idempotencyKey);
    const spec = parseGenerationInput(input);
    if (!this.generator) throw new DomainError('AI_NOT_CONFIGURED', 'AI generation is not configured on this server.');
    // Drafts create nothing, so only a saving request has anything for a key to make idempotent.
    // A claim outlives the slowest model call, so a retry cannot take the key over (and ask the
    // model again) while the first request is still waiting for its answer.
    const leaseMs = Math.max(IDEMPOTENCY_IN_FLIGHT_LEASE_MS, this.settings.modelTimeoutMs + KEY_LEASE_MARGIN_MS);
    const claim =
      spec.save && key !== undefined ? await claimIdempotencyKey(this.idempotency, actor.userId, key, { generate: spec }, this.clock.now(), leaseMs) : null;
    if (claim?.kind === 'replay') return { saved: true, tasks: claim.tasks, replayed: true };
    try {
      const drafts = await this.draftsFor(this.generator, actor, spec, options.signal);
      if (!spec.save) return { saved: false, drafts };
      return { saved: true, tasks: await this.create(actor, drafts, claim), replayed: false };
    } catch (error) {
      // A key is used up only by tasks created: after any failure the same request may be retried.
      if (claim) await this.idempotency.release(actor.userId, claim.key, claim.token);
      throw error;
    }
  }

  private async draftsFor(generator: TaskGenerator, actor: Principal, spec: GenerationSpec, signal: AbortSignal): Promise<TaskDraft[]> {
    const { userId } = actor;
    const { count, ttlMs } = await this.quota.increment(`ai-generation:${userId}`, HOUR_MS);
    if (count > this.settings.requestsPerHour) {
      this.monitor.record({ userId, outcome: 'quota_exceeded', durationMs: null, usage: null, drafts: 0 });
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new LimitReachedError('AI_QUOTA_EXCEEDED', `At most ${this.settings.requestsPerHour} generations an hour; retry in ${retryAfterSeconds} s.`, retryAfterSeconds);
    }
    const started = this.clock.now();
    const elapsed = () => this.clock.now().getTime() - started.getTime();
    let answer: ModelAnswer;
    try {
      answer = await generator.propose({ prompt: spec.prompt, maxTasks: spec.maxTasks, now: started, signal });
    } catch (error) {
      if (!(error instanceof TaskGenerationFailure)) throw error;
      const failure = FAILURES[error.reason];
      this.monitor.record({ userId, outcome: failure.outcome, durationMs: elapsed(), usage: null, drafts: 0 });
      throw failure.error();
    }
    const drafts = draftsFromAnswer(answer.content, spec.maxTasks);
    const outcome = drafts.length > 0 ? 'succeeded' : 'unusable_answer';
    this.monitor.record({ userId, outcome, durationMs: elapsed(), usage: answer.usage, drafts: drafts.length });
    if (drafts.length === 0) throw new DomainError('AI_ANSWER_UNUSABLE', 'The AI model\'s answer held no usable task; nothing was saved.');
    return drafts;
  }

  /** Every task with its event, and the key's outcome, in one transaction: all of them or none. */
  private create(actor: Principal, drafts: TaskDraft[], claim: Extract<KeyClaim, { kind: 'claimed' }> | null): Promise<Task[]> {
    const now = this.clock.now();
    return this.transactions.run(async (scope) => {
      const created: Task[] = [];
      for (const draft of drafts) {
        const task = await scope.tasks.create(newTaskState(actor.userId, { ...draft, status: 'todo', remindAt: null }, now));
        await publishTaskEvent(scope.events, { type: 'task.created', userId: actor.userId, occurredAt: now, payload: { task } });
        created.push(task);
      }
      if (claim) await scope.idempotency.complete(actor.userId, claim.key, claim.token, created);
      return created;
    });
  }
}
