import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/problem';
import { generationMessage, previewOf } from './generation';

describe('generation messages', () => {
  it('says the server has no model for a 503 of that type, and words any other 503 as an outage', () => {
    const notConfigured = { type: 'https://taskforge.dev/problems/ai-not-configured', status: 503, detail: 'AI generation is not configured on this server.' };
    expect(generationMessage(new ApiError(503, 'Taskforge is unavailable right now. Try again in a moment.', notConfigured))).toBe(
      'AI generation is not configured on this server.',
    );
    const outage = { type: 'about:blank', status: 503, detail: 'The service is temporarily unavailable; retry shortly.' };
    expect(generationMessage(new ApiError(503, 'Taskforge is unavailable right now. Try again in a moment.', outage))).toBe(
      'Taskforge is unavailable right now. Try again in a moment.',
    );
  });

  it('gives the retry time of a 429', () => {
    expect(generationMessage(new ApiError(429, 'Too many requests. Try again in 120 s.'))).toBe('Too many requests. Try again in 120 s.');
  });

  it("shows the problem's detail for 502 and 504", () => {
    expect(generationMessage(new ApiError(502, 'Something went wrong on our side. Try again in a moment.', { detail: 'The AI provider failed' }))).toBe('The AI provider failed');
    expect(generationMessage(new ApiError(504, 'Something went wrong on our side. Try again in a moment.', { detail: 'The AI model did not answer in time' }))).toBe(
      'The AI model did not answer in time',
    );
    expect(generationMessage(new ApiError(502, 'Something went wrong on our side. Try again in a moment.'))).toBe('Something went wrong on our side. Try again in a moment.');
  });

  it('treats anything else as the network failing', () => {
    expect(generationMessage(new TypeError('boom'))).toBe('Cannot reach Taskforge. Check your connection and try again.');
  });
});

describe('the preview', () => {
  it('keeps every draft by default, each with a key of its own', () => {
    let n = 0;
    const drafts = [
      { title: 'A', description: '', priority: 'low' as const, due_date: null, tags: [] },
      { title: 'B', description: '', priority: 'high' as const, due_date: null, tags: ['x'] },
    ];
    expect(previewOf(drafts, () => `key-${++n}`)).toEqual([
      { draft: drafts[0], keep: true, key: 'key-1' },
      { draft: drafts[1], keep: true, key: 'key-2' },
    ]);
  });
});
