import type { TokenUsage } from './task-generator.js';

export type GenerationOutcome =
  | 'succeeded'
  /** Not JSON, or no item that is a valid task. */
  | 'unusable_answer'
  | 'provider_failed'
  | 'timed_out'
  /** The caller went away before the model answered. */
  | 'cancelled'
  /** Refused by the caller's hourly quota; the model was not asked. */
  | 'quota_exceeded';

/** One generation request that passed validation. Holds no text: never the prompt, never the answer. */
export interface GenerationRecord {
  userId: number;
  outcome: GenerationOutcome;
  /** How long the model took to answer or fail; null when it was not asked. */
  durationMs: number | null;
  usage: TokenUsage | null;
  /** Valid drafts kept from the answer. */
  drafts: number;
}

/** Where generation outcomes go: metrics and the log, in the service. */
export interface GenerationMonitor {
  record(record: GenerationRecord): void;
}

export const GENERATION_MONITOR = Symbol('GenerationMonitor');
