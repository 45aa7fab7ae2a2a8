import { ApiError, problemMessage } from '../api/problem';
import type { paths } from '../api/schema';

export type Draft = paths['/tasks/generate']['post']['responses'][200]['content']['application/json']['items'][number];

/** A draft in the preview: whether to keep it, and the Idempotency-Key its save uses (the same on every retry). */
export interface PreviewItem {
  draft: Draft;
  keep: boolean;
  key: string;
}

export const previewOf = (drafts: Draft[], newKey: () => string): PreviewItem[] => drafts.map((draft) => ({ draft, keep: true, key: newKey() }));

/**
 * What a person reads when generation fails. A 503 of type ai-not-configured means the server has
 * no model (any other 503 is an outage, worded as everywhere), and the model's failures (502, 504)
 * are best told in the service's own words.
 */
export function generationMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return problemMessage(null, undefined);
  if (error.status === 503 && error.problem?.type?.endsWith('/ai-not-configured')) return 'AI generation is not configured on this server.';
  if ((error.status === 502 || error.status === 504) && error.problem?.detail) return error.problem.detail;
  return error.message;
}
