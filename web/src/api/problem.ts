import type { Problem } from './types';

/**
 * What a person reads when a request fails: the service's own words for a client error, and a
 * plain sentence for the statuses that are nobody's fault in the form (429, 503, the network).
 */
export function problemMessage(status: number | null, problem: Problem | undefined, retryAfter: string | null = null): string {
  if (status === null) return 'Cannot reach Taskforge. Check your connection and try again.';
  if (status === 429) {
    const seconds = Number(retryAfter);
    return `Too many requests. Try again ${Number.isFinite(seconds) && seconds > 0 ? `in ${Math.ceil(seconds)} s` : 'in a moment'}.`;
  }
  if (status === 503) return 'Taskforge is unavailable right now. Try again in a moment.';
  if (status >= 500) return 'Something went wrong on our side. Try again in a moment.';
  const fields = (problem?.errors ?? []).map((error) => `${error.field.replaceAll('_', ' ')} ${error.message}`);
  const detail = problem?.detail ?? problem?.title ?? `The request failed (${status}).`;
  return fields.length > 0 ? `${detail} ${fields.join('; ')}.` : detail;
}

export class ApiError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
    /** The service's problem document, for views that word some statuses their own way. */
    readonly problem?: Problem,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What to show for anything a request threw: the ApiError's sentence, else the network's. */
export const messageOf = (error: unknown): string => (error instanceof ApiError ? error.message : problemMessage(null, undefined));
