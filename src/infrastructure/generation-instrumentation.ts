import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import type { GenerationMonitor, GenerationOutcome } from '../application/index.js';

export interface GenerationInstrumentation {
  /** `ai_requests_total`, `ai_request_duration_seconds` and `ai_tokens_total`, for `/metrics`. */
  registry: Registry;
  monitor: GenerationMonitor;
}

/** Outcomes an operator should look at: the provider or the model is not doing its job. */
const TROUBLE: ReadonlySet<GenerationOutcome> = new Set(['provider_failed', 'timed_out', 'unusable_answer']);

/**
 * Metrics and one log line per generation request. The record holds no text, so neither can carry
 * the prompt or the answer: only the outcome, the time, the token counts and the caller's id.
 */
export function createGenerationInstrumentation(logger: Logger): GenerationInstrumentation {
  const registry = new Registry();
  const requests = new Counter({
    name: 'ai_requests_total',
    help: 'Task generation requests that passed validation, by what the model did (saving the drafts is not counted here)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ai_request_duration_seconds',
    help: 'Time the model took to answer or fail, retries included',
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'ai_tokens_total',
    help: 'Tokens the provider reported, by kind: prompt or completion',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const log = logger.child({ component: 'ai' });

  const monitor: GenerationMonitor = {
    record({ userId, outcome, durationMs, usage, drafts }) {
      requests.inc({ outcome });
      if (durationMs !== null) duration.observe(durationMs / 1000);
      if (usage) {
        tokens.inc({ kind: 'prompt' }, usage.prompt);
        tokens.inc({ kind: 'completion' }, usage.completion);
      }
      const fields = { userId, outcome, durationMs, promptTokens: usage?.prompt ?? null, completionTokens: usage?.completion ?? null, drafts };
      if (TROUBLE.has(outcome)) log.warn(fields, 'task generation failed');
      else log.info(fields, 'task generation');
    },
  };
  return { registry, monitor };
}
